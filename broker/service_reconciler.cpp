#include "broker/service_reconciler.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "broker/restart_policy.h"

namespace cube::broker {
namespace {

// Higher is further along: Running, then Scheduled, then Pending.
int progress_of(TaskState state) {
  switch (state) {
    case TaskState::Running:
      return 2;
    case TaskState::Scheduled:
      return 1;
    default:
      return 0;
  }
}

// Best first: furthest along, then the newest.
void sort_best_first(std::vector<const ReplicaTask*>& tasks) {
  std::sort(tasks.begin(), tasks.end(), [](const ReplicaTask* a, const ReplicaTask* b) {
    return std::make_tuple(progress_of(a->state), a->created_ms, a->id) >
           std::make_tuple(progress_of(b->state), b->created_ms, b->id);
  });
}

bool newer(const ReplicaTask& a, const ReplicaTask* b) {
  return b == nullptr || std::tie(a.created_ms, a.id) > std::tie(b->created_ms, b->id);
}

// Whether a slot whose newest task ended by itself in `ended` gets a new task.
bool policy_replaces(std::string_view restart_policy, TaskState ended) {
  std::optional<RestartMode> mode = restart_mode(restart_policy);
  if (!mode || *mode == RestartMode::Never)
    return false;
  return *mode == RestartMode::Always || ended == TaskState::Failed;
}

// Everything the reconciler sorts out about one slot 1..N.
struct Slot {
  std::vector<const ReplicaTask*> current;  // live, of the template version
  std::vector<const ReplicaTask*> old;      // live, of another version
  const ReplicaTask* newest = nullptr;      // whatever its state
  bool old_stopping = false;                // an old task asked to stop has not ended yet
};

std::string failure_message(const Service& service, const ReplicaTask& task) {
  std::string message = replica_name(service.name, task.slot) + " failed";
  if (!task.reason.empty())
    message += ": " + std::string(task.reason);
  return message;
}

void wake_at(ServicePlan& plan, int64_t at_ms) {
  if (plan.wake_at_ms == 0 || at_ms < plan.wake_at_ms)
    plan.wake_at_ms = at_ms;
}

}  // namespace

bool is_live(const ReplicaTask& task) {
  return task.desired_state == TaskState::Running && !is_terminal(task.state);
}

ServicePlan reconcile_service(const Service& service, std::span<const ReplicaTask> tasks,
                              const RolloutProgress& progress, int64_t now_ms) {
  ServicePlan plan;
  const bool rolling = is_rolling(service.update_state);
  const uint64_t version = service.template_version;
  const UpdatePolicy& policy = service.update;
  const bool stop_first = policy.order != kUpdateOrderStartFirst;

  std::map<uint32_t, Slot> slots;
  std::vector<const ReplicaTask*> surplus;
  for (const ReplicaTask& task : tasks) {
    bool in_range = task.slot >= 1 && task.slot <= service.replicas;
    if (!in_range) {
      if (is_live(task))
        surplus.push_back(&task);
      continue;
    }
    Slot& slot = slots[task.slot];
    if (newer(task, slot.newest))
      slot.newest = &task;
    if (is_live(task))
      (task.version == version ? slot.current : slot.old).push_back(&task);
    else if (task.version != version && !is_terminal(task.state))
      slot.old_stopping = true;
  }
  std::sort(surplus.begin(), surplus.end(), [](const ReplicaTask* a, const ReplicaTask* b) {
    return std::tie(b->slot, b->id) < std::tie(a->slot, a->id);
  });
  for (const ReplicaTask* task : surplus)
    plan.stop.push_back(task->id);

  const bool progress_applies = progress.template_version == version;
  uint32_t in_flight = 0;
  std::vector<uint32_t> to_roll;  // slots holding only an old task, ascending
  for (uint32_t number = 1; number <= service.replicas; ++number) {
    Slot& slot = slots[number];
    sort_best_first(slot.current);
    sort_best_first(slot.old);
    if (!slot.current.empty()) {
      ++plan.live;
      const ReplicaTask& best = *slot.current.front();
      for (size_t i = 1; i < slot.current.size(); ++i)
        plan.stop.push_back(slot.current[i]->id);
      bool passed = progress_applies && progress.done.count(number) > 0;
      if (!passed && best.state == TaskState::Running && best.start_time_ms > 0) {
        if (now_ms - best.start_time_ms >= policy.monitor_ms) {
          passed = true;
          if (rolling)
            plan.done.push_back(number);
        } else if (rolling || !slot.old.empty()) {
          wake_at(plan, best.start_time_ms + policy.monitor_ms);
        }
      }
      if (passed) {
        for (const ReplicaTask* old : slot.old)
          plan.stop.push_back(old->id);
        continue;
      }
      ++in_flight;
      if (rolling && best.restart_count > 0 && !plan.failure)
        plan.failure = RolloutFailure{number, failure_message(service, best)};
      for (size_t i = 1; i < slot.old.size(); ++i)  // the best old one serves meanwhile
        plan.stop.push_back(slot.old[i]->id);
      continue;
    }
    if (!slot.old.empty()) {
      ++plan.live;
      for (size_t i = 1; i < slot.old.size(); ++i)
        plan.stop.push_back(slot.old[i]->id);
      if (rolling)
        to_roll.push_back(number);
      continue;
    }
    if (slot.old_stopping && stop_first) {
      ++in_flight;  // the new task follows once the old one ended
      continue;
    }
    const ReplicaTask* n = slot.newest;
    bool ended_by_itself = n != nullptr && n->desired_state == TaskState::Running;
    if (ended_by_itself && !policy_replaces(service.task_template.restart_policy, n->state)) {
      bool failed_new_task = n->version == version && n->state == TaskState::Failed &&
                             !(progress_applies && progress.done.count(number) > 0);
      if (rolling && failed_new_task && !plan.failure)
        plan.failure = RolloutFailure{number, failure_message(service, *n)};
      continue;
    }
    plan.create.push_back(number);
    ++in_flight;
  }

  if (!rolling)
    return plan;
  int64_t last_done_ms = !plan.done.empty() ? now_ms : progress_applies ? progress.last_done_ms : 0;
  if (plan.failure)
    return plan;  // the service loop pauses or rolls back: nothing more starts
  bool delay_over = last_done_ms == 0 || now_ms >= last_done_ms + policy.delay_ms;
  if (!delay_over && !to_roll.empty())
    wake_at(plan, last_done_ms + policy.delay_ms);
  if (delay_over) {
    for (uint32_t number : to_roll) {
      if (in_flight >= policy.parallelism)
        break;
      ++in_flight;
      if (stop_first)
        plan.stop.push_back(slots[number].old.front()->id);
      else
        plan.create.push_back(number);
    }
    std::sort(plan.create.begin(), plan.create.end());
  }
  plan.rollout_finished = in_flight == 0 && to_roll.empty();
  return plan;
}

}  // namespace cube::broker
