#include "broker/scheduler_view.h"

#include "broker/node_readiness.h"

namespace cube::broker {
namespace {

NodeSnapshot snapshot_of(const AgentRecord& record) {
  return NodeSnapshot{
      .id = record.id,
      .name = record.name,
      .drivers = record.drivers,
      .capacity = record.capacity,
      .allocated = {},
      .credit = 0,
      .labels = record.labels,
  };
}

}  // namespace

void SchedulerView::rebuild_entries(const AgentRegistry& agents, TaskTable& tasks) {
  entries_.clear();
  entries_.reserve(agents.agents().size());
  for (const auto& [id, record] : agents.agents())
    entries_.push_back(Entry{&record, &tasks.node_load(id), 0, SteadyTime::min()});
  eligible_.clear();
  nodes_.clear();
}

bool SchedulerView::is_ready(Entry& entry, const Liveness& liveness, SteadyTime now) {
  if (now < entry.ready_until)
    return true;
  auto until = placeable_until(*entry.agent, liveness);
  entry.ready_until = until.value_or(SteadyTime::min());
  return now < entry.ready_until;
}

void SchedulerView::refresh(const AgentRegistry& agents, const Liveness& liveness, TaskTable& tasks,
                            SteadyTime now) {
  // Agents are never removed from the registry, so a new one changes its size.
  bool rebuild_nodes = false;
  if (entries_.size() != agents.agents().size()) {
    rebuild_entries(agents, tasks);
    rebuild_nodes = true;
  }
  next_.clear();
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    Entry& entry = entries_[i];
    const AgentRecord& agent = *entry.agent;
    if (entry.session_number != agent.session_number) {
      // A new session (or none: lost): the HELLO may have changed name, drivers, capacity or
      // labels; and readiness must be asked again.
      entry.session_number = agent.session_number;
      entry.ready_until = SteadyTime::min();
      rebuild_nodes = true;
    }
    if (is_ready(entry, liveness, now))
      next_.push_back(i);
  }
  if (rebuild_nodes || next_ != eligible_) {
    eligible_.swap(next_);
    nodes_.clear();
    nodes_.reserve(eligible_.size());
    for (uint32_t i : eligible_)
      nodes_.push_back(snapshot_of(*entries_[i].agent));
  }
  for (size_t k = 0; k < eligible_.size(); ++k) {
    const Entry& entry = entries_[eligible_[k]];
    NodeSnapshot& node = nodes_[k];
    node.credit = entry.agent->credit();
    node.allocated = Resources{entry.load->cpu, entry.load->memory_bytes, entry.load->disk_bytes};
  }
}

}  // namespace cube::broker
