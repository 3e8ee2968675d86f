#include "agent/drivers/sim/sim_driver.h"

#include <utility>

namespace cube::agent {

SimDriver::SimDriver(const Clock& clock, SimObserver* observer)
    : clock_(clock), observer_(observer) {}

Result<AttemptStatus> SimDriver::start(const Task& task) {
  if (task.id.empty())
    return Status::invalid("a sim task needs an id");
  if (task.duration_ms < 0) {
    return Status::invalid("DurationMs " + std::to_string(task.duration_ms) +
                           " is negative; use 0 to run until stopped");
  }
  SteadyTime now = clock_.now();
  AttemptStatus status;
  status.task_id = task.id;
  status.attempt = task.attempt;
  status.state = TaskState::Running;
  status.container_id = "sim-" + task.id.substr(0, 8);
  status.start_time_ms = to_unix_ms(clock_.wall());
  {
    MutexLock lock(mu_);
    auto it = tasks_.find(task.id);
    if (it != tasks_.end() && it->second.running) {
      return Status::conflict("attempt " + std::to_string(it->second.attempt) + " of task " +
                              task.id + " is still running on this agent");
    }
    Attempt a;
    a.attempt = task.attempt;
    a.status = status;
    if (task.duration_ms > 0) {
      a.ends_at = now + Millis(task.duration_ms);
      deadlines_.emplace(*a.ends_at, task.id, task.attempt);
    }
    if (it == tasks_.end()) {
      tasks_.emplace(task.id, std::move(a));
    } else {
      it->second = std::move(a);
    }
    ++running_;
  }
  if (observer_ != nullptr)
    observer_->task_started(task.id, task.attempt, now);
  return status;
}

Status SimDriver::stop(const std::string& task_id, Millis grace) {
  (void)grace;  // nothing runs, so nothing needs time to shut down
  SteadyTime now = clock_.now();
  std::vector<AttemptEnd> ended;
  {
    MutexLock lock(mu_);
    auto it = tasks_.find(task_id);
    if (it == tasks_.end() || !it->second.running)
      return Status::ok();
    ended.push_back(end(it->second, /*stopped_on_request=*/true));
    trim();
  }
  report(ended, now);
  return Status::ok();
}

Result<AttemptStatus> SimDriver::inspect(const std::string& task_id) {
  MutexLock lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end())
    return Status::not_found("the sim driver knows no task " + task_id);
  const Attempt& a = it->second;
  return a.running ? a.status : ended_status(a.status, a.exit, a.finish_time_ms);
}

Result<LogChunk> SimDriver::logs(const std::string& task_id, int64_t offset, int64_t max_bytes) {
  if (offset < 0 || max_bytes <= 0)
    return Status::invalid("logs need offset >= 0 and max_bytes > 0");
  MutexLock lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end())
    return Status::not_found("the sim driver knows no task " + task_id);
  LogChunk chunk;
  chunk.next_offset = 0;  // a sim task writes nothing
  chunk.eof = !it->second.running;
  return chunk;
}

Result<std::vector<AttemptStatus>> SimDriver::list_owned() {
  return std::vector<AttemptStatus>{};
}

Result<TaskUsage> SimDriver::stats(const std::string& task_id) {
  MutexLock lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || !it->second.running)
    return Status::not_found("no running sim task " + task_id);
  return TaskUsage{};
}

void SimDriver::set_exit_sink(ExitSink sink) {
  MutexLock lock(mu_);
  sink_ = std::move(sink);
}

std::optional<SteadyTime> SimDriver::next_deadline() const {
  MutexLock lock(mu_);
  if (deadlines_.empty())
    return std::nullopt;
  // A stale entry (the attempt was stopped) only makes the loop wake early once: poll_due drops
  // it.
  return std::get<0>(deadlines_.top());
}

void SimDriver::poll_due(SteadyTime now) {
  std::vector<AttemptEnd> ended;
  {
    MutexLock lock(mu_);
    while (!deadlines_.empty() && std::get<0>(deadlines_.top()) <= now) {
      auto [when, task_id, attempt] = deadlines_.top();
      (void)when;
      deadlines_.pop();
      auto it = tasks_.find(task_id);
      if (it == tasks_.end() || !it->second.running || it->second.attempt != attempt)
        continue;  // stopped before its time
      ended.push_back(end(it->second, /*stopped_on_request=*/false));
    }
    if (!ended.empty())
      trim();
  }
  report(ended, now);
}

size_t SimDriver::running() const {
  MutexLock lock(mu_);
  return running_;
}

AttemptEnd SimDriver::end(Attempt& a, bool stopped_on_request) {
  a.running = false;
  a.exit = TaskExit{TaskExit::Kind::Exited, 0, 0, stopped_on_request, {}};
  a.finish_time_ms = to_unix_ms(clock_.wall());
  --running_;
  ended_order_.push(a.status.task_id);
  return AttemptEnd{a.status.task_id, a.attempt, a.exit, a.finish_time_ms};
}

void SimDriver::trim() {
  // An id can be queued more than once (a later attempt ran here too); only an ended record is
  // ever forgotten, so a running attempt survives its task's older queue entries.
  while (ended_order_.size() > kMaxEnded) {
    auto it = tasks_.find(ended_order_.front());
    if (it != tasks_.end() && !it->second.running)
      tasks_.erase(it);
    ended_order_.pop();
  }
}

void SimDriver::report(std::vector<AttemptEnd>& ended, SteadyTime now) {
  if (ended.empty())
    return;
  ExitSink sink;
  {
    MutexLock lock(mu_);
    sink = sink_;
  }
  for (auto& end : ended) {
    if (observer_ != nullptr)
      observer_->task_ended(end.task_id, end.attempt, now);
    if (sink)
      sink(std::move(end));
  }
}

}  // namespace cube::agent
