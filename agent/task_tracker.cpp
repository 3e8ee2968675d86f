#include "agent/task_tracker.h"

#include <utility>

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

bool TaskTracker::adopt(const AttemptStatus& status, SteadyTime now) {
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

TaskTracker::AfterStart TaskTracker::mark_running(TrackedAttempt& a, AttemptStatus status) {
  CUBE_CHECK(a.phase == AttemptPhase::Starting) << "only post_start() reports Running, once";
  a.phase = AttemptPhase::Running;
  a.status = std::move(status);
  if (a.early_exit)
    return AfterStart::Ended;
  if (a.stop_cause != StopCause::Kind::None) {
    a.phase = AttemptPhase::Stopping;
    return AfterStart::Stop;
  }
  return AfterStart::Run;
}

TaskTracker::StopRequest TaskTracker::request_stop(TrackedAttempt& a, std::string_view reason,
                                                   Millis grace) {
  CUBE_CHECK(a.phase != AttemptPhase::Finished) << "STOP picks an active attempt";
  std::string_view said = reason.empty() ? kReasonStoppedByRequest : reason;
  if (a.stop_cause == StopCause::Kind::Unhealthy) {
    // Stopping for failed health checks: the broker's STOP is what the end now reports.
    a.stop_cause = StopCause::Kind::Requested;
    a.stop_reason = said;
    return StopRequest::AlreadyStopping;
  }
  if (a.stop_cause == StopCause::Kind::Requested)
    return StopRequest::AlreadyStopping;
  if (a.phase == AttemptPhase::Starting) {
    // A driver never gets two calls for the same task at once: stop once start() returned.
    a.stop_cause = StopCause::Kind::Requested;
    a.stop_reason = said;
    a.stop_grace = grace;
    return StopRequest::AfterStart;
  }
  mark_stopping(a, StopCause::Kind::Requested, said, grace);
  return StopRequest::StopNow;
}

bool TaskTracker::stop_unhealthy(TrackedAttempt& a, std::string_view reason, Millis grace) {
  if (a.phase != AttemptPhase::Running || a.stop_cause != StopCause::Kind::None)
    return false;
  mark_stopping(a, StopCause::Kind::Unhealthy, reason, grace);
  return true;
}

void TaskTracker::mark_stopping(TrackedAttempt& a, StopCause::Kind cause, std::string_view reason,
                                Millis grace) {
  CUBE_CHECK(a.phase == AttemptPhase::Running)
      << "the loop only stops attempts whose start returned";
  a.phase = AttemptPhase::Stopping;
  a.stop_cause = cause;
  a.stop_reason = reason;
  a.stop_grace = grace;
}

bool TaskTracker::mark_stop_failed(TrackedAttempt& a) {
  CUBE_CHECK(a.phase == AttemptPhase::Stopping) << "only a stopping attempt can fail to stop";
  a.phase = AttemptPhase::Running;
  bool unhealthy = a.stop_cause == StopCause::Kind::Unhealthy;
  a.stop_cause = StopCause::Kind::None;
  a.stop_reason.clear();
  return unhealthy;
}

std::optional<AttemptStatus> TaskTracker::end(TrackedAttempt& a, AttemptEnd end, SteadyTime now) {
  CUBE_CHECK(a.phase != AttemptPhase::Finished) << "the loop drops ends of finished attempts";
  if (a.phase == AttemptPhase::Starting) {
    a.early_exit = std::move(end);
    return std::nullopt;
  }
  StopCause stop{a.stop_cause, a.stop_reason};
  // a.status is the Running status (ids, container, ports, start time); the final one
  // replaces it.
  return mark_finished(a, ended_status(std::move(a.status), end.exit, end.finish_time_ms, stop),
                       now);
}

AttemptStatus TaskTracker::finish_early_exit(TrackedAttempt& a, SteadyTime now) {
  CUBE_CHECK(a.early_exit.has_value()) << "only after AfterStart::Ended";
  AttemptEnd held = std::move(*a.early_exit);
  a.early_exit.reset();
  return *end(a, std::move(held), now);
}

AttemptStatus TaskTracker::mark_finished(TrackedAttempt& a, AttemptStatus final_status,
                                         SteadyTime now) {
  CUBE_CHECK(a.phase != AttemptPhase::Finished)
      << "the loop drops a second final status for the same attempt";
  a.phase = AttemptPhase::Finished;
  a.status = std::move(final_status);
  a.finished_at = now;
  CUBE_CHECK(active_ > 0) << "every unfinished attempt was counted in active_";
  --active_;
  AttemptStatus reported = a.status;
  finished_order_.emplace_back(a.task_id, a.attempt);
  if (finished_order_.size() > max_finished_)
    forget_oldest_finished();  // may be `a`
  return reported;
}

std::vector<AttemptStatus> TaskTracker::snapshot() const {
  std::vector<AttemptStatus> out;
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
