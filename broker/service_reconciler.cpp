#include "broker/service_reconciler.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "broker/restart_policy.h"

namespace cube::broker {
namespace {

// Higher is further along: Running, then Scheduled, then Pending.
int progress(TaskState state) {
  switch (state) {
    case TaskState::Running:
      return 2;
    case TaskState::Scheduled:
      return 1;
    default:
      return 0;
  }
}

// Whether a slot whose newest task ended by itself in `ended` gets a new task.
bool policy_replaces(std::string_view restart_policy, TaskState ended) {
  std::optional<RestartMode> mode = restart_mode(restart_policy);
  if (!mode || *mode == RestartMode::Never)
    return false;
  return *mode == RestartMode::Always || ended == TaskState::Failed;
}

}  // namespace

bool is_live(const ReplicaTask& task) {
  return task.desired_state == TaskState::Running && !is_terminal(task.state);
}

ServicePlan reconcile_service(const Service& service, std::span<const ReplicaTask> tasks) {
  ServicePlan plan;
  // Per slot: the live tasks, and the newest task whatever its state.
  std::map<uint32_t, std::vector<const ReplicaTask*>> live;
  std::map<uint32_t, const ReplicaTask*> newest;
  std::vector<const ReplicaTask*> surplus;
  for (const ReplicaTask& task : tasks) {
    bool in_range = task.slot >= 1 && task.slot <= service.replicas;
    if (in_range) {
      const ReplicaTask*& n = newest[task.slot];
      if (n == nullptr || std::tie(task.created_ms, task.id) > std::tie(n->created_ms, n->id))
        n = &task;
    }
    if (!is_live(task))
      continue;
    if (in_range)
      live[task.slot].push_back(&task);
    else
      surplus.push_back(&task);
  }
  std::sort(surplus.begin(), surplus.end(), [](const ReplicaTask* a, const ReplicaTask* b) {
    return std::tie(b->slot, b->id) < std::tie(a->slot, a->id);
  });
  for (const ReplicaTask* task : surplus)
    plan.stop.push_back(task->id);

  for (uint32_t slot = 1; slot <= service.replicas; ++slot) {
    auto it = live.find(slot);
    if (it == live.end()) {
      auto n = newest.find(slot);
      bool ended_by_itself = n != newest.end() && n->second->desired_state == TaskState::Running;
      if (ended_by_itself &&
          !policy_replaces(service.task_template.restart_policy, n->second->state))
        continue;
      plan.create.push_back(slot);
      continue;
    }
    auto& candidates = it->second;
    std::sort(candidates.begin(), candidates.end(), [](const ReplicaTask* a, const ReplicaTask* b) {
      return std::make_tuple(progress(a->state), a->created_ms, a->id) >
             std::make_tuple(progress(b->state), b->created_ms, b->id);
    });
    ++plan.live;
    for (size_t i = 1; i < candidates.size(); ++i)
      plan.stop.push_back(candidates[i]->id);
  }
  return plan;
}

}  // namespace cube::broker
