// plan_apply: one scheduling pass. Builds the scheduler's view (broker/scheduler.h) from the
// broker's state, calls the pure schedule(), and applies the plan: for each placement it
// re-checks the agent's credit, bumps the task's attempt, moves it to Scheduled on that node,
// records the unanswered assignment with its deadline and emits an ASSIGN. Tasks that fit
// nowhere keep their state with the plan's reason (Pending: the reason itself; a task taken back
// from an agent stays Scheduled with "waiting for a node: <reason>"); refreshing an unchanged
// reason writes nothing.
//
// Placement hints (broker/placement_hints.h, from restarts): a held task is skipped until its
// hold ends; a task preferring a node that is ready may only go there; a task avoiding a node
// may go anywhere else. Both are expressed to the scheduler as a constraint on the node label
// kNodeIdLabel, which each node carries in the scheduler's view only. A placed task's hint is
// erased.
//
// Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "broker/agent_command.h"
#include "broker/agent_registry.h"
#include "broker/liveness.h"
#include "broker/placement_hints.h"
#include "broker/scheduler.h"
#include "broker/scheduler_view.h"
#include "broker/service_table.h"
#include "broker/task_table.h"
#include "common/clock.h"

namespace cube::broker {

// Tasks considered per pass, from the head of the placement queue. Bounds the pass to
// (this x ready nodes) feasibility checks; tasks further back keep their previous reason until
// a pass reaches them.
inline constexpr size_t kMaxTasksPerPass = 4096;

// The label every node has in the scheduler's view (its agent id), for placement hints.
inline constexpr std::string_view kNodeIdLabel = "cube.node.id";

struct PlanApplyInput {
  Policy policy = Policy::Binpack;
  size_t cursor = 0;  // roundrobin's and the spread groups' position from the previous pass
  Millis assign_timeout{5000};
  size_t max_tasks = kMaxTasksPerPass;
  SteadyTime now;   // for assignment deadlines and liveness
  SystemTime wall;  // for task history
  // Restart holds and node preferences; nullptr: none. Placed tasks' hints are erased.
  PlacementHints* hints = nullptr;
  // The nodes kept from the previous pass (broker/scheduler_view.h); nullptr: built afresh.
  // The same registry, liveness and table must be passed with it every time.
  SchedulerView* view = nullptr;
  // The services (broker/service_table.h); nullptr: service tasks are placed like any other.
  // With it, the tasks of each service form a spread group (broker/scheduler.h): each goes to
  // a node that fits it holding the fewest of the service's live tasks (so one per node while
  // there are enough nodes, then evenly), unless the task has a placement hint.
  const ServiceTable* services = nullptr;
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
