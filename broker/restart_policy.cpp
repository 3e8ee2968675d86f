#include "broker/restart_policy.h"

#include <algorithm>
#include <cstdio>

namespace cube::broker {

std::optional<RestartMode> restart_mode(std::string_view policy) {
  if (policy.empty() || policy == "no")
    return RestartMode::Never;
  if (policy == "on-failure")
    return RestartMode::OnFailure;
  if (policy == "always")
    return RestartMode::Always;
  return std::nullopt;
}

Millis nominal_backoff(int restart, const RestartOptions& options) {
  Millis delay = std::max(options.initial_backoff, Millis(0));
  Millis cap = std::max(options.max_backoff, delay);
  for (int i = 1; i < restart && delay < cap; ++i)
    delay *= 2;
  return std::min(delay, cap);
}

std::string format_delay(Millis delay) {
  int64_t ms = delay.count();
  if (ms < 1000)
    return std::to_string(ms) + "ms";
  if (ms % 60000 == 0)
    return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0)
    return std::to_string(ms / 1000) + "s";
  char text[32];
  std::snprintf(text, sizeof text, "%.1fs", static_cast<double>(ms) / 1000.0);
  return text;
}

RestartDecision decide_restart(const Task& task, TaskState ended, std::string_view end_reason,
                               SteadyTime now, double random, const RestartOptions& options) {
  RestartDecision d;
  d.restart_count = task.restart_count;
  if (task.desired_state == TaskState::Completed)
    return d;  // the user stopped it
  RestartMode mode = restart_mode(task.restart_policy).value_or(RestartMode::Never);
  if (mode == RestartMode::Never)
    return d;
  bool failed = ended == TaskState::Failed;
  if (!failed && mode == RestartMode::OnFailure)
    return d;

  std::string what = end_reason.empty() ? (failed ? "failed" : "exited") : std::string(end_reason);
  int max = std::max(options.max_restarts, 0);
  if (task.restart_count < max) {
    int restart = task.restart_count + 1;
    Millis nominal = nominal_backoff(restart, options);
    double jitter = std::clamp(options.jitter, 0.0, 1.0) * std::clamp(random, 0.0, 1.0);
    Millis delay =
        nominal - Millis(static_cast<int64_t>(static_cast<double>(nominal.count()) * jitter));
    d.action = RestartDecision::Action::Restart;
    d.delay = delay;
    d.at = now + delay;
    d.restart_count = restart;
    d.reason = what + "; restart " + std::to_string(restart) + " of " + std::to_string(max) +
               " in " + format_delay(delay);
    return d;
  }
  std::string times = "restarted " + std::to_string(max) + (max == 1 ? " time" : " times");
  d.end_state = failed ? TaskState::Failed : TaskState::Completed;
  if (mode == RestartMode::Always && task.restart_count == max) {
    d.action = RestartDecision::Action::Reschedule;
    d.restart_count = max + 1;
    d.reason = times + "; giving up: " + what;
    return d;
  }
  d.action = RestartDecision::Action::GiveUp;
  bool rescheduled = mode == RestartMode::Always && task.restart_count > max;
  d.reason =
      times + (rescheduled ? " and rescheduled on another node" : "") + "; giving up: " + what;
  return d;
}

}  // namespace cube::broker
