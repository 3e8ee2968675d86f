#include "broker/broker_sockets.h"

#include <array>
#include <random>
#include <utility>
#include <vector>

#include "protocol/beacon_slices.h"
#include "protocol/codec.h"
#include "protocol/curve.h"
#include "protocol/zmq_io.h"

namespace cube::broker {
namespace {

// Random bases tried for port 0 before giving up; 64 collisions in a row means the range is
// nearly full, not bad luck.
constexpr int kPortTries = 64;
constexpr int kRandomPortLow = 20000;
constexpr int kRandomPortHigh = 60000;
// Enough pending connections for thousands of agents starting at once (the kernel caps it at
// net.core.somaxconn).
constexpr int kListenBacklog = 10000;

}  // namespace

BrokerSockets::BrokerSockets(zmq::context_t& context, Counters& counters, BrokerMetrics& metrics)
    : context_(context), counters_(counters), metrics_(metrics) {}

Status BrokerSockets::bind(const SocketOptions& options, int base) {
  if (base != 0) {
    if (base < 1 || base > 65535 - 3) {
      return Status::invalid("base port " + std::to_string(base) +
                             " leaves no room for its four ports (use 1..65532)");
    }
    return bind_at(options, base);
  }
  std::random_device seed;
  std::mt19937 rng(seed());
  std::uniform_int_distribution<int> pick(kRandomPortLow, kRandomPortHigh - 3);
  Status last;
  for (int i = 0; i < kPortTries; ++i) {
    last = bind_at(options, pick(rng));
    if (last.is_ok())
      return last;
  }
  return Status::unavailable("found no four free consecutive ports in " +
                             std::to_string(kRandomPortLow) + ".." +
                             std::to_string(kRandomPortHigh) + " after " +
                             std::to_string(kPortTries) + " tries; last: " + last.message());
}

Status BrokerSockets::bind_at(const SocketOptions& options, int base) {
  zmq::socket_t client(context_, zmq::socket_type::router);
  zmq::socket_t work(context_, zmq::socket_type::router);
  zmq::socket_t events(context_, zmq::socket_type::sub);
  zmq::socket_t beacon(context_, zmq::socket_type::pub);
  std::array<std::pair<zmq::socket_t*, const char*>, 4> sockets = {{
      {&client, "client"},
      {&work, "work"},
      {&events, "events"},
      {&beacon, "beacon"},
  }};
  bool ipv6 = options.host.find(':') != std::string::npos;
  try {
    for (auto& [socket, role] : sockets) {
      protocol::apply_socket_defaults(*socket, protocol::kMaxInboundMessageBytes);
      if (ipv6)
        socket->set(zmq::sockopt::ipv6, 1);
      // A bit mask of I/O threads (kBrokerIoThreads): the beacon on the second, the rest on
      // the first.
      socket->set(zmq::sockopt::affinity, socket == &beacon ? uint64_t{2} : uint64_t{1});
    }
    // A send to a vanished agent fails (and is counted) instead of disappearing silently.
    work.set(zmq::sockopt::router_mandatory, 1);
    work.set(zmq::sockopt::backlog, kListenBacklog);
    // No ZMTP heartbeats of our own on the work ROUTER: every agent's DEALER sends PINGs with
    // a TTL (agent_loop.cpp), which make libzmq close an agent connection that goes silent, and
    // the broker answers them. Our own PINGs would add nothing but cost: libzmq 4.3 cancels a
    // timer per connection per interval with a linear scan of all timers, O(agents^2) per
    // second in the I/O thread (docs/decisions.md, "ZMTP heartbeats").
    if (!options.curve_secret.empty()) {
      for (auto& [socket, role] : sockets) {
        std::string_view domain =
            socket == &client ? protocol::kZapDomainClients : protocol::kZapDomainAgents;
        CUBE_RETURN_IF_ERROR(protocol::apply_curve_server(*socket, options.curve_secret, domain));
      }
    }
    events.set(zmq::sockopt::subscribe, "");
    events.set(zmq::sockopt::backlog, kListenBacklog);
    beacon.set(zmq::sockopt::backlog, kListenBacklog);
  } catch (const zmq::error_t& e) {
    return Status::internal(std::string("cannot configure the broker sockets: ") + e.what());
  }
  for (size_t i = 0; i < sockets.size(); ++i) {
    auto& [socket, role] = sockets[i];
    std::string endpoint = protocol::tcp_endpoint(options.host, base + static_cast<int>(i));
    try {
      socket->bind(endpoint);
    } catch (const zmq::error_t& e) {
      return Status::unavailable("cannot bind " + endpoint + " (" + role + " port): " + e.what());
    }
  }
  client_ = std::move(client);
  work_ = std::move(work);
  events_ = std::move(events);
  beacon_ = std::move(beacon);
  port_ = base;
  return Status::ok();
}

void BrokerSockets::send_client(std::span<const zmq::message_t> routing, protocol::MessageType type,
                                std::string_view body) {
  if (!protocol::send_raw(client_, routing, type, body).is_ok()) {
    bump(counters_, "client.send_failed");
    return;
  }
  metrics_.on_sent(BrokerSocket::Client, static_cast<uint8_t>(type));
}

void BrokerSockets::send_work(std::string_view routing_id, protocol::MessageType type,
                              std::string_view body) {
  std::array<zmq::message_t, 1> routing{zmq::message_t(routing_id.data(), routing_id.size())};
  if (!protocol::send_raw(work_, routing, type, body).is_ok()) {
    bump(counters_, std::string("work.send_failed.") +
                        protocol::message_type_name(static_cast<uint8_t>(type)));
    return;
  }
  metrics_.on_sent(BrokerSocket::Work, static_cast<uint8_t>(type));
}

void BrokerSockets::publish_beacon(const protocol::Beacon& beacon, std::optional<int> slice) {
  std::vector<zmq::message_t> topic;
  if (slice)
    topic.emplace_back(protocol::beacon_topic(*slice));
  if (!protocol::send(beacon_, topic, beacon).is_ok()) {
    bump(counters_, "beacon.send_failed");
    return;
  }
  bump(counters_, slice ? "beacon.sent_slices" : "beacon.sent_plain");
}

}  // namespace cube::broker
