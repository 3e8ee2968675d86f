// What NODES and STATUS answer with: the broker's current view of its agents and itself.
#include "broker/allocation.h"
#include "broker/handlers.h"
#include "broker/node_readiness.h"
#include "broker/version.h"

namespace cube::broker {
namespace {

// Adds the ZAP handler's refusals and admissions since bind() (the startup self-check
// excluded) as "zap.admitted", "zap.refused.agents", "zap.refused.clients".
void export_zap_counts(const BrokerState& state, std::map<std::string, uint64_t>& counters) {
  if (state.zap == nullptr)
    return;
  ZapCounts now = state.zap->counts();
  const ZapCounts& base = state.zap_baseline;
  counters["zap.admitted"] = now.admitted - base.admitted;
  counters["zap.refused.agents"] = now.refused_agents - base.refused_agents;
  // The startup self-check's probe is a refused client; it is not a stranger knocking.
  counters["zap.refused.clients"] = now.refused_clients - base.refused_clients;
  if (now.refused_other > 0)
    counters["zap.refused.other"] = now.refused_other;
}

}  // namespace

MessageTable broker_message_table() {
  MessageTable table;
  add_client_handlers(table);
  add_work_handlers(table);
  add_event_handlers(table);
  add_logs_handlers(table);
  add_service_handlers(table);
  add_events_handlers(table);
  return table;
}

namespace {

// "ready", "suspect" or "lost", as NODES and STATUS report an agent.
std::string_view agent_state_name(const BrokerState& state, const AgentRecord& agent) {
  switch (agent.state) {
    case AgentState::Welcomed:
      return node_state_name(state.liveness.state(agent.id, state.clock.now()));
    case AgentState::Unknown:
      return node_state_name(NodeState::Suspect);  // known from the store, not heard from yet
    case AgentState::Lost:
      return node_state_name(NodeState::Lost);
  }
  return node_state_name(NodeState::Lost);
}

}  // namespace

protocol::NodeInfo node_info(const BrokerState& state, const AgentRecord& agent) {
  protocol::NodeInfo n;
  n.id = agent.id;
  n.name = agent.name;
  n.state = std::string(agent_state_name(state, agent));
  n.version = agent.version;
  n.drivers = agent.drivers;
  n.capacity = agent.capacity;
  n.labels = agent.labels;
  n.running = static_cast<uint32_t>(state.tasks.count_on_node(agent.id));
  n.free_slots = agent.credit();
  n.last_seen_ms = agent.last_seen_ms;
  n.allocated = allocated_on_node(state.tasks, agent.id);
  if (const protocol::NodeUsage* usage = state.node_stats.node(agent.id))
    n.usage = *usage;
  return n;
}

protocol::BrokerStatus broker_status(const BrokerState& state) {
  protocol::BrokerStatus b;
  b.version = std::string(broker_version());
  b.epoch = state.epoch;
  b.started_ms = state.started_ms;
  for (int i = 0; i < kTaskStateCount; ++i) {
    auto task_state = static_cast<TaskState>(i);
    b.tasks_by_state[std::string(task_state_name(task_state))] = state.tasks.counts()[i];
  }
  SteadyTime now = state.clock.now();
  for (const auto& [id, agent] : state.agents.agents()) {
    ++b.nodes_total;
    if (is_placeable(agent, state.liveness, now))
      ++b.nodes_ready;
    ++b.nodes_by_state[std::string(agent_state_name(state, agent))];
  }
  b.store = state.options.store;
  b.counters = std::map<std::string, uint64_t>(state.counters.begin(), state.counters.end());
  b.scheduler = std::string(policy_name(state.options.policy));
  b.role = state.role;
  b.leader = state.leader_address;
  b.standbys = state.standbys;
  state.metrics.export_to(b.counters);
  export_zap_counts(state, b.counters);
  return b;
}

}  // namespace cube::broker
