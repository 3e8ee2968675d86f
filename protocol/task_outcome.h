// How a task attempt ended, and the one place that decides what that makes of it.
//
// Drivers observe facts (TaskExit: exited with code N, killed by signal S, OOM-killed, never
// started, its driver was asked to stop it...) and report them; they never decide a TaskState.
// The agent adds what only it knows (StopCause: a STOP from the broker, a failed health check)
// and calls decide_outcome(), whose state and reason it reports in TASK_STATE. The broker only
// overrides that for desired state (a user's stop) and restart policy; it never rebuilds a
// reason. The docker driver uses the same function to describe the ended containers it finds
// again (list_owned, inspect), which is why this lives here and not in the agent library.
//
// Pure functions over values; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/task.h"

namespace cube {

// What a driver saw of an attempt's end. No verdict: decide_outcome() makes one.
struct TaskExit {
  enum class Kind : uint8_t {
    Exited,        // the process exited by itself with exit_code
    Signaled,      // a signal (`signal`) ended the process
    OutOfMemory,   // the OOM killer ended it (docker's State.OOMKilled); exit_code as reported
    NeverStarted,  // created but never started (docker "created"); `error` says why if known
    Vanished,      // the container disappeared before anyone could see how it ended
    Unknown,       // the exit status could not be read
  };
  Kind kind = Kind::Exited;
  std::optional<int32_t> exit_code;  // Exited and OutOfMemory: as reported
  int32_t signal = 0;                // Signaled
  // The driver's stop() had been called for this attempt before it ended.
  bool stopped_on_request = false;
  // What the backend said went wrong (docker's State.Error); empty when it said nothing.
  std::string error;

  friend bool operator==(const TaskExit&, const TaskExit&) = default;
};

// Why the agent ended an attempt itself, when it did. The reason is borrowed: it must live
// until decide_outcome() returns.
struct StopCause {
  enum class Kind : uint8_t {
    None,       // the agent did not stop it (it ended by itself, or the agent does not know)
    Requested,  // the broker sent STOP with `reason` ("" means "stopped")
    Unhealthy,  // the agent stopped it because its health check failed, saying `reason`
  };
  Kind kind = Kind::None;
  std::string_view reason;
};

// The verdict reported for an ended attempt.
struct TaskOutcome {
  TaskState state = TaskState::Failed;
  std::optional<int32_t> exit_code;
  std::string reason;

  friend bool operator==(const TaskOutcome&, const TaskOutcome&) = default;
};

// Reason texts users and tests match on.
inline constexpr std::string_view kReasonStoppedByRequest = "stopped";
inline constexpr std::string_view kReasonOutOfMemory = "out of memory";
inline constexpr std::string_view kReasonNeverStarted = "container was created but never started";
inline constexpr std::string_view kReasonVanished = "container was removed outside Cube";
inline constexpr std::string_view kReasonExitUnknown = "exit status unknown";

// The one decision, first rule that applies:
//   Unhealthy                  -> Failed, the health check's reason
//   Requested                  -> Completed, the STOP's reason ("stopped" when it gave none)
//   stopped_on_request         -> Completed "stopped" (the agent that asked is gone)
//   exit code 0 (Exited, OOM)  -> Completed "exit code 0" (OOMKilled also marks a container
//                                 whose child, not its main process, was killed)
//   Exited N                   -> Failed: the backend's error, else "exit code 127: command not
//                                 found", "exit code 126: command not executable", "exit code N"
//   Signaled S                 -> Failed "killed by signal S", exit code 128+S (the shell's)
//   OutOfMemory                -> Failed "out of memory"
//   NeverStarted               -> Failed: the backend's error, else "container was created but
//                                 never started"
//   Vanished                   -> Failed "container was removed outside Cube"
//   Unknown                    -> Failed "exit status unknown", then ": " and the driver's
//                                 error when it gave one (why the status could not be read)
// The exit code (128+S for a signal) is kept whatever the verdict.
TaskOutcome decide_outcome(const TaskExit& exit, const StopCause& stop = {});

// `status` (what was observed of the attempt: ids, container, ports, start time) as it ended:
// finish_time_ms set, and state, exit_code and reason from decide_outcome(exit, stop).
AttemptStatus ended_status(AttemptStatus status, const TaskExit& exit, int64_t finish_time_ms,
                           const StopCause& stop = {});

}  // namespace cube
