// BackendHealth: whether the driver's backend (dockerd for the docker driver) can run tasks, as
// the agent last found out, and when to ask again. The agent loop posts Driver::check_backend()
// to a worker when a check is due and feeds the answer back; while the backend fails, the loop
// REJECTs assignments with its message and reports it in HELLO's labels (kLabelDriverError).
//
// Checks run every kHealthyInterval while the backend answers and every kUnhealthyInterval
// while it does not, so a dockerd that comes back is noticed within about two seconds; one
// check at a time.
//
// Thread-safety: none; owned by the agent loop. Pure bookkeeping: no I/O, no clock (callers
// pass `now`).
#pragma once

#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace cube::agent {

// The HELLO label that carries the backend's failure ("dockerd unreachable at ..."); absent
// while the backend is healthy.
inline constexpr std::string_view kLabelDriverError = "cube.driver-error";

class BackendHealth {
 public:
  // 10 s: a dockerd that dies between checks is also noticed by the next failing start.
  static constexpr Millis kHealthyInterval{10000};
  // 2 s: recovery shows up quickly, at the cost of one ping per two seconds while down.
  static constexpr Millis kUnhealthyInterval{2000};

  // Healthy until a check says otherwise; the first check is due at `now`.
  explicit BackendHealth(SteadyTime now) : next_check_(now) {}

  bool is_ok() const { return status_.is_ok(); }
  // OK, or the last failure (Unavailable with the backend's message).
  const Status& status() const { return status_; }

  // True when a check should start now: none is in flight and one is due. The check is then
  // marked in flight until on_result().
  bool start_check_if_due(SteadyTime now);
  // When the next check is due; meaningless while one is in flight (see in_flight()).
  SteadyTime next_check() const { return next_check_; }
  bool in_flight() const { return in_flight_; }

  // The answer of a check (or of a synchronous one made before the loop ran). Schedules the
  // next check. Returns true when health changed (healthy <-> failing), including the message
  // of a failure changing into another failure.
  bool on_result(Status status, SteadyTime now);

  // A driver call just failed with Unavailable: check again at once rather than at the next
  // interval (the ping decides; a failed call alone does not mark the backend down).
  void check_soon(SteadyTime now);

 private:
  Status status_;
  SteadyTime next_check_;
  bool in_flight_ = false;
};

}  // namespace cube::agent
