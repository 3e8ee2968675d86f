#include "broker/feed_events.h"

#include <string>

namespace cube::broker {

protocol::FeedEvent task_feed_event(const Task& task, std::optional<TaskState> from,
                                    SystemTime now) {
  protocol::FeedEvent e;
  e.type = "task";
  e.time_ms = to_unix_ms(now);
  e.id = task.id;
  e.name = task.name;
  e.state = std::string(task_state_name(task.state));
  if (from)
    e.previous_state = std::string(task_state_name(*from));
  e.node = task.node;
  e.reason = task.reason;
  e.service = task.service;
  e.slot = task.slot;
  return e;
}

protocol::FeedEvent node_feed_event(std::string_view name, std::string_view state,
                                    std::string_view previous, SystemTime now) {
  protocol::FeedEvent e;
  e.type = "node";
  e.time_ms = to_unix_ms(now);
  e.name = std::string(name);
  e.state = std::string(state);
  e.previous_state = std::string(previous);
  return e;
}

namespace {

// The action a rollout's new update_state reports; "" for one that reports none of its own.
std::string_view rollout_action(std::string_view update_state) {
  if (update_state == kUpdateStatePaused || update_state == kUpdateStateRollbackPaused)
    return "rollout_paused";
  if (update_state == kUpdateStateCompleted)
    return "rollout_completed";
  if (update_state == kUpdateStateRollbackCompleted)
    return "rolled_back";
  return "";
}

}  // namespace

std::optional<protocol::FeedEvent> service_feed_event(const Service* before, const Service* after,
                                                      SystemTime now) {
  if (before != nullptr && after != nullptr && *before == *after)
    return std::nullopt;
  const Service& service = after != nullptr ? *after : *before;
  protocol::FeedEvent e;
  e.type = "service";
  e.time_ms = to_unix_ms(now);
  e.name = service.name;
  e.version = service.version;
  if (before == nullptr) {
    e.state = "created";
  } else if (after == nullptr) {
    e.state = "removed";
  } else if (after->update_state != before->update_state &&
             !rollout_action(after->update_state).empty()) {
    e.state = std::string(rollout_action(after->update_state));
    e.reason = after->update_message;
  } else if (after->replicas != before->replicas && after->task_template == before->task_template) {
    e.state = "scaled";
    e.reason = std::to_string(before->replicas) + " -> " + std::to_string(after->replicas);
  } else {
    e.state = "updated";
    e.reason = after->update_message;
  }
  return e;
}

protocol::FeedEvent rollout_step_event(const Service& service, uint32_t slot, size_t done,
                                       SystemTime now) {
  protocol::FeedEvent e;
  e.type = "service";
  e.time_ms = to_unix_ms(now);
  e.name = service.name;
  e.version = service.version;
  e.state = "rollout_step";
  e.reason = "slot " + std::to_string(slot) + " replaced (" + std::to_string(done) + " of " +
             std::to_string(service.replicas) + ")";
  return e;
}

}  // namespace cube::broker
