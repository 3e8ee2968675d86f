#include "broker/message_table.h"

#include <spdlog/spdlog.h>

namespace cube::broker {
namespace {

// Who sent it, for a log line: a client or agent connection by its routing id; the events
// socket has no peer identity.
std::string peer_of(const Inbound& in) {
  switch (in.socket) {
    case BrokerSocket::Client:
      return "client " + hex(in.routing_id);
    case BrokerSocket::Work:
      return "agent connection " + hex(in.routing_id);
    case BrokerSocket::Events:
      return "events";
  }
  return "unknown";
}

// The key under which a peer's problem is logged once: per connection, or per message type on
// the events socket.
std::string report_key(const Inbound& in, std::string_view what) {
  std::string key = std::string(socket_name(in.socket)) + "." + std::string(what) + ".";
  if (in.socket == BrokerSocket::Events)
    return key + protocol::message_type_name(in.message.type);
  return key + in.routing_id;
}

std::string counter(const Inbound& in, std::string_view what) {
  return std::string(socket_name(in.socket)) + "." + std::string(what) + "." +
         protocol::message_type_name(in.message.type);
}

}  // namespace

std::string_view socket_name(BrokerSocket socket) {
  switch (socket) {
    case BrokerSocket::Client:
      return "client";
    case BrokerSocket::Work:
      return "work";
    case BrokerSocket::Events:
      return "events";
  }
  return "unknown";
}

void report_bad_envelope(BrokerState& state, const Inbound& in, const Status& error) {
  std::string socket(socket_name(in.socket));
  bump(state.counters, socket + ".bad_envelope");
  // A SUB has no peer identity: each kind of damage is reported once.
  std::string key =
      socket + ".envelope." + (in.socket == BrokerSocket::Events ? error.message() : in.routing_id);
  if (state.first_report(key))
    spdlog::warn("{}: {}", peer_of(in), error.message());
  answer_error(state, in, error);
}

void answer_error(BrokerState& state, const Inbound& in, const Status& error) {
  switch (in.socket) {
    case BrokerSocket::Client:
      state.reply_error(in.routing(), protocol::peek_request_id(in.message.body), error);
      return;
    case BrokerSocket::Work:
      state.queue_work(in.routing_id, protocol::ErrorMessage{error.code(), error.message()});
      return;
    case BrokerSocket::Events:
      return;  // a SUB cannot answer
  }
}

void MessageTable::dispatch(BrokerState& state, Inbound& in) const {
  state.metrics.on_message(in.socket, in.message.type);
  const Entry& entry = entries_[in.message.type];
  if (entry.run == nullptr || entry.socket != in.socket)
    return report_unexpected(state, in);
  entry.run(state, in);
}

void report_malformed(BrokerState& state, const Inbound& in, const Status& error) {
  const char* type = protocol::message_type_name(in.message.type);
  bump(state.counters, counter(in, "malformed"));
  if (state.first_report(report_key(in, "malformed")))
    spdlog::warn("{}: malformed {}: {}", peer_of(in), type, error.message());
  answer_error(state, in,
               Status::invalid("malformed " + std::string(type) + ": " + error.message()));
}

void MessageTable::report_unexpected(BrokerState& state, const Inbound& in) {
  uint8_t type = in.message.type;
  bump(state.counters, counter(in, "unexpected_type"));
  if (state.first_report(report_key(in, "unexpected")))
    spdlog::warn("{}: unexpected message type {} ({})", peer_of(in), type,
                 protocol::message_type_name(type));
  if (in.socket == BrokerSocket::Client) {
    answer_error(state, in, Status::invalid("unknown request type " + std::to_string(type)));
  } else {
    answer_error(state, in,
                 Status::invalid("unexpected message type " + std::to_string(type) + " (" +
                                 protocol::message_type_name(type) + ") on the " +
                                 std::string(socket_name(in.socket)) + " port"));
  }
}

}  // namespace cube::broker
