// BrokerSockets: the broker's four ZeroMQ sockets, bound from one base port, and the only code
// that sends on them.
//
//   client ROUTER  PORT    requests from REQ clients (cube-client, cube::Client, the gateway)
//   work ROUTER    PORT+1  agent sessions (ROUTER_MANDATORY: a send to a gone agent fails)
//   events SUB     PORT+2  agent PUBs: heartbeats, task states, node stats
//   beacon PUB     PORT+3  the broker's heartbeat and epoch
//
// A send never blocks: a full queue or a vanished peer is counted in `counters`
// ("client.send_failed", "work.send_failed.TYPE", "beacon.send_failed") and the message is
// dropped (a message that was sent is counted in `metrics`, BrokerMetrics::on_sent); the protocol
// recovers (an unanswered ASSIGN times out, a client retries, a lost STOP is repeated at the
// agent's next HELLO).
//
// Thread-safety: none. Bind on any thread, then use from the broker loop thread only.
#pragma once

#include <zmq.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "broker/broker_metrics.h"
#include "broker/counters.h"
#include "common/status.h"
#include "protocol/messages.h"

namespace cube::broker {

// I/O threads of the broker's ZeroMQ context (BrokerLoop). The beacon PUB has the second to
// itself: a plain beacon is fanned out to every agent connection at once (at 1,000 agents about
// 18 ms of I/O work in one burst per heartbeat), and on the shared thread the task traffic of
// the other sockets waited behind it. Sliced beacons spread that work, and the thread still
// keeps it off the task traffic.
inline constexpr int kBrokerIoThreads = 2;

struct SocketOptions {
  std::string host;          // bind address; an IPv6 literal turns on ZMQ_IPV6
  std::string curve_secret;  // Z85 server secret; empty: no CURVE
};

class BrokerSockets {
 public:
  // `context` (with kBrokerIoThreads I/O threads), `counters` and `metrics` must outlive the
  // sockets.
  BrokerSockets(zmq::context_t& context, Counters& counters, BrokerMetrics& metrics);

  // Binds the four ports from `base`, or with base 0 from the first random base in
  // 20000..60000 whose four ports are all free.
  //   Unavailable  a port is taken or the address cannot be bound ("cannot bind
  //                tcp://127.0.0.1:7101 (work port): Address already in use"), or no free
  //                base was found for port 0
  //   Invalid      the base port leaves no room for four ports (above 65532)
  //   Internal     libzmq refused an option (CURVE key)
  Status bind(const SocketOptions& options, int base);
  // The bound base port; 0 before bind() succeeded.
  int port() const { return port_; }

  zmq::socket_t& client() { return client_; }
  zmq::socket_t& work() { return work_; }
  zmq::socket_t& events() { return events_; }

  // Sends one message on the client ROUTER to the peer `routing` names.
  void send_client(std::span<const zmq::message_t> routing, protocol::MessageType type,
                   std::string_view body);
  // Sends one message on the work ROUTER to the agent connection `routing_id`.
  void send_work(std::string_view routing_id, protocol::MessageType type, std::string_view body);
  // Publishes `beacon` to the agents of `slice` (protocol/beacon_slices.h), or plain to every
  // agent without one.
  void publish_beacon(const protocol::Beacon& beacon, std::optional<int> slice);

 private:
  Status bind_at(const SocketOptions& options, int base);

  zmq::context_t& context_;
  Counters& counters_;
  BrokerMetrics& metrics_;
  int port_ = 0;
  zmq::socket_t client_;
  zmq::socket_t work_;
  zmq::socket_t events_;
  zmq::socket_t beacon_;
};

}  // namespace cube::broker
