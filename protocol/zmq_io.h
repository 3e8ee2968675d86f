// Sending and receiving CUBE1 messages on cppzmq sockets. This is the boundary where cppzmq's
// exceptions become values: nothing here throws for EAGAIN, a full peer or a closed context.
//
// Thread-safety: a socket belongs to one thread (its poll loop); these functions run there.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "common/status.h"
#include "protocol/codec.h"
#include "protocol/envelope.h"
#include "protocol/messages.h"

namespace cube::protocol {

// Options every Cube socket gets: linger 0 (a closing socket never blocks shutdown), and
// ZMQ_MAXMSGSIZE = max_message_bytes so an oversized frame drops the connection instead of
// being allocated. ZMQ_MAXMSGSIZE counts each frame.
void apply_socket_defaults(zmq::socket_t& socket, int64_t max_message_bytes);

// Turns on ZMTP heartbeats so that dead TCP peers are noticed even when nobody talks.
void enable_zmtp_heartbeats(zmq::socket_t& socket, int interval_ms, int timeout_ms);

// "tcp://127.0.0.1:7100" from "127.0.0.1", 7100 (IPv6 hosts get brackets).
std::string tcp_endpoint(std::string_view host, int port);

// Splits "HOST:PORT" (or "[v6]:PORT"). Invalid with the text when malformed or the port is
// outside 1..65535 (0 is allowed only when allow_zero, meaning "pick one").
Status parse_host_port(std::string_view text, std::string& host, int& port,
                       bool allow_zero = false);

// One HOST:PORT of a list.
struct HostPort {
  std::string host;
  int port = 0;
  bool operator==(const HostPort&) const = default;
};
// Splits "HOST:PORT,HOST:PORT,..." (one address is a list of one), in order: how --broker and
// CUBE_BROKER name the brokers of an HA set. Invalid for an empty item, an item
// parse_host_port() refuses (its message), or an address given twice.
Result<std::vector<HostPort>> parse_host_port_list(std::string_view list);

// A received multipart message: routing frames (possibly none) and the CUBE1 envelope.
struct Received {
  std::vector<zmq::message_t> frames;
  size_t envelope_start = 0;  // index of the "CUBE1" frame
  uint8_t type = 0;
  std::string_view body;  // points into frames
};

// Reads one multipart message without blocking. nullopt when nothing is waiting. When the
// message is not a valid envelope, `error` holds why and the frames are still returned so that
// the caller can answer the sender. `routing_frames` is how many frames precede the envelope
// (ROUTER: 1; ROUTER facing REQ: 2 with the empty delimiter; others: 0); the delimiter is
// found automatically when present.
std::optional<Received> receive(zmq::socket_t& socket, size_t routing_frames, Status* error);
// The same for a SUB socket whose publisher may put a topic frame in front of the envelope (a
// sliced BEACON, protocol/beacon_slices.h): a first frame other than "CUBE1" followed by more
// frames is taken for the topic. Without one, as receive(socket, 0, error).
std::optional<Received> receive_published(zmq::socket_t& socket, Status* error);

// Sends routing frames (copied from `routing`) and the envelope for `body`. Non-blocking: returns
// Unavailable when the peer's queue is full (HWM) or the peer is gone (ROUTER_MANDATORY), which
// callers count and treat as a lost message.
Status send_raw(zmq::socket_t& socket, std::span<const zmq::message_t> routing, MessageType type,
                std::string_view body);

template <typename M>
Status send(zmq::socket_t& socket, std::span<const zmq::message_t> routing, const M& message) {
  return send_raw(socket, routing, MessageTraits<M>::kType, encode_body(message));
}

template <typename M>
Status send(zmq::socket_t& socket, const M& message) {
  return send_raw(socket, {}, MessageTraits<M>::kType, encode_body(message));
}

}  // namespace cube::protocol
