// The service loop: runs the reconciler (broker/service_reconciler.h) over every service and
// applies its plans to the broker's state: new tasks NAME.SLOT made from the template (Pending;
// the scheduling pass places them, spread over nodes: broker/plan_apply.h), surplus and
// duplicate tasks stopped through the lifecycle (STOPs go out through the outbox). Tasks of a
// service that no longer exists (removed; or loaded from a store whose removal landed without
// the stops) are stopped and their index dropped.
//
// Called by the broker loop before a scheduling pass whenever a service or a task changed.
// Costs a walk over every service's tasks; nothing blocks.
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

// Counted in STATUS as "services.tasks_created" and "services.tasks_stopped".
ServiceLoopResult reconcile_services(BrokerState& state);

// What a service's tasks are doing now, for LIST and INSPECT replies.
protocol::ServiceInfo service_info(const BrokerState& state, const Service& service);

}  // namespace cube::broker
