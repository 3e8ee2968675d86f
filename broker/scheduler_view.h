// SchedulerView: the nodes as the scheduler sees them (broker/scheduler.h NodeSnapshot), kept
// from one scheduling pass to the next. Building a snapshot of every agent on every pass (copy
// its name, drivers and labels, ask liveness about it, sum the tasks placed there) was most of
// the broker's time under load with a thousand agents (cube-bench, perf); this view copies an
// agent's description only when its session changes (a HELLO may change it) and per pass only
// refreshes what moves: credit, allocation (TaskTable::node_load) and readiness, which it asks
// Liveness about again only once the agent could have become suspect (Liveness::ready_until).
//
// refresh() yields exactly what building the snapshots afresh would: the agents that are
// Welcomed and Ready at `now`, in agent id order, each with its current credit and allocation.
//
// Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "broker/agent_registry.h"
#include "broker/liveness.h"
#include "broker/scheduler.h"
#include "broker/task_table.h"
#include "common/clock.h"

namespace cube::broker {

class SchedulerView {
 public:
  // Brings the view up to date. `agents`, `liveness` and `tasks` must be the same objects on
  // every call (the view keeps pointers into them) and outlive the view.
  void refresh(const AgentRegistry& agents, const Liveness& liveness, TaskTable& tasks,
               SteadyTime now);

  // The eligible nodes (Welcomed and Ready), valid until the next refresh().
  std::span<const NodeSnapshot> nodes() const { return nodes_; }
  // The agent id of nodes()[i].
  const std::string& agent_id(size_t i) const { return entries_[eligible_[i]].agent->id; }

 private:
  struct Entry {
    const AgentRecord* agent = nullptr;  // std::map nodes do not move
    const NodeLoad* load = nullptr;      // TaskTable::node_load, never removed
    uint64_t session_number = 0;         // AgentRecord's, when nodes_ was copied
    SteadyTime ready_until{};            // Ready at least until then
  };

  void rebuild_entries(const AgentRegistry& agents, TaskTable& tasks);
  static bool is_ready(Entry& entry, const Liveness& liveness, SteadyTime now);

  std::vector<Entry> entries_;      // every agent of the registry, in id order
  std::vector<uint32_t> eligible_;  // indexes into entries_ of the nodes in nodes_
  std::vector<uint32_t> next_;      // scratch: this pass's eligible entries
  std::vector<NodeSnapshot> nodes_;
};

}  // namespace cube::broker
