// SimDriver ("sim"): a task that "runs" for task.duration_ms without any process, so that one
// process can host thousands of agents for benchmarks (cube-bench; docs/architecture.md, "Agent side").
//
// For task T, attempt A:
//   - start() records the attempt and returns Running at once (start_time_ms = clock.wall());
//     container_id is "sim-" followed by the first 8 characters of the task id.
//   - T.duration_ms > 0: the attempt exits with code 0 once the injected clock reaches
//     start + duration; T.duration_ms == 0: it runs until stop().
//   - stop() ends the attempt at once: exit code 0, stopped on request.
//   - logs() returns no output (eof once the attempt ended); stats() reports zero usage.
//   - Nothing survives the driver: list_owned() is always empty.
//
// No thread per task and no timer thread: completions are deadlines on the injected Clock. The
// agent loop asks next_deadline() for its poll timeout and calls poll_due(now), which reports
// the ended attempts through the exit sink on the loop's thread. calls_never_block() is true,
// so the agent makes every call on its loop thread.
//
// Thread-safety: every method may be called from any thread (a mutex guards the table); the
// exit sink and the observer are called without the lock held, on the thread that called
// start(), stop() or poll_due().
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "agent/drivers/driver.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace cube::agent {

// Told when a sim attempt starts and ends, at the injected clock's steady time: cube-bench
// records these to measure submit-to-Running latency without polling the broker. Called on the
// thread that drives the SimDriver, without its lock held; must not call back into the driver.
class SimObserver {
 public:
  virtual ~SimObserver() = default;
  virtual void task_started(std::string_view task_id, uint32_t attempt, SteadyTime at) = 0;
  virtual void task_ended(std::string_view task_id, uint32_t attempt, SteadyTime at) = 0;
};

class SimDriver final : public Driver {
 public:
  // Ended attempts are remembered (for inspect and logs) up to this many; the oldest are
  // forgotten first. Small: a sim agent in a benchmark ends hundreds of tasks.
  static constexpr size_t kMaxEnded = 256;

  // `clock` drives the durations and timestamps; `observer` (optional) is told about starts
  // and ends. Both must outlive the driver.
  explicit SimDriver(const Clock& clock, SimObserver* observer = nullptr);
  SimDriver(const SimDriver&) = delete;
  SimDriver& operator=(const SimDriver&) = delete;

  std::string_view name() const override { return kDriverSim; }

  // Running at once. Errors: Invalid for a task without an id or with a negative duration_ms;
  // Conflict when an attempt of this task is still running here.
  Result<AttemptStatus> start(const Task& task) override;
  // Ends the running attempt of `task_id` now (the grace is irrelevant: nothing runs); the
  // final status goes to the exit sink before stop() returns. OK for unknown or ended tasks.
  Status stop(const std::string& task_id, Millis grace) override;
  // The latest attempt's status. NotFound for a task this driver does not remember.
  Result<AttemptStatus> inspect(const std::string& task_id) override;
  // Always empty data; eof once the attempt ended. NotFound for an unknown task; Invalid for a
  // negative offset or max_bytes <= 0.
  Result<LogChunk> logs(const std::string& task_id, int64_t offset, int64_t max_bytes) override;
  // Always empty: a sim task does not outlive its driver.
  Result<std::vector<AttemptStatus>> list_owned() override;
  // Zero CPU and memory for a running attempt; NotFound otherwise.
  Result<TaskUsage> stats(const std::string& task_id) override;
  void set_exit_sink(ExitSink sink) override;

  bool calls_never_block() const override { return true; }
  // The earliest end of a running attempt with a duration; nullopt when none.
  std::optional<SteadyTime> next_deadline() const override;
  // Ends every attempt whose end is at or before `now`, oldest end first.
  void poll_due(SteadyTime now) override;

  // Attempts running now.
  size_t running() const;

 private:
  struct Attempt {
    uint32_t attempt = 0;
    bool running = true;
    AttemptStatus status;  // as start() returned it
    std::optional<SteadyTime> ends_at;
    TaskExit exit;  // once ended
    int64_t finish_time_ms = 0;
  };
  // (end time, task id, attempt) of running attempts with a duration; entries whose attempt
  // ended earlier (stopped) are skipped when they surface.
  using Deadline = std::tuple<SteadyTime, std::string, uint32_t>;

  // Marks `a` ended (exit code 0); returns what the exit sink gets. Lock held.
  AttemptEnd end(Attempt& a, bool stopped_on_request) CUBE_REQUIRES(mu_);
  // Forgets the oldest ended attempts beyond kMaxEnded. Lock held.
  void trim() CUBE_REQUIRES(mu_);
  void report(std::vector<AttemptEnd>& ended, SteadyTime now) CUBE_EXCLUDES(mu_);

  const Clock& clock_;
  SimObserver* const observer_;

  mutable Mutex mu_;
  ExitSink sink_ CUBE_GUARDED_BY(mu_);
  std::map<std::string, Attempt, std::less<>> tasks_ CUBE_GUARDED_BY(mu_);
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_
      CUBE_GUARDED_BY(mu_);
  std::queue<std::string> ended_order_ CUBE_GUARDED_BY(mu_);  // task ids, oldest end first
  size_t running_ CUBE_GUARDED_BY(mu_) = 0;
};

}  // namespace cube::agent
