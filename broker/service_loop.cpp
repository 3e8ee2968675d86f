#include "broker/service_loop.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "broker/feed_events.h"
#include "common/check.h"
#include "common/ids.h"

namespace cube::broker {
namespace {

std::vector<ReplicaTask> replica_tasks(const BrokerState& state, const std::string& service) {
  std::vector<ReplicaTask> out;
  for (const std::string& id : state.services.task_ids(service)) {
    const TaskRecord* record = state.tasks.find(id);
    if (record == nullptr)
      continue;
    const Task& t = record->task;
    out.push_back({t.id, t.slot, t.state, t.desired_state, t.created_ms, t.service_version,
                   t.restart_count, t.start_time_ms, t.reason});
  }
  return out;
}

// Makes the task of `service` for `slot`, Pending.
void create_replica(BrokerState& state, const Service& service, uint32_t slot, SystemTime wall) {
  Task task = service.task_template;
  task.id = new_uuid_v7(wall);
  task.name = replica_name(service.name, slot);
  task.service = service.name;
  task.slot = slot;
  task.service_version = service.template_version;
  task.state = TaskState::Pending;
  task.desired_state = TaskState::Running;
  task.created_ms = to_unix_ms(wall);
  std::string id = task.id;
  auto added = state.tasks.add(std::move(task), wall);
  CUBE_CHECK(added.is_ok()) << "a fresh UUIDv7 is not in the table: " << added.status().message();
  state.services.add_task(service.name, std::move(id));
  state.schedule_needed = true;
}

bool stop(BrokerState& state, std::string_view task_id, SystemTime wall) {
  Status s = state.lifecycle.stop_task(task_id, wall, state.commands);
  if (!s.is_ok()) {
    spdlog::warn("service loop: cannot stop task {}: {}", task_id, s.message());
    return false;
  }
  state.schedule_needed = true;
  return true;
}

// The service after a pass of its rollout, when the pass ended it: finished, or failed and
// paused or turned into a rollback. nullopt while it goes on (or when it is not rolling).
std::optional<Service> rollout_outcome(const Service& service, const ServicePlan& plan,
                                       int64_t now_ms) {
  if (!is_rolling(service.update_state))
    return std::nullopt;
  bool rolling_back = service.update_state == kUpdateStateRollbackStarted;
  Service next = service;
  if (plan.failure) {
    if (!rolling_back && service.update.failure_action == kFailureActionRollback &&
        service.previous_template_version != 0) {
      std::string why = plan.failure->message + "; rolling back to version " +
                        std::to_string(service.previous_template_version);
      roll_back(next, std::move(why), now_ms);
      return next;
    }
    next.update_state = rolling_back ? kUpdateStateRollbackPaused : kUpdateStatePaused;
    next.update_message = plan.failure->message;
  } else if (plan.rollout_finished) {
    next.update_state = rolling_back ? kUpdateStateRollbackCompleted : kUpdateStateCompleted;
  } else {
    return std::nullopt;
  }
  next.update_completed_ms = now_ms;
  return next;
}

}  // namespace

namespace {

// What every rollout's start records: a new service version and the rollout's state.
void begin_rollout(Service& service, std::string_view state, std::string why, int64_t now_ms) {
  ++service.version;
  service.update_state = std::string(state);
  service.update_message = std::move(why);
  service.update_started_ms = now_ms;
  service.update_completed_ms = 0;
  service.updated_ms = now_ms;
}

}  // namespace

void start_rollout(Service& service, Task template_task, std::string why, int64_t now_ms) {
  service.previous_template = std::move(service.task_template);
  service.previous_template_version = service.template_version;
  service.task_template = std::move(template_task);
  begin_rollout(service, kUpdateStateUpdating, std::move(why), now_ms);
  service.template_version = service.version;
}

void roll_back(Service& service, std::string why, int64_t now_ms) {
  std::swap(service.task_template, service.previous_template);
  std::swap(service.template_version, service.previous_template_version);
  begin_rollout(service, kUpdateStateRollbackStarted, std::move(why), now_ms);
}

namespace {

// One walk over every service. `again` when what it did may let another walk do more: a stop
// can end a task at once (one not placed on a node yet, such as a replica waiting out a restart
// backoff), which frees its slot; a rollout outcome changes the template.
struct Round {
  ServiceLoopResult result;
  bool again = false;
};

// The services a walk visits, by name (drains both tables' lists of changes): every one, or
// those put or removed, and those with a task that ended or is to be stopped, and the rolling
// ones with a task that changed at all (a new task going Running lets a rollout go on).
std::vector<std::string> services_to_walk(BrokerState& state, ServiceWalk walk) {
  std::map<std::string, bool, std::less<>> tasks_changed = state.tasks.take_changed_services();
  std::set<std::string, std::less<>> changed = state.services.take_changed();
  std::vector<std::string> out;
  if (walk == ServiceWalk::Every) {
    for (const auto& [name, service] : state.services.services())
      out.push_back(name);
    return out;
  }
  for (auto& [name, task_ended] : tasks_changed) {
    const Service* service = state.services.find(name);
    if (task_ended || changed.contains(name) ||
        (service != nullptr && is_rolling(service->update_state)))
      changed.insert(name);
  }
  for (auto it = changed.begin(); it != changed.end();)
    out.push_back(std::move(changed.extract(it++).value()));
  return out;
}

Round reconcile_round(BrokerState& state, ServiceWalk walk) {
  ServiceLoopResult result;
  SystemTime wall = state.clock.wall();
  int64_t now_ms = to_unix_ms(wall);
  int64_t wake_at_ms = 0;
  std::vector<Service> changed;  // put after the walk
  const RolloutProgress kNoProgress;
  for (const std::string& name : services_to_walk(state, walk)) {
    const Service* found = state.services.find(name);
    if (found == nullptr)
      continue;  // removed: its tasks are orphans (below)
    const Service& service = *found;
    std::vector<ReplicaTask> tasks = replica_tasks(state, name);
    bool rolling = is_rolling(service.update_state);
    RolloutProgress* progress = rolling ? &state.services.rollout(name) : nullptr;
    if (progress != nullptr && progress->template_version != service.template_version)
      *progress = RolloutProgress{service.template_version, {}, 0};
    ServicePlan plan =
        reconcile_service(service, tasks, progress ? *progress : kNoProgress, now_ms);
    for (std::string_view id : plan.stop)
      result.stopped += stop(state, id, wall);
    for (uint32_t slot : plan.create) {
      create_replica(state, service, slot, wall);
      ++result.created;
    }
    if (plan.wake_at_ms != 0 && (wake_at_ms == 0 || plan.wake_at_ms < wake_at_ms))
      wake_at_ms = plan.wake_at_ms;
    if (progress != nullptr && !plan.done.empty()) {
      for (uint32_t slot : plan.done) {
        if (progress->done.insert(slot).second) {
          state.outbox.push_event(rollout_step_event(service, slot, progress->done.size(), wall));
        }
      }
      progress->last_done_ms = now_ms;
    }
    if (auto next = rollout_outcome(service, plan, now_ms)) {
      state.services.end_rollout(name);
      changed.push_back(std::move(*next));
    }
  }
  for (Service& service : changed) {
    spdlog::info("service {}: update {}{}", service.name, service.update_state,
                 service.update_message.empty() ? "" : ": " + service.update_message);
    bump(state.counters, "services.update." + service.update_state);
    state.services.put(std::move(service));
  }
  // A walk of some services keeps the others' wake-up; one of every service sets it afresh.
  if (walk == ServiceWalk::Every)
    state.services_wake_at.reset();
  if (wake_at_ms != 0) {
    SteadyTime at = state.clock.now() + Millis(std::max<int64_t>(0, wake_at_ms - now_ms));
    state.services_wake_at = std::min(state.services_wake_at.value_or(at), at);
  }
  for (const std::string& name : state.services.orphans()) {
    for (const ReplicaTask& task : replica_tasks(state, name)) {
      if (is_live(task))
        result.stopped += stop(state, task.id, wall);
    }
    state.services.forget_tasks(name);
  }
  return {result, result.stopped > 0 || !changed.empty()};
}

}  // namespace

ServiceLoopResult reconcile_services(BrokerState& state, ServiceWalk walk) {
  // Bounded: a round that stops tasks leaves them not live, so the next one stops nothing
  // more; two or three rounds settle every case met so far. Later rounds walk what the
  // previous one changed.
  constexpr int kMaxRounds = 4;
  ServiceLoopResult total;
  for (int round = 0; round < kMaxRounds; ++round) {
    Round r = reconcile_round(state, round == 0 ? walk : ServiceWalk::Changed);
    total.created += r.result.created;
    total.stopped += r.result.stopped;
    if (!r.again)
      break;
  }
  if (total.created > 0)
    bump(state.counters, "services.tasks_created", total.created);
  if (total.stopped > 0)
    bump(state.counters, "services.tasks_stopped", total.stopped);
  state.queue_commands();
  return total;
}

protocol::ServiceInfo service_info(const BrokerState& state, const Service& service) {
  protocol::ServiceInfo info{service, 0, 0};
  for (const std::string& id : state.services.task_ids(service.name)) {
    const TaskRecord* record = state.tasks.find(id);
    if (record == nullptr || is_terminal(record->task.state))
      continue;
    ++info.tasks;
    if (record->task.state == TaskState::Running &&
        record->task.service_version == service.template_version)
      ++info.running;
  }
  return info;
}

}  // namespace cube::broker
