#include "protocol/task_outcome.h"

#include <utility>

namespace cube {
namespace {

std::string exit_code_reason(int32_t code) {
  // Shell conventions, which tini (docker's Init) follows when it cannot exec the task's Cmd.
  if (code == 127)
    return "exit code 127: command not found";
  if (code == 126)
    return "exit code 126: command not executable";
  return "exit code " + std::to_string(code);
}

std::string error_or(const std::string& error, std::string_view fallback) {
  return error.empty() ? std::string(fallback) : error;
}

}  // namespace

TaskOutcome decide_outcome(const TaskExit& exit, const StopCause& stop) {
  using Kind = TaskExit::Kind;
  TaskOutcome out;
  out.exit_code =
      exit.kind == Kind::Signaled ? std::optional<int32_t>(128 + exit.signal) : exit.exit_code;
  if (stop.kind == StopCause::Kind::Unhealthy) {
    out.state = TaskState::Failed;
    out.reason = stop.reason;
    return out;
  }
  if (stop.kind == StopCause::Kind::Requested || exit.stopped_on_request) {
    out.state = TaskState::Completed;
    out.reason = stop.kind == StopCause::Kind::Requested && !stop.reason.empty()
                     ? std::string(stop.reason)
                     : std::string(kReasonStoppedByRequest);
    return out;
  }
  const bool exited_zero =
      (exit.kind == Kind::Exited || exit.kind == Kind::OutOfMemory) && exit.exit_code == 0;
  if (exited_zero) {
    out.state = TaskState::Completed;
    out.reason = exit_code_reason(0);
    return out;
  }
  out.state = TaskState::Failed;
  switch (exit.kind) {
    case Kind::Exited:
      out.reason = exit.exit_code ? error_or(exit.error, exit_code_reason(*exit.exit_code))
                                  : std::string(kReasonExitUnknown);
      break;
    case Kind::Signaled:
      out.reason = "killed by signal " + std::to_string(exit.signal);
      break;
    case Kind::OutOfMemory:
      out.reason = kReasonOutOfMemory;
      break;
    case Kind::NeverStarted:
      out.reason = error_or(exit.error, kReasonNeverStarted);
      break;
    case Kind::Vanished:
      out.reason = kReasonVanished;
      break;
    case Kind::Unknown:
      out.reason = exit.error.empty() ? std::string(kReasonExitUnknown)
                                      : std::string(kReasonExitUnknown) + ": " + exit.error;
      break;
  }
  return out;
}

AttemptStatus ended_status(AttemptStatus status, const TaskExit& exit, int64_t finish_time_ms,
                           const StopCause& stop) {
  TaskOutcome outcome = decide_outcome(exit, stop);
  status.state = outcome.state;
  status.exit_code = outcome.exit_code;
  status.reason = std::move(outcome.reason);
  status.finish_time_ms = finish_time_ms;
  return status;
}

}  // namespace cube
