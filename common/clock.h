// Clock: the only way Cube code reads time. Liveness, backoff, deadlines and retries take a
// `const Clock&` so that tests drive time with ManualClock and run in milliseconds. Wall time is
// for display and for TaskEvent timestamps only; every deadline uses steady time.
//
// Thread-safety: SystemClock is stateless. ManualClock may be advanced from one thread while
// others read it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cube {

using SteadyTime = std::chrono::steady_clock::time_point;
using SystemTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime now() const = 0;
  virtual SystemTime wall() const = 0;
  // Blocks the calling thread for `d` (ManualClock: advances time instead). Only for a thread
  // whose job is to wait, such as a CLI polling a task until it runs; never in a poll loop.
  virtual void sleep_for(Millis d) const = 0;
};

class SystemClock final : public Clock {
 public:
  SteadyTime now() const override;
  SystemTime wall() const override;
  void sleep_for(Millis d) const override;
};

// A process-wide SystemClock for mains and for code that has no clock injected yet.
const Clock& system_clock();

// Time stands still until advance() is called.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(SystemTime wall_start = SystemTime(std::chrono::hours(24 * 365 * 56)))
      : wall_start_(wall_start) {}
  SteadyTime now() const override { return SteadyTime(Millis(offset_ms_.load())); }
  SystemTime wall() const override { return wall_start_ + Millis(offset_ms_.load()); }
  void sleep_for(Millis d) const override { offset_ms_ += d.count(); }
  void advance(Millis d) { offset_ms_ += d.count(); }

 private:
  SystemTime wall_start_;
  mutable std::atomic<int64_t> offset_ms_{0};
};

// Milliseconds since the Unix epoch: the unit of every timestamp on the wire.
inline int64_t to_unix_ms(SystemTime t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}
inline SystemTime from_unix_ms(int64_t ms) {
  return SystemTime(Millis(ms));
}

// Milliseconds from `now` until `deadline`, clamped at 0: a poll timeout.
inline int64_t millis_until(SteadyTime now, SteadyTime deadline) {
  if (deadline <= now)
    return 0;
  return std::chrono::duration_cast<Millis>(deadline - now).count() + 1;
}

}  // namespace cube
