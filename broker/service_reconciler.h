// The service reconciler: what must change so that a service has exactly `replicas` tasks
// Running or on their way, one per slot 1..N. A pure function of the service and its tasks
// (as Nomad's scheduler/reconcile.go): no clock, no I/O; broker/service_loop.h applies the
// plan (makes the tasks, stops the others).
//
// A task is *live* while the broker means it to run (desired state Running) and it has not
// ended (Pending, Scheduled or Running; a task the lifecycle is restarting stays Scheduled, so
// restarts and node-loss reschedules by broker/task_lifecycle.h keep their slot and task).
//   - slot s in 1..N with one live task: kept.
//   - slot s with several live tasks (two brokers' worth of history, a restore): the one
//     furthest along (Running, then Scheduled, then Pending), then the newest, is kept; the
//     others are stopped.
//   - slot s with no live task: a new task, unless the slot's newest task ended by itself
//     (desired state still Running) and the template's restart policy would not restart it:
//     "no" never, "on-failure" not after a Completed. A task a user stopped is replaced.
//   - live tasks above slot N (or with no slot): stopped, highest slot first.
// Tasks of an older template version are kept like current ones (rolling updates are not done
// yet: docs/services.md).
#pragma once

#include <cstdint>
#include <span>
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
};

struct ServicePlan {
  std::vector<uint32_t> create;        // slots that get a new task, ascending
  std::vector<std::string_view> stop;  // tasks to stop: surplus slots highest first, then
                                       // duplicates (views into the input)
  uint32_t live = 0;                   // live tasks kept in slots 1..N
  friend bool operator==(const ServicePlan&, const ServicePlan&) = default;
};

// True while the broker means the task to run and it has not ended.
bool is_live(const ReplicaTask& task);

// The plan for `service` given every task made for it (any order). Pure; never blocks.
ServicePlan reconcile_service(const Service& service, std::span<const ReplicaTask> tasks);

}  // namespace cube::broker
