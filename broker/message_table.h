// MessageTable: which handler takes each message type, on which socket. One table for the three
// inbound sockets; every handler is registered with the message struct it takes, so decoding,
// counting and the answer to bad input are written once, here, for all of them:
//
//   received       "<socket>.received.<TYPE>" (BrokerMetrics), for every readable envelope
//   malformed      "<socket>.malformed.<TYPE>", logged once per peer, answered with an ERROR
//                  (work) or an invalid REPLY with the request id when readable (client);
//                  events have no peer to answer
//   unexpected     a type not registered for the socket it came on:
//                  "<socket>.unexpected_type.<TYPE>", logged once per peer, answered as above
//
// The handlers themselves are in broker/client_handlers.cpp, work_handlers.cpp,
// event_handlers.cpp and logs_handlers.cpp (registered by register_broker_handlers(),
// broker/handlers.h).
//
// Thread-safety: build once, then dispatch() from the broker loop thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "broker/broker_metrics.h"
#include "broker/broker_state.h"
#include "common/status.h"
#include "protocol/codec.h"
#include "protocol/zmq_io.h"

namespace cube::broker {

// One message read from a broker socket with a valid envelope.
struct Inbound {
  BrokerSocket socket;
  protocol::Received& message;  // handlers may move routing frames out (LOGS)
  std::string routing_id;       // the peer's ROUTER identity bytes; empty on the events socket

  std::span<const zmq::message_t> routing() const {
    return {message.frames.data(), message.envelope_start};
  }
};

// "client", "work", "events": the socket's name in counters and logs.
std::string_view socket_name(BrokerSocket socket);

// A message whose envelope could not be read (not "CUBE1", another protocol major, no type):
// counted "<socket>.bad_envelope", logged once per peer, answered with `error`.
void report_bad_envelope(BrokerState& state, const Inbound& in, const Status& error);

// Answers a peer whose message could not be used: an invalid REPLY (client: with the request
// id when one can be read), a queued ERROR (work), nothing (events).
void answer_error(BrokerState& state, const Inbound& in, const Status& error);

// A message that decoded but cannot be used as it is (a batch with nothing in it): counted
// "<socket>.malformed.<TYPE>", logged once per peer and answered as a body that failed to decode
// (see the file comment), "malformed <TYPE>: <error>".
void report_malformed(BrokerState& state, const Inbound& in, const Status& error);

class MessageTable {
 public:
  template <typename M>
  using Handler = void (*)(BrokerState&, Inbound&, M&);

  // Registers `handle` for messages of type M arriving on `socket`. A type has one handler.
  template <typename M, Handler<M> handle>
  void add(BrokerSocket socket) {
    Entry& entry = entries_[static_cast<uint8_t>(protocol::MessageTraits<M>::kType)];
    CUBE_CHECK(entry.run == nullptr) << "one handler per message type";
    entry.socket = socket;
    entry.run = [](BrokerState& state, Inbound& in) {
      M message;
      if (Status s = protocol::decode_body(in.message.body, message); !s.is_ok())
        return report_malformed(state, in, s);
      handle(state, in, message);
    };
  }

  // Counts the message, decodes it and calls its handler, or reports it as unexpected or
  // malformed (see the file comment).
  void dispatch(BrokerState& state, Inbound& in) const;

 private:
  struct Entry {
    BrokerSocket socket = BrokerSocket::Client;
    void (*run)(BrokerState&, Inbound&) = nullptr;
  };

  static void report_unexpected(BrokerState& state, const Inbound& in);

  std::array<Entry, 256> entries_{};
};

}  // namespace cube::broker
