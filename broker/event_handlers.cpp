// Agent events on the events SUB (docs/protocol.md, "Events"): heartbeats, task state changes
// and node stats, published by each agent with its session id and a sequence number. The
// zguide's Clone pattern: EventSync applies the next event, drops duplicates, and on a gap the
// broker asks the agent for a SNAPSHOT (SYNC) instead of guessing.
#include <spdlog/spdlog.h>

#include <span>
#include <string>
#include <string_view>

#include "broker/handlers.h"

namespace cube::broker {
namespace {

// An event's agent and session, checked; nullptr (counted) when it must be dropped.
AgentRecord* authenticate(BrokerState& state, std::string_view agent_id,
                          std::string_view session_id) {
  auto agent = state.agents.authenticate_event(agent_id, session_id);
  if (agent.is_ok()) {
    state.touch(**agent);
    return *agent;
  }
  bump(state.counters, "events.no_session");
  AgentRecord* known = state.agents.find(agent_id);
  if (known != nullptr && known->state == AgentState::Lost && !known->routing_id.empty()) {
    // The broker declared it lost but it is still talking: ask it to say HELLO again so its
    // tasks are reconciled. (Only when Lost: events still in flight from a replaced session
    // must not trigger another HELLO.)
    state.queue_work(known->routing_id,
                     protocol::ErrorMessage{ErrorCode::Unauthorized, "no session: send HELLO"});
  }
  return nullptr;
}

std::string missed(uint64_t first, uint64_t last) {
  return "missed events " + std::to_string(first) + ".." + std::to_string(last);
}

void on_heartbeat(BrokerState& state, Inbound&, protocol::AgentHeartbeat& beat) {
  AgentRecord* agent = authenticate(state, beat.agent_id, beat.session_id);
  if (agent == nullptr)
    return;
  if (state.event_sync.classify_heartbeat(agent->id, beat.seq) == EventAction::NeedSync) {
    bump(state.counters, "events.gap");
    uint64_t last = state.event_sync.last_seq(agent->id).value_or(0);
    state.request_sync(*agent, missed(last + 1, beat.seq));
  }
}

// A TASK_STATE, or the statuses of a TASK_STATE_BATCH: the agent's events numbered
// seq - n + 1 .. seq. Those after the last applied seq are applied in order, those at or before
// it dropped as duplicates ("events.duplicate" counts them), and a gap before the first drops
// them all and asks for a SNAPSHOT (broker/event_sync.h).
void apply_events(BrokerState& state, std::string_view agent_id, std::string_view session_id,
                  uint64_t seq, std::span<const AttemptStatus> statuses) {
  AgentRecord* agent = authenticate(state, agent_id, session_id);
  if (agent == nullptr)
    return;
  uint64_t last = state.event_sync.last_seq(agent->id).value_or(0);
  uint64_t first = seq - (statuses.size() - 1);
  RangeVerdict verdict = state.event_sync.classify_range(agent->id, first, seq);
  switch (verdict.action) {
    case EventAction::Apply:
      if (verdict.duplicates > 0)
        bump(state.counters, "events.duplicate", verdict.duplicates);
      for (const auto& status : statuses.subspan(verdict.duplicates))
        state.lifecycle.apply_status(*agent, status, state.clock.wall(), state.commands);
      state.queue_commands();
      state.schedule_needed = true;
      return;
    case EventAction::DropDuplicate:
      bump(state.counters, "events.duplicate", statuses.size());
      return;
    case EventAction::NeedSync:
      bump(state.counters, "events.gap");
      state.request_sync(*agent, missed(last + 1, first - 1));
      return;
  }
}

void on_task_state(BrokerState& state, Inbound&, protocol::TaskStateEvent& event) {
  apply_events(state, event.agent_id, event.session_id, event.seq, {&event.status, 1});
}

void on_task_state_batch(BrokerState& state, Inbound& in, protocol::TaskStateBatch& batch) {
  if (batch.statuses.empty())
    return report_malformed(state, in, Status::invalid("no statuses"));
  if (batch.seq < batch.statuses.size()) {
    return report_malformed(state, in,
                            Status::invalid("seq " + std::to_string(batch.seq) + " cannot number " +
                                            std::to_string(batch.statuses.size()) +
                                            " statuses: events are numbered from 1"));
  }
  apply_events(state, batch.agent_id, batch.session_id, batch.seq, batch.statuses);
}

void on_node_stats(BrokerState& state, Inbound&, protocol::NodeStats& stats) {
  AgentRecord* agent = authenticate(state, stats.agent_id, stats.session_id);
  if (agent == nullptr)
    return;
  // Stats consume no sequence number and are lossy by design: their seq is not checked, so
  // they never cause a SYNC (docs/protocol.md, Events). The heartbeat notices real gaps.
  state.node_stats.on_stats(agent->id, stats);
  bump(state.counters, "events.node_stats");
}

}  // namespace

void add_event_handlers(MessageTable& table) {
  table.add<protocol::AgentHeartbeat, on_heartbeat>(BrokerSocket::Events);
  table.add<protocol::TaskStateEvent, on_task_state>(BrokerSocket::Events);
  table.add<protocol::TaskStateBatch, on_task_state_batch>(BrokerSocket::Events);
  table.add<protocol::NodeStats, on_node_stats>(BrokerSocket::Events);
}

}  // namespace cube::broker
