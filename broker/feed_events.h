// The feed's events (protocol/messages.h FeedEvent) made from the broker's own changes: a task's
// state change, a node's, a service's. Pure functions; the broker state calls them where the
// change is made and queues the result in the outbox (broker/event_feed.h says why).
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "common/clock.h"
#include "protocol/messages.h"
#include "protocol/service.h"
#include "protocol/task.h"

namespace cube::broker {

// `task` as it is after the change; `from` its state before (nullopt: it was just submitted).
protocol::FeedEvent task_feed_event(const Task& task, std::optional<TaskState> from,
                                    SystemTime now);

// Node `name` went from `previous` ("" when it just joined) to `state` ("ready", "lost"...).
protocol::FeedEvent node_feed_event(std::string_view name, std::string_view state,
                                    std::string_view previous, SystemTime now);

// A service changed from `before` to `after` (nullptr: it did not exist / it was removed). The
// action is created, removed, the rollout's end (rollout_paused, rollout_completed,
// rolled_back) when update_state changed to one, scaled when only replicas changed, updated
// otherwise. nullopt when nothing the feed reports changed (both equal).
std::optional<protocol::FeedEvent> service_feed_event(const Service* before, const Service* after,
                                                      SystemTime now);

// A rollout of `service` replaced slot `slot` (its new task passed the monitor period); `done`
// slots of `service.replicas` are replaced so far. Action rollout_step.
protocol::FeedEvent rollout_step_event(const Service& service, uint32_t slot, size_t done,
                                       SystemTime now);

}  // namespace cube::broker
