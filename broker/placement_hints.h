// PlacementHints: per-task conditions on the next placement, set by the lifecycle when it
// restarts or reschedules a task (broker/restart_policy.h) and honoured by plan_apply:
//
//   hold until T   restart backoff: the task waits in the placement queue but is not placed
//                  before T. The broker loop wakes at next_release() (a poll deadline).
//   prefer node    a restart goes back to the node it ran on while that node is ready (its
//                  image and data are there); when the node is not ready, any node will do.
//   avoid node     an `always` task that used up its restarts is placed on any node but this.
//
// A hint lives until the task is placed (plan_apply erases it) or the lifecycle drops it (the
// task was stopped). Not persisted: after a broker restart, tasks waiting in the queue are
// placed without their hints (at once, on any node).
//
// Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace cube::broker {

struct PlacementHint {
  std::optional<SteadyTime> hold_until;
  std::string prefer_node;  // agent id
  std::string avoid_node;   // agent id
};

class PlacementHints {
 public:
  // Replaces the hint of `task_id`.
  void set(const std::string& task_id, PlacementHint hint);
  // nullptr when the task has none.
  const PlacementHint* find(std::string_view task_id) const;
  // Removes the task's hint (no-op when none).
  void erase(std::string_view task_id);

  // True while the task is held (its hold_until is after `now`).
  bool is_held(std::string_view task_id, SteadyTime now) const;
  // How many tasks have a hold, released or not yet: plan_apply looks this much further into
  // the placement queue so held tasks cannot use up its window.
  size_t held_count() const { return holds_.size(); }
  // The earliest hold still to be released; nullopt when none.
  std::optional<SteadyTime> next_release() const;
  // Ends every hold due at or before `now` (the rest of each hint stays) and returns those
  // tasks' IDs, earliest first.
  std::vector<std::string> release_due(SteadyTime now);

  bool empty() const { return hints_.empty(); }
  size_t size() const { return hints_.size(); }

 private:
  std::map<std::string, PlacementHint, std::less<>> hints_;
  std::set<std::pair<SteadyTime, std::string>> holds_;  // (hold_until, task id)
};

}  // namespace cube::broker
