// RunRecorder: the timestamps of one cube-bench run, per task, joined by task ID without a map.
//
// Every task of a run gets the ID  <prefix><12 hex digits of its index>  where the prefix is the
// first 24 characters of a UUIDv7 made at the start of the run ("0190a3c4-5b6d-7e8f-9a0b-"), so
// IDs are valid UUIDs, time-ordered across runs and ordered by index within one. The clients
// record when each task was sent (or, open loop, when it was meant to be sent) and acknowledged;
// the in-process sim agents report (as a SimObserver) when each task started and ended. All
// times are the injected clock's steady time.
//
// Thread-safety: every method may be called from any thread at any time; per-task slots are
// atomics, written once (a restarted attempt keeps the first start), read after the run.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/drivers/sim/sim_driver.h"
#include "common/clock.h"

namespace cube::bench {

class RunRecorder final : public agent::SimObserver {
 public:
  // Room for `tasks` tasks; `prefix` is the 24-character ID prefix (make_id_prefix()).
  RunRecorder(size_t tasks, std::string prefix);

  // The first 24 characters of a UUIDv7 made at `now`.
  static std::string make_id_prefix(SystemTime now);

  size_t tasks() const { return tasks_; }
  // The ID of task `index` (< tasks()).
  std::string task_id(size_t index) const;
  // The index encoded in `task_id`, when it carries this run's prefix and an index in range.
  std::optional<size_t> index_of(std::string_view task_id) const;

  void sent(size_t index, SteadyTime at);
  void acked(size_t index, SteadyTime at);
  // The submit failed for good (the client gave up): counted, and the task is left out.
  void failed(size_t index);

  // SimObserver: tasks of other runs (another prefix) are ignored.
  void task_started(std::string_view task_id, uint32_t attempt, SteadyTime at) override;
  void task_ended(std::string_view task_id, uint32_t attempt, SteadyTime at) override;

  // Nanoseconds since the clock's epoch; 0 when it did not happen (yet).
  int64_t sent_ns(size_t i) const { return sent_[i].load(std::memory_order_relaxed); }
  int64_t acked_ns(size_t i) const { return acked_[i].load(std::memory_order_relaxed); }
  int64_t started_ns(size_t i) const { return started_[i].load(std::memory_order_relaxed); }
  int64_t ended_ns(size_t i) const { return ended_[i].load(std::memory_order_relaxed); }

  // Running totals, for the progress line.
  size_t sent_count() const { return sent_count_.load(std::memory_order_relaxed); }
  size_t acked_count() const { return acked_count_.load(std::memory_order_relaxed); }
  size_t failed_count() const { return failed_count_.load(std::memory_order_relaxed); }
  size_t started_count() const { return started_count_.load(std::memory_order_relaxed); }
  size_t ended_count() const { return ended_count_.load(std::memory_order_relaxed); }

 private:
  // Stores `at` into slot `i` of `slots` unless it already holds a time; true when it did.
  static bool record_once(std::atomic<int64_t>* slots, size_t i, SteadyTime at);

  const size_t tasks_;
  const std::string prefix_;
  std::unique_ptr<std::atomic<int64_t>[]> sent_;
  std::unique_ptr<std::atomic<int64_t>[]> acked_;
  std::unique_ptr<std::atomic<int64_t>[]> started_;
  std::unique_ptr<std::atomic<int64_t>[]> ended_;
  std::atomic<size_t> sent_count_{0};
  std::atomic<size_t> acked_count_{0};
  std::atomic<size_t> failed_count_{0};
  std::atomic<size_t> started_count_{0};
  std::atomic<size_t> ended_count_{0};
};

// Nanoseconds since the clock's epoch, the unit RunRecorder stores.
inline int64_t to_ns(SteadyTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace cube::bench
