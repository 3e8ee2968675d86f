// ExitRecorder: collects what a driver sends to its exit sink and lets a test wait for one
// task's report with a deadline (a condition variable, no sleeping). A report is read as the
// status an agent that did not stop the task would publish for it (ended_status with no
// StopCause), so tests check the driver's facts through the one decision.
#pragma once

#include <condition_variable>
#include <optional>
#include <string>
#include <vector>

#include "agent/drivers/driver.h"
#include "common/mutex.h"

namespace cube::agent::test {

class ExitRecorder {
 public:
  ExitSink sink() {
    return [this](AttemptEnd end) {
      AttemptStatus observed;
      observed.task_id = end.task_id;
      observed.attempt = end.attempt;
      {
        MutexLock lock(mu_);
        reports_.push_back(ended_status(std::move(observed), end.exit, end.finish_time_ms));
      }
      cv_.notify_all();
    };
  }

  // The first report for `task_id`, waiting up to `timeout` for it.
  std::optional<AttemptStatus> wait_for(const std::string& task_id, Millis timeout) {
    MutexLock lock(mu_);
    std::optional<AttemptStatus> found;
    mu_.wait_for(cv_, timeout, [&]() CUBE_REQUIRES(mu_) {
      for (const AttemptStatus& s : reports_) {
        if (s.task_id == task_id) {
          found = s;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  size_t count(const std::string& task_id) {
    MutexLock lock(mu_);
    size_t n = 0;
    for (const AttemptStatus& s : reports_)
      n += s.task_id == task_id ? 1 : 0;
    return n;
  }

 private:
  Mutex mu_;
  std::condition_variable cv_;
  std::vector<AttemptStatus> reports_ CUBE_GUARDED_BY(mu_);
};

}  // namespace cube::agent::test
