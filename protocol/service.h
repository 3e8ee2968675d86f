// A service: `replicas` copies of one task template that the broker keeps running, named
// NAME.1 ... NAME.N (docs/services.md). The broker stores the service (broker/store.h) and its
// reconciler (broker/service_reconciler.h) makes and stops the tasks; each task carries its
// service's name, its slot and the template version it was made from (protocol/task.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/task.h"

namespace cube {

inline constexpr std::string_view kFailureActionPause = "pause";
inline constexpr std::string_view kFailureActionRollback = "rollback";
inline constexpr std::string_view kUpdateOrderStopFirst = "stop-first";
inline constexpr std::string_view kUpdateOrderStartFirst = "start-first";

// The most replicas one service may ask for: ten times what a 100-agent cluster of this
// project's benchmarks runs per service, and small enough that the reconciler's per-service
// pass (a walk over the service's tasks) stays in microseconds.
inline constexpr uint32_t kMaxReplicas = 10000;
// Service names: 1..63 bytes of [A-Za-z0-9_-], starting with a letter or digit (a DNS label's
// length; no '.', since task names are NAME.SLOT).
inline constexpr size_t kMaxServiceNameBytes = 63;

// Where a service's rollout is (Swarm's UpdateStatus.State): "" before the first update.
inline constexpr std::string_view kUpdateStateUpdating = "updating";
inline constexpr std::string_view kUpdateStatePaused = "paused";
inline constexpr std::string_view kUpdateStateCompleted = "completed";
inline constexpr std::string_view kUpdateStateRollbackStarted = "rollback_started";
inline constexpr std::string_view kUpdateStateRollbackPaused = "rollback_paused";
inline constexpr std::string_view kUpdateStateRollbackCompleted = "rollback_completed";

// True while a rollout replaces tasks: updating or rollback_started.
bool is_rolling(std::string_view update_state);

// How a change of the template is rolled out (Swarm's --update-* flags; docs/services.md).
struct UpdatePolicy {
  uint32_t parallelism = 1;  // slots replaced at a time (at least 1)
  int64_t delay_ms = 0;      // between steps
  std::string failure_action = std::string(kFailureActionPause);  // "pause" | "rollback"
  int64_t monitor_ms = 5000;  // how long a new task must stay Running (and healthy)
  std::string order = std::string(kUpdateOrderStopFirst);  // "stop-first" | "start-first"
  friend bool operator==(const UpdatePolicy&, const UpdatePolicy&) = default;
};

struct Service {
  std::string name;
  // What every replica runs: the TaskSpec fields (ID, Name and the service fields are set by
  // the broker for each task; the status fields are ignored).
  Task task_template;
  uint32_t replicas = 0;
  UpdatePolicy update;
  // Set by the broker: 1 at create, +1 on every change (scale, update).
  uint64_t version = 0;
  // The version at which the template last changed; every task made from it carries it.
  uint64_t template_version = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  // The template before the last change and its version, for a rollback; version 0 when the
  // template never changed.
  Task previous_template;
  uint64_t previous_template_version = 0;
  // The last rollout: one of the kUpdateState* values, why it is in it ("web.2 failed: ...",
  // "rollback of the update to version 4: web.1 failed: ..."), and when it began and ended.
  std::string update_state;
  std::string update_message;
  int64_t update_started_ms = 0;
  int64_t update_completed_ms = 0;
  friend bool operator==(const Service&, const Service&) = default;
};

// Invalid, naming the field, when: the name is not a service name (see kMaxServiceNameBytes);
// replicas is above kMaxReplicas; parallelism is 0; delay or monitor are negative; the failure
// action or order is none of the values above; the template fails validate_task_spec
// (prefixed "template: "), or sets an ID (each task gets its own) or a service field.
Status validate_service(const Service& service);

// Invalid, naming the field (UpdateConfig.Order ...), for the policy checks of
// validate_service.
Status validate_update_policy(const UpdatePolicy& policy);

// Invalid when `name` is not a service name; the message says what is allowed.
Status validate_service_name(std::string_view name);

// The template as the broker keeps it: driver resolved (effective_driver) and an empty
// RestartPolicy made "always" (a replica is restarted whatever ended it, as Swarm's default
// restart condition "any"); ID and Name cleared, status fields reset.
Task normalized_template(const Task& task_template);

// "web.3": the name of a service's task in `slot`.
std::string replica_name(std::string_view service, uint32_t slot);

}  // namespace cube
