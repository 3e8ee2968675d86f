// The service reconciler: what must change so that a service has exactly `replicas` tasks
// Running or on their way, one per slot 1..N, and how far a rolling update may go in this
// pass. A pure function of the service, its tasks, the rollout's progress and the time (as
// Nomad's scheduler/reconcile.go): no I/O; broker/service_loop.h applies the plan (makes the
// tasks, stops the others, records the rollout's state).
//
// A task is *live* while the broker means it to run (desired state Running) and it has not
// ended (Pending, Scheduled or Running; a task the lifecycle is restarting stays Scheduled, so
// restarts and node-loss reschedules by broker/task_lifecycle.h keep their slot and task).
// A task is *current* when it was made from the service's template_version, else *old*.
//   - slot s in 1..N with live tasks: the best current one is kept (furthest along: Running,
//     then Scheduled, then Pending; then the newest), other current ones are stopped. An old
//     live task beside it stays until the current one passed its monitor period (start-first
//     overlap), then it is stopped. With no current task, the best old one is kept (the others
//     stopped) until the rollout reaches the slot.
//   - slot s with no live task: a new current task, unless the slot's newest task ended by
//     itself (desired state still Running) and the template's restart policy would not restart
//     it ("no" never, "on-failure" not after a Completed), or an old task of the slot is still
//     stopping under stop-first (so the new one cannot clash with its ports).
//   - live tasks above slot N (or with no slot): stopped, highest slot first.
//
// A rollout runs while the service's update_state is_rolling(). A current task *passes* its
// monitor period once it has been Running for `monitor_ms` (unhealthy tasks are failed by
// their agent, so Running that long means healthy for that long); its slot is then done. A
// slot is *in flight* while its current task has not passed yet (or its old task is still
// stopping under stop-first). Each pass starts at most `parallelism` minus in flight slots,
// lowest first, `delay_ms` after the last slot was done: start-first makes the new task beside
// the old one, stop-first stops the old one (the new one follows once it ended). A current
// task that failed before passing (restarted by its policy, or ended Failed for good) is the
// rollout's failure; the service loop applies the failure action. The rollout is done when no
// slot is in flight and none is left to start.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/service.h"

namespace cube::broker {

// What the reconciler reads of one task of the service.
struct ReplicaTask {
  std::string_view id;
  uint32_t slot = 0;
  TaskState state = TaskState::Pending;
  TaskState desired_state = TaskState::Running;
  int64_t created_ms = 0;
  uint64_t version = 0;  // the template version it was made from (Task::service_version)
  int32_t restart_count = 0;
  int64_t start_time_ms = 0;  // when its current attempt started running; 0 before
  std::string_view reason;
};

// What a rollout has achieved so far: kept by the service table between passes, never stored
// (after a broker restart the slots pass again by their tasks' start times).
struct RolloutProgress {
  uint64_t template_version = 0;  // the version `done` is about; another one counts as empty
  std::set<uint32_t> done;        // slots whose current task passed its monitor period
  int64_t last_done_ms = 0;       // when the last slot was done: the delay counts from there
};

struct RolloutFailure {
  uint32_t slot = 0;
  std::string message;  // "web.2 failed: <the task's reason>"
  friend bool operator==(const RolloutFailure&, const RolloutFailure&) = default;
};

struct ServicePlan {
  std::vector<uint32_t> create;        // slots that get a new task, ascending
  std::vector<std::string_view> stop;  // tasks to stop: surplus slots highest first, then
                                       // duplicates and replaced old tasks (views into the input)
  uint32_t live = 0;                   // slots 1..N holding a live task
  // The rollout (only while is_rolling(update_state)):
  std::vector<uint32_t> done;             // slots whose task passed its monitor in this pass
  std::optional<RolloutFailure> failure;  // the first slot whose new task failed
  bool rollout_finished = false;          // nothing in flight and nothing left to start
  int64_t wake_at_ms = 0;  // when a monitor period or the delay ends (0: nothing timed)
  friend bool operator==(const ServicePlan&, const ServicePlan&) = default;
};

// True while the broker means the task to run and it has not ended.
bool is_live(const ReplicaTask& task);

// The plan for `service` given every task made for it (any order), the rollout's progress and
// the wall time in Unix ms. Pure; never blocks.
ServicePlan reconcile_service(const Service& service, std::span<const ReplicaTask> tasks,
                              const RolloutProgress& progress, int64_t now_ms);

}  // namespace cube::broker
