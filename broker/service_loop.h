// The service loop: runs the reconciler (broker/service_reconciler.h) over every service and
// applies its plans to the broker's state: new tasks NAME.SLOT made from the template (Pending;
// the scheduling pass places them, spread over nodes: broker/plan_apply.h), surplus, duplicate
// and replaced tasks stopped through the lifecycle (STOPs go out through the outbox). Tasks of
// a service that no longer exists (removed; or loaded from a store whose removal landed
// without the stops) are stopped and their index dropped.
//
// Rollouts: it keeps each rolling service's progress (ServiceTable::rollout) and moves its
// update_state, stored with the next commit: a finished rollout to completed (or
// rollback_completed); a failure under failure action "pause" to paused (rollback_paused
// when a rollback failed), under "rollback" to rollback_started with the previous template
// back in place. It sets state.services_wake_at to the next monitor period or delay end.
//
// Called by the broker loop before a scheduling pass whenever a service or a service's task
// changed, and at services_wake_at. A walk visits the tasks of the services that changed (put or
// removed in the ServiceTable, or one of their tasks changed in the TaskTable) since the last
// walk, or of every service when asked to (after loading the store, and at services_wake_at);
// nothing blocks.
//
// Thread-safety: broker loop thread.
#pragma once

#include <cstddef>

#include "broker/broker_state.h"
#include "broker/service_reconciler.h"

namespace cube::broker {

struct ServiceLoopResult {
  size_t created = 0;  // tasks made
  size_t stopped = 0;  // tasks stopped
};

enum class ServiceWalk { Changed, Every };

// Counted in STATUS as "services.tasks_created" and "services.tasks_stopped".
ServiceLoopResult reconcile_services(BrokerState& state, ServiceWalk walk = ServiceWalk::Changed);

// Makes `template_task` the service's template under a new version (service.version + 1) and
// starts rolling it out (update state "updating"): the previous template is kept for a
// rollback. `why` becomes the update message. Does not put the service anywhere.
void start_rollout(Service& service, Task template_task, std::string why, int64_t now_ms);

// Swaps the service's template with its previous one (versions too: the tasks still running
// the previous template are kept) under a new service version, and starts rolling back.
// The caller checked that there is a previous template (previous_template_version != 0).
void roll_back(Service& service, std::string why, int64_t now_ms);

// What a service's tasks are doing now, for LIST and INSPECT replies.
protocol::ServiceInfo service_info(const BrokerState& state, const Service& service);

}  // namespace cube::broker
