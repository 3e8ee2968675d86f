// TaskTracker: the agent's table of task attempts, keyed by (task id, attempt). It answers the
// questions of docs/protocol.md: how many slots are free (CREDIT), whether an ASSIGN is new or a
// repeat (repeats are accepted again, never started twice), and what to report in HELLO and
// SNAPSHOT (every attempt the agent runs, plus recently finished ones whose final state the
// broker may have missed while it was away).
//
// Phases: Starting (accepted, driver.start() in flight) -> Running -> Stopping (STOP received or
// health checks failed, driver.stop() in flight) -> Finished. Starting, Running and Stopping
// occupy a slot. The transitions below are the attempt state machine: they keep the agent's own
// stop (why, with what grace) and an end the driver reported before start() returned, and
// finish an attempt with decide_outcome() (protocol/task_outcome.h), so the loop only acts on
// what they return.
// Finished attempts are kept for a while (at most max_finished, at most finished_ttl) and then
// forgotten; they hold no slot.
//
// Thread-safety: none; owned by the agent loop. Pure bookkeeping: no I/O, no clock (callers
// pass `now`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/drivers/driver.h"
#include "common/clock.h"
#include "protocol/task.h"
#include "protocol/task_outcome.h"

namespace cube::agent {

enum class AttemptPhase { Starting, Running, Stopping, Finished };

// "starting", "running", ... for logs.
std::string_view attempt_phase_name(AttemptPhase phase);

struct TrackedAttempt {
  std::string task_id;
  uint32_t attempt = 0;
  AttemptPhase phase = AttemptPhase::Starting;
  // What HELLO/SNAPSHOT report: Scheduled while starting (nothing runs yet), then the driver's
  // Running status, then the final one.
  AttemptStatus status;

  // --- The agent's own stop, written only by TaskTracker's transitions ---
  // Why the agent stops it (None: it does not); its end is reported as decide_outcome() says
  // with this cause. Requested: a STOP from the broker, stopped as soon as start() returns.
  // Unhealthy: its health checks failed (a STOP from the broker meanwhile turns it Requested).
  StopCause::Kind stop_cause = StopCause::Kind::None;
  std::string stop_reason;  // the STOP's reason ("stopped" when it gave none), or the health's
  Millis stop_grace{0};
  // The driver reported the end before the loop saw start()'s result (a task that exits at
  // once): reported right after Running so that events stay in order.
  std::optional<AttemptEnd> early_exit;

  SteadyTime finished_at{};
};

class TaskTracker {
 public:
  // Enough finished attempts to cover a broker outage at a few tasks per second; an hour is
  // longer than any reconnect backoff (32 s) by far.
  static constexpr size_t kDefaultMaxFinished = 1000;
  static constexpr Millis kDefaultFinishedTtl{60 * 60 * 1000};

  explicit TaskTracker(uint32_t slots, size_t max_finished = kDefaultMaxFinished,
                       Millis finished_ttl = kDefaultFinishedTtl);

  enum class Admission {
    Admitted,            // new attempt, now Starting: start it
    Duplicate,           // this (task, attempt) is already known: ACCEPT again, do not start
    NoFreeSlot,          // every slot is taken: REJECT
    OtherAttemptActive,  // another attempt of the same task still runs here: REJECT
  };
  // Records an ASSIGN. Only Admitted changes the table.
  Admission admit(const std::string& task_id, uint32_t attempt);

  // Records a task found running when the agent started (driver.list_owned()), in the phase
  // its status says (Running, or Finished for a terminal state). False when already known.
  bool adopt(const AttemptStatus& status, SteadyTime now);

  // The attempt, whatever its phase; nullptr when unknown (or forgotten). The pointer stays
  // valid until the attempt is pruned.
  TrackedAttempt* find(const std::string& task_id, uint32_t attempt);
  // The attempt of task_id that is not finished, when `attempt` is 0 or matches it; nullptr
  // otherwise. This is how STOP (attempt 0 = any) picks its target.
  TrackedAttempt* find_active(const std::string& task_id, uint32_t attempt);

  // --- Transitions. Preconditions are CUBE_CHECKed: the loop guarantees them. ---

  // What the loop does once start() returned.
  enum class AfterStart {
    Run,    // nothing pending: watch it (health checks)
    Stop,   // a STOP came while it was starting: it is Stopping now; call driver.stop()
    Ended,  // the driver reported its end meanwhile: finish_early_exit() reports it now
  };
  // Starting -> Running with the driver's `status`.
  AfterStart mark_running(TrackedAttempt& a, AttemptStatus status);

  enum class StopRequest {
    StopNow,          // it was Running and is Stopping now: call driver.stop()
    AfterStart,       // it is Starting: stopped once start() returns (AfterStart::Stop)
    AlreadyStopping,  // a stop is under way; one for failed health checks now reports this STOP
  };
  // A STOP from the broker for an active attempt; `reason` "" means "stopped".
  StopRequest request_stop(TrackedAttempt& a, std::string_view reason, Millis grace);
  // The attempt failed its health checks. True when the loop must call driver.stop(): it was
  // Running with no stop under way and is Stopping now, its end to be reported Failed with
  // `reason`. False when it is starting, ending or being stopped already.
  bool stop_unhealthy(TrackedAttempt& a, std::string_view reason, Millis grace);
  // driver.stop() failed: Stopping -> Running (the task still runs); a new STOP or health
  // verdict may try again. True when the failed stop was for failed health checks.
  bool mark_stop_failed(TrackedAttempt& a);

  // The driver reported the end of active attempt `a`. Starting: held until start() returns
  // (the loop reports Running first); returns nullopt. Otherwise `a` is Finished with
  // decide_outcome() of the facts and the agent's own stop, if any, and the final status is
  // returned: a copy, as `a` may be forgotten at once (retention limit).
  std::optional<AttemptStatus> end(TrackedAttempt& a, AttemptEnd end, SteadyTime now);
  // After AfterStart::Ended: finishes `a` with the end held while it started, as end() does.
  AttemptStatus finish_early_exit(TrackedAttempt& a, SteadyTime now);
  // Finishes an active attempt with `final_status` (start() failed) and returns a copy of it.
  AttemptStatus mark_finished(TrackedAttempt& a, AttemptStatus final_status, SteadyTime now);

  uint32_t slots() const { return slots_; }
  // Attempts that occupy a slot (starting, running or stopping).
  uint32_t active() const { return active_; }
  // slots - active, never below 0 (adopted tasks may exceed the slots).
  uint32_t free_slots() const { return active_ >= slots_ ? 0 : slots_ - active_; }
  size_t finished_count() const { return finished_order_.size(); }

  // Status of every known attempt (active and retained finished), ordered by (task id,
  // attempt): the tasks list of HELLO and SNAPSHOT.
  std::vector<AttemptStatus> snapshot() const;

  // Forgets finished attempts older than finished_ttl at `now`.
  void prune(SteadyTime now);

 private:
  using Key = std::pair<std::string, uint32_t>;
  void mark_stopping(TrackedAttempt& a, StopCause::Kind cause, std::string_view reason,
                     Millis grace);
  void forget_oldest_finished();

  uint32_t slots_;
  size_t max_finished_;
  Millis finished_ttl_;
  uint32_t active_ = 0;
  std::map<Key, TrackedAttempt> attempts_;
  // Finished attempts, oldest first (finish times are non-decreasing: the loop's clock).
  std::deque<Key> finished_order_;
};

}  // namespace cube::agent
