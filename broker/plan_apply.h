// plan_apply: one scheduling pass. Builds the scheduler's view (broker/scheduler.h) from the
// broker's state, calls the pure schedule(), and applies the plan: for each placement it
// re-checks the agent's credit, bumps the task's attempt, moves it to Scheduled on that node,
// records the unanswered assignment with its deadline and emits an ASSIGN. Tasks that fit
// nowhere keep their state with the plan's reason (Pending: the reason itself; a task taken back
// from an agent stays Scheduled with "waiting for a node: <reason>"); refreshing an unchanged
// reason writes nothing.
//
// Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <cstddef>
#include <vector>

#include "broker/agent_command.h"
#include "broker/agent_registry.h"
#include "broker/liveness.h"
#include "broker/scheduler.h"
#include "broker/task_table.h"
#include "common/clock.h"

namespace cube::broker {

// Tasks considered per pass, from the head of the placement queue. Bounds the pass to
// (this x ready nodes) feasibility checks; tasks further back keep their previous reason until
// a pass reaches them.
inline constexpr size_t kMaxTasksPerPass = 4096;

struct PlanApplyInput {
  Policy policy = Policy::Binpack;
  size_t cursor = 0;  // roundrobin's position from the previous pass
  Millis assign_timeout{5000};
  size_t max_tasks = kMaxTasksPerPass;
  SteadyTime now;   // for assignment deadlines and liveness
  SystemTime wall;  // for task history
};

struct PlanApplyResult {
  size_t placed = 0;
  size_t unplaced = 0;
  // Placements dropped because the agent's credit was gone when re-checked (a scheduler bug if
  // it ever happens: the plan is built from the same credit).
  size_t credit_refused = 0;
  size_t next_cursor = 0;  // pass to the next call
};

// Nodes offered to the scheduler: Welcomed agents that liveness says are Ready (not suspect).
// Never sends an agent more ASSIGNs than its credit. Appends one ASSIGN per placement to `out`.
PlanApplyResult plan_and_apply(TaskTable& tasks, AgentRegistry& agents, const Liveness& liveness,
                               const PlanApplyInput& input, std::vector<AgentCommand>& out);

}  // namespace cube::broker
