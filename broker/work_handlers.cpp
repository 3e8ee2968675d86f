// Agent sessions on the work ROUTER (docs/protocol.md, "Agent session"). HELLO opens a session
// and reconciles what the agent runs; every other message must carry the current session id,
// or it is answered with ERROR unauthorized so the agent says HELLO again. Everything sent back
// goes through the outbox, so an agent hears of a change only once it is committed.
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <span>
#include <string_view>
#include <utility>

#include "broker/admission.h"
#include "broker/handlers.h"
#include "common/ids.h"
#include "protocol/beacon_slices.h"

namespace cube::broker {
namespace {

// The Welcomed agent behind `session_id` (refreshing its routing id and liveness), or nullptr
// after queueing an ERROR unauthorized to the connection.
AgentRecord* authenticate(BrokerState& state, const Inbound& in, std::string_view session_id) {
  auto agent = state.agents.authenticate(session_id);
  if (!agent.is_ok()) {
    bump(state.counters, "work.unauthorized");
    answer_error(state, in, agent.status());
    return nullptr;
  }
  AgentRecord* record = *agent;
  record->routing_id = in.routing_id;  // a reconnected DEALER has a new routing id
  state.touch(*record);
  return record;
}

// The node transition a HELLO makes, as a log phrase and an "agents.*" counter.
std::pair<const char*, const char*> hello_transition(const AgentRecord* before) {
  if (before == nullptr)
    return {"joined", "agents.joined"};
  if (before->state == AgentState::Lost)
    return {"returned after being lost", "agents.returned"};
  if (before->state == AgentState::Unknown)
    return {"is back after the broker restarted", "agents.recovered"};
  return {"started a new session", "agents.reconnected"};
}

void on_hello(BrokerState& state, Inbound& in, protocol::Hello& hello) {
  if (!check_agent_identity(state, in, hello))
    return;
  SystemTime wall = state.clock.wall();
  const AgentRecord* before = state.agents.find(hello.agent_id);
  auto [phrase, counter] = hello_transition(before);
  // The node's state before, for the event feed: "" when it joins for the first time.
  std::string previous;
  if (before != nullptr)
    previous = node_info(state, *before).state;
  auto registered = state.agents.on_hello(hello, in.routing_id, new_random_id(), to_unix_ms(wall));
  if (!registered.is_ok()) {
    bump(state.counters, "work.hello_refused");
    return answer_error(state, in, registered.status());
  }
  AgentRecord& agent = *registered->agent;
  state.liveness.on_traffic(agent.id, state.clock.now());
  state.event_sync.reset(agent.id, hello.seq);
  // Every broker of this version takes batches and publishes beacon slices (while every agent
  // it serves takes them); the agent's own HELLO decides what it is sent.
  state.queue_work(in.routing_id,
                   protocol::Welcome{agent.session_id,
                                     state.epoch,
                                     static_cast<int64_t>(state.options.heartbeat.count()),
                                     {std::string(protocol::kFeatureBatches),
                                      std::string(protocol::kFeatureBeaconSlices)}});
  spdlog::info("agent {} ({}) {}: {} running, drivers [{}]", agent.name, agent.id, phrase,
               hello.tasks.size(), fmt::join(agent.drivers, ", "));
  bump(state.counters, counter);
  bump(state.counters, "work.hellos");
  if (previous != node_state_name(NodeState::Ready))
    state.note_node(agent.name, node_state_name(NodeState::Ready), previous);
  state.lifecycle.reconcile(agent, hello.tasks, wall, state.commands);
  state.queue_commands();
  state.schedule_needed = true;
}

void on_credit(BrokerState& state, Inbound& in, protocol::Credit& credit) {
  AgentRecord* agent = authenticate(state, in, credit.session_id);
  if (agent == nullptr)
    return;
  state.agents.on_credit(*agent, credit.free_slots);
  state.schedule_needed = true;
}

// An ACCEPT, or the ACCEPTs of an ACCEPT_BATCH: each attempt answers its assignment on its own
// (a late or unknown one gets its STOP, as a single ACCEPT would).
void accept_attempts(BrokerState& state, Inbound& in, std::string_view session_id,
                     std::span<const protocol::AttemptRef> attempts) {
  AgentRecord* agent = authenticate(state, in, session_id);
  if (agent == nullptr)
    return;
  for (const auto& attempt : attempts)
    state.lifecycle.on_accept(*agent, attempt.task_id, attempt.attempt, state.commands);
  state.queue_commands();
}

void on_accept(BrokerState& state, Inbound& in, protocol::Accept& accept) {
  const protocol::AttemptRef attempt{std::move(accept.task_id), accept.attempt};
  accept_attempts(state, in, accept.session_id, {&attempt, 1});
}

void on_accept_batch(BrokerState& state, Inbound& in, protocol::AcceptBatch& batch) {
  if (batch.attempts.empty())
    return report_malformed(state, in, Status::invalid("no attempts"));
  accept_attempts(state, in, batch.session_id, batch.attempts);
}

void on_reject(BrokerState& state, Inbound& in, protocol::Reject& reject) {
  AgentRecord* agent = authenticate(state, in, reject.session_id);
  if (agent == nullptr)
    return;
  state.lifecycle.on_reject(*agent, reject.task_id, reject.attempt, reject.reason,
                            state.clock.wall());
  state.schedule_needed = true;
}

void on_snapshot(BrokerState& state, Inbound& in, protocol::Snapshot& snapshot) {
  AgentRecord* agent = authenticate(state, in, snapshot.session_id);
  if (agent == nullptr)
    return;
  state.event_sync.reset(agent->id, snapshot.seq);
  agent->sync_requested_at.reset();
  state.lifecycle.reconcile(*agent, snapshot.tasks, state.clock.wall(), state.commands);
  state.queue_commands();
  bump(state.counters, "work.snapshots");
  state.schedule_needed = true;
}

void on_agent_error(BrokerState& state, Inbound& in, protocol::ErrorMessage& error) {
  bump(state.counters, "work.agent_errors");
  if (state.first_report("work.error." + in.routing_id)) {
    spdlog::warn("agent connection {} reported an error: {}", hex(in.routing_id),
                 Status(error.code, error.message).to_string());
  }
}

}  // namespace

void add_work_handlers(MessageTable& table) {
  table.add<protocol::Hello, on_hello>(BrokerSocket::Work);
  table.add<protocol::Credit, on_credit>(BrokerSocket::Work);
  table.add<protocol::Accept, on_accept>(BrokerSocket::Work);
  table.add<protocol::AcceptBatch, on_accept_batch>(BrokerSocket::Work);
  table.add<protocol::Reject, on_reject>(BrokerSocket::Work);
  table.add<protocol::Snapshot, on_snapshot>(BrokerSocket::Work);
  table.add<protocol::ErrorMessage, on_agent_error>(BrokerSocket::Work);
}

}  // namespace cube::broker
