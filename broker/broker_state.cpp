#include "broker/broker_state.h"

#include <random>
#include <unordered_map>
#include <utility>

#include "broker/feed_events.h"
#include "common/ids.h"
#include "protocol/batches.h"

namespace cube::broker {
namespace {

// The set behind first_report() is cleared when it grows past this, so a flood of distinct
// bad peers costs bounded memory (they are then logged once more).
constexpr size_t kMaxReportedKeys = 10000;

// A random first LOGS_FETCH id, so that an answer meant for a previous broker process does not
// match a request of this one.
uint64_t random_fetch_id_start() {
  std::random_device seed;
  return (static_cast<uint64_t>(seed()) << 32) | seed();
}

}  // namespace

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

std::string frame_string(const zmq::message_t& frame) {
  return std::string(static_cast<const char*>(frame.data()), frame.size());
}

BrokerState::BrokerState(const BrokerOptions& options, const Clock& clock,
                         zmq::context_t& zmq_context)
    : options(options),
      clock(clock),
      epoch(new_random_id()),
      started_ms(to_unix_ms(clock.wall())),
      sockets(zmq_context, counters, metrics),
      liveness(options.heartbeat, options.suspect_after_beats, options.node_grace),
      lifecycle(tasks, agents, counters, options.stop_grace, clock, options.restart,
                std::random_device{}()),
      rate_limiter(options.client_rate),
      logs(random_fetch_id_start()),
      feed(options.event_buffer, options.max_event_subscribers) {
  tasks.on_state_change([this](const Task& task, std::optional<TaskState> from, SystemTime now) {
    outbox.push_event(task_feed_event(task, from, now));
  });
  services.on_change([this](const Service* before, const Service* after) {
    if (auto event = service_feed_event(before, after, this->clock.wall()))
      outbox.push_event(std::move(*event));
  });
}

void BrokerState::note_node(std::string_view name, std::string_view state,
                            std::string_view previous) {
  outbox.push_event(node_feed_event(name, state, previous, clock.wall()));
}

void BrokerState::answer_events(std::span<const zmq::message_t> routing, uint64_t request_id,
                                uint64_t after, const protocol::EventFilter& filter, uint32_t max) {
  protocol::Reply r = feed.read_after(after, filter, max);
  r.request_id = request_id;
  if (r.status.is_too_old())
    bump(counters, "feed.too_old");
  bump(counters, "feed.replies");
  bump(counters, "feed.sent", r.feed.size());
  reply(routing, r);
}

void BrokerState::answer_parked_events(SteadyTime now) {
  auto answer = [&](const ParkedEvents& parked) {
    std::vector<zmq::message_t> routing;
    routing.reserve(parked.routing.size());
    for (const auto& frame : parked.routing)
      routing.emplace_back(frame.data(), frame.size());
    answer_events(routing, parked.request_id, parked.since, parked.filter, parked.max);
  };
  for (const auto& parked : feed.take_matched(now))
    answer(parked);
  for (const auto& parked : feed.take_expired(now))
    answer(parked);
  counters["feed.subscribers"] = feed.parked();  // a gauge: requests waiting now
}

bool BrokerState::first_report(const std::string& key) {
  if (reported_.size() >= kMaxReportedKeys)
    reported_.clear();
  return reported_.insert(key).second;
}

void BrokerState::reply(std::span<const zmq::message_t> routing, const protocol::Reply& reply) {
  sockets.send_client(routing, protocol::MessageType::Reply, protocol::encode_body(reply));
}

void BrokerState::reply_error(std::span<const zmq::message_t> routing, uint64_t request_id,
                              Status status) {
  protocol::Reply r;
  r.request_id = request_id;
  r.status = std::move(status);
  reply(routing, r);
}

void BrokerState::reply_after_commit(std::span<const zmq::message_t> routing, uint64_t request_id,
                                     const std::string& task_id) {
  protocol::Reply r;
  r.request_id = request_id;
  if (const TaskRecord* record = tasks.find(task_id)) {
    r.task = record->task;
  } else {
    r.status = Status::internal("task " + task_id + " vanished before its reply");
  }
  queue_reply(routing, r);
}

void BrokerState::queue_reply(std::span<const zmq::message_t> routing,
                              const protocol::Reply& reply) {
  std::vector<std::string> frames;
  frames.reserve(routing.size());
  for (const auto& frame : routing)
    frames.push_back(frame_string(frame));
  outbox.push(OutboxSocket::Client, std::move(frames), protocol::MessageType::Reply,
              protocol::encode_body(reply));
}

void BrokerState::queue_commands() {
  if (commands.empty())
    return;
  // Each agent's ASSIGNs, in order, waiting to leave as one batch: before that agent's next
  // other command (so its stream keeps the order decided) or after the last command.
  struct PendingAssigns {
    const AgentRecord* agent;
    protocol::AssignBatch batch;
  };
  std::vector<PendingAssigns> pending;
  std::unordered_map<const AgentRecord*, size_t> pending_of;  // agent -> index in `pending`
  auto queue_assigns = [&](PendingAssigns& assigns) {
    protocol::encode_batch(std::move(assigns.batch), assigns.agent->announced_batches,
                           [&](protocol::MessageType type, std::string body) {
                             outbox.push(OutboxSocket::Work, {assigns.agent->routing_id}, type,
                                         std::move(body));
                           });
    assigns.batch.tasks.clear();  // moved from: empty again, for ASSIGNs after the next command
  };
  for (auto& command : commands) {
    const AgentRecord* agent = agents.find(command.agent_id);
    if (agent == nullptr || agent->routing_id.empty()) {
      bump(counters, "work.no_route");
      continue;
    }
    auto [it, added] = pending_of.try_emplace(agent, pending.size());
    if (added)
      pending.push_back({agent, {}});
    PendingAssigns& assigns = pending[it->second];
    if (auto* assign = std::get_if<protocol::Assign>(&command.message)) {
      assigns.batch.tasks.push_back(std::move(assign->task));
      continue;
    }
    queue_assigns(assigns);
    std::visit([&](const auto& m) { queue_work(agent->routing_id, m); }, command.message);
  }
  for (auto& assigns : pending)
    queue_assigns(assigns);
  commands.clear();
}

void BrokerState::flush_outbox() {
  outbox.flush([this](const OutboxMessage& message) {
    if (message.socket == OutboxSocket::Work) {
      sockets.send_work(message.routing.front(), message.type, message.body);
      return;
    }
    std::vector<zmq::message_t> routing;
    routing.reserve(message.routing.size());
    for (const auto& frame : message.routing)
      routing.emplace_back(frame.data(), frame.size());
    sockets.send_client(routing, message.type, message.body);
  });
  size_t published =
      outbox.flush_events([this](protocol::FeedEvent&& event) { feed.publish(std::move(event)); });
  if (published > 0) {
    bump(counters, "feed.published", published);
    answer_parked_events(clock.now());
  }
}

size_t BrokerState::refuse_held_replies(const Status& why) {
  std::vector<OutboxMessage> held = outbox.take_client_replies();
  for (const auto& message : held) {
    auto original = protocol::decode_as<protocol::Reply>(message.body);
    if (!original.is_ok())
      continue;  // we encoded it: cannot happen
    std::vector<zmq::message_t> routing;
    routing.reserve(message.routing.size());
    for (const auto& frame : message.routing)
      routing.emplace_back(frame.data(), frame.size());
    reply_error(routing, original->request_id, why);
  }
  return held.size();
}

void BrokerState::touch(AgentRecord& agent) {
  agent.last_seen_ms = to_unix_ms(clock.wall());
  NodeState before = liveness.on_traffic(agent.id, clock.now());
  if (before != NodeState::Ready)
    schedule_needed = true;  // a suspect agent is offered tasks again
  if (before == NodeState::Suspect)
    note_node(agent.name, node_state_name(NodeState::Ready), node_state_name(before));
}

void BrokerState::request_sync(AgentRecord& agent, std::string reason) {
  SteadyTime now = clock.now();
  if (agent.sync_requested_at && now - *agent.sync_requested_at < 3 * options.heartbeat)
    return;
  agent.sync_requested_at = now;
  bump(counters, "events.sync_requests");
  commands.push_back({agent.id, protocol::Sync{std::move(reason)}});
  queue_commands();
}

}  // namespace cube::broker
