#include "agent/task_tracker.h"

#include "common/check.h"

namespace cube::agent {

std::string_view attempt_phase_name(AttemptPhase phase) {
  switch (phase) {
    case AttemptPhase::Starting:
      return "starting";
    case AttemptPhase::Running:
      return "running";
    case AttemptPhase::Stopping:
      return "stopping";
    case AttemptPhase::Finished:
      return "finished";
  }
  return "unknown";
}

TaskTracker::TaskTracker(uint32_t slots, size_t max_finished, Millis finished_ttl)
    : slots_(slots), max_finished_(max_finished), finished_ttl_(finished_ttl) {}

TaskTracker::Admission TaskTracker::admit(const std::string& task_id, uint32_t attempt) {
  Key key{task_id, attempt};
  if (attempts_.contains(key))
    return Admission::Duplicate;
  if (find_active(task_id, 0) != nullptr)
    return Admission::OtherAttemptActive;
  if (free_slots() == 0)
    return Admission::NoFreeSlot;
  TrackedAttempt a;
  a.task_id = task_id;
  a.attempt = attempt;
  a.phase = AttemptPhase::Starting;
  a.status.task_id = task_id;
  a.status.attempt = attempt;
  a.status.state = TaskState::Scheduled;
  attempts_.emplace(std::move(key), std::move(a));
  ++active_;
  return Admission::Admitted;
}

bool TaskTracker::adopt(const TaskStatus& status, SteadyTime now) {
  Key key{status.task_id, status.attempt};
  if (attempts_.contains(key))
    return false;
  TrackedAttempt a;
  a.task_id = status.task_id;
  a.attempt = status.attempt;
  a.status = status;
  bool finished = is_terminal(status.state);
  a.phase = finished ? AttemptPhase::Finished : AttemptPhase::Running;
  a.finished_at = now;
  attempts_.emplace(key, std::move(a));
  if (finished) {
    finished_order_.push_back(std::move(key));
    if (finished_order_.size() > max_finished_)
      forget_oldest_finished();
  } else {
    ++active_;
  }
  return true;
}

TrackedAttempt* TaskTracker::find(const std::string& task_id, uint32_t attempt) {
  auto it = attempts_.find(Key{task_id, attempt});
  return it == attempts_.end() ? nullptr : &it->second;
}

TrackedAttempt* TaskTracker::find_active(const std::string& task_id, uint32_t attempt) {
  // The attempts of one task are adjacent in the map, ordered by attempt number.
  for (auto it = attempts_.lower_bound(Key{task_id, 0});
       it != attempts_.end() && it->first.first == task_id; ++it) {
    TrackedAttempt& a = it->second;
    if (a.phase != AttemptPhase::Finished && (attempt == 0 || a.attempt == attempt))
      return &a;
  }
  return nullptr;
}

void TaskTracker::mark_running(TrackedAttempt& a, TaskStatus status) {
  CUBE_CHECK(a.phase != AttemptPhase::Finished)
      << "the loop only reports Running for an attempt it has not finished";
  a.phase = AttemptPhase::Running;
  a.status = std::move(status);
}

void TaskTracker::mark_stopping(TrackedAttempt& a) {
  CUBE_CHECK(a.phase == AttemptPhase::Running)
      << "the loop only stops attempts whose start returned";
  a.phase = AttemptPhase::Stopping;
}

void TaskTracker::mark_stop_failed(TrackedAttempt& a) {
  CUBE_CHECK(a.phase == AttemptPhase::Stopping) << "only a stopping attempt can fail to stop";
  a.phase = AttemptPhase::Running;
}

void TaskTracker::mark_finished(TrackedAttempt& a, TaskStatus final_status, SteadyTime now) {
  CUBE_CHECK(a.phase != AttemptPhase::Finished)
      << "the loop drops a second final status for the same attempt";
  a.phase = AttemptPhase::Finished;
  a.status = std::move(final_status);
  a.finished_at = now;
  CUBE_CHECK(active_ > 0) << "every unfinished attempt was counted in active_";
  --active_;
  finished_order_.emplace_back(a.task_id, a.attempt);
  if (finished_order_.size() > max_finished_)
    forget_oldest_finished();
}

std::vector<TaskStatus> TaskTracker::snapshot() const {
  std::vector<TaskStatus> out;
  out.reserve(attempts_.size());
  for (const auto& [key, a] : attempts_)
    out.push_back(a.status);
  return out;
}

void TaskTracker::prune(SteadyTime now) {
  while (!finished_order_.empty()) {
    auto it = attempts_.find(finished_order_.front());
    if (it != attempts_.end() && now - it->second.finished_at < finished_ttl_)
      break;
    forget_oldest_finished();
  }
}

void TaskTracker::forget_oldest_finished() {
  attempts_.erase(finished_order_.front());
  finished_order_.pop_front();
}

}  // namespace cube::agent
