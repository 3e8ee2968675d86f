// Restart policy: what the broker does when a task attempt ends by itself (the process exited,
// the container died, the driver could not start it). A pure function of the task, how the
// attempt ended, the time and a random sample, so it is tested with tables (STYLE.md habit 5).
//
// RestartPolicy of the task (as in the prior orchestrators and Docker):
//   "" / "no"     never restarted: the task ends as the agent reported it.
//   "on-failure"  restarted when the attempt Failed (non-zero exit, start failure).
//   "always"      restarted when it Failed and when it Completed by itself (exit 0).
// A task the user stopped (desired state Completed) is never restarted.
//
// Restarts: at most `max_restarts` (default 3, as go-cube). Restart n (1-based) waits
//   nominal = min(max_backoff, initial_backoff * 2^(n-1))     (1 s, 2 s, 4 s ... capped at 60 s)
// shortened by the jitter to a delay in ((1 - jitter) * nominal, nominal], so the nominal delays
// are upper bounds (as agent/reconnect.h), and tasks that failed together spread out.
// The task then goes back to the same node when that node is still ready (broker/placement_
// hints.h), and its RestartCount is n.
//
// When the restarts are used up the task gives up: Failed with reason
//   "restarted 3 times; giving up: exit code 1"
// (Completed with that reason when an `always` attempt ended with exit 0), except that an
// `always` task is rescheduled once more, on another node (RestartCount max_restarts + 1). When
// that attempt ends too, the task gives up for good: "restarted 3 times and rescheduled on
// another node; giving up: exit code 1".
//
// Node loss and an agent that lost a task are not restarts (the task did not end by itself):
// broker/task_lifecycle.h reschedules those at once, without backoff, for any policy but "no".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "protocol/task.h"

namespace cube::broker {

enum class RestartMode { Never, OnFailure, Always };

// "" and "no" -> Never, "on-failure" -> OnFailure, "always" -> Always; nullopt for anything
// else (protocol/task_validation.h rejects such tasks before they are stored).
std::optional<RestartMode> restart_mode(std::string_view policy);

struct RestartOptions {
  int max_restarts = 3;          // --max-restarts
  Millis initial_backoff{1000};  // --restart-backoff
  Millis max_backoff{60000};     // --restart-backoff-max
  // Fraction of the nominal delay the jitter may remove: 0.2 spreads a burst of failures over
  // 20% of the interval without ever exceeding the nominal schedule.
  double jitter = 0.2;
};

struct RestartDecision {
  enum class Action {
    Keep,        // no restart: the attempt's end is the task's end
    Restart,     // restart after `delay`, at `at`, as restart number `restart_count`
    Reschedule,  // out of restarts; `always`: place once more, on a node other than the last
    GiveUp,      // out of restarts (or rescheduled already): end in `end_state` with `reason`
  };
  Action action = Action::Keep;
  SteadyTime at;
  Millis delay{0};
  int32_t restart_count = 0;                // the task's RestartCount after this decision
  TaskState end_state = TaskState::Failed;  // GiveUp: Failed, or Completed for an exit 0
  // Restart: "exit code 1; restart 1 of 3 in 950ms"; Reschedule/GiveUp: "restarted 3 times;
  // giving up: exit code 1"; Keep: empty.
  std::string reason;
};

// Decides what follows the end of `task`'s current attempt in state `ended` (Completed or
// Failed) with `end_reason` (the agent's reason, e.g. "exit code 1"; may be empty). `random` is a
// uniform sample in [0, 1) for the jitter. Reads task.restart_policy, restart_count and
// desired_state only. Pure; never blocks.
RestartDecision decide_restart(const Task& task, TaskState ended, std::string_view end_reason,
                               SteadyTime now, double random, const RestartOptions& options);

// The nominal (un-jittered) delay before restart number `restart` (1-based).
Millis nominal_backoff(int restart, const RestartOptions& options);

// "950ms", "4s", "1.5s", "1m": a short duration for reasons and logs.
std::string format_delay(Millis delay);

}  // namespace cube::broker
