#include "broker/restart_policy.h"

#include <gtest/gtest.h>

namespace cube::broker {
namespace {

using Action = RestartDecision::Action;

Task task_with(std::string policy, int32_t restarts, TaskState desired = TaskState::Running) {
  Task t;
  t.id = "t";
  t.restart_policy = std::move(policy);
  t.restart_count = restarts;
  t.desired_state = desired;
  return t;
}

TEST(RestartPolicy, ModesFromThePolicyText) {
  EXPECT_EQ(restart_mode(""), RestartMode::Never);
  EXPECT_EQ(restart_mode("no"), RestartMode::Never);
  EXPECT_EQ(restart_mode("on-failure"), RestartMode::OnFailure);
  EXPECT_EQ(restart_mode("always"), RestartMode::Always);
  EXPECT_EQ(restart_mode("sometimes"), std::nullopt);
}

TEST(RestartPolicy, DecisionTable) {
  ManualClock clock;
  clock.advance(Millis(5000));
  RestartOptions options;  // 3 restarts, 1 s doubling, cap 60 s, jitter 0.2
  struct Case {
    const char* name;
    Task task;
    TaskState ended;
    Action action;
    int32_t restart_count;
    std::string reason;
    TaskState end_state = TaskState::Failed;
  };
  const std::vector<Case> cases = {
      {"no policy, failed", task_with("", 0), TaskState::Failed, Action::Keep, 0, ""},
      {"no, failed", task_with("no", 0), TaskState::Failed, Action::Keep, 0, ""},
      {"on-failure, exit 0", task_with("on-failure", 0), TaskState::Completed, Action::Keep, 0, ""},
      {"on-failure, first failure", task_with("on-failure", 0), TaskState::Failed, Action::Restart,
       1, "exit code 1; restart 1 of 3 in 1s"},
      {"on-failure, third failure", task_with("on-failure", 2), TaskState::Failed, Action::Restart,
       3, "exit code 1; restart 3 of 3 in 4s"},
      {"on-failure, out of restarts", task_with("on-failure", 3), TaskState::Failed, Action::GiveUp,
       3, "restarted 3 times; giving up: exit code 1"},
      {"always, exit 0", task_with("always", 0), TaskState::Completed, Action::Restart, 1,
       "exit code 1; restart 1 of 3 in 1s"},
      {"always, out of restarts: once more elsewhere", task_with("always", 3), TaskState::Failed,
       Action::Reschedule, 4, "restarted 3 times; giving up: exit code 1"},
      {"always, exit 0 out of restarts", task_with("always", 3), TaskState::Completed,
       Action::Reschedule, 4, "restarted 3 times; giving up: exit code 1", TaskState::Completed},
      {"always, after the reschedule", task_with("always", 4), TaskState::Failed, Action::GiveUp, 4,
       "restarted 3 times and rescheduled on another node; giving up: exit code 1"},
      {"stopped by the user", task_with("always", 0, TaskState::Completed), TaskState::Completed,
       Action::Keep, 0, ""},
      {"stopped by the user, failed", task_with("on-failure", 0, TaskState::Completed),
       TaskState::Failed, Action::Keep, 0, ""},
  };
  for (const auto& c : cases) {
    // random 0: no jitter, so the delays are the nominal ones.
    RestartDecision d = decide_restart(c.task, c.ended, "exit code 1", clock.now(), 0.0, options);
    EXPECT_EQ(d.action, c.action) << c.name;
    EXPECT_EQ(d.restart_count, c.restart_count) << c.name;
    EXPECT_EQ(d.reason, c.reason) << c.name;
    if (c.action == Action::Restart) {
      EXPECT_EQ(d.at, clock.now() + d.delay) << c.name;
      EXPECT_EQ(d.delay, nominal_backoff(c.restart_count, options)) << c.name;
    }
    if (c.action == Action::GiveUp || c.action == Action::Reschedule) {
      EXPECT_EQ(d.end_state, c.end_state) << c.name;
    }
  }
}

TEST(RestartPolicy, BackoffDoublesFromOneSecondAndCapsAtSixty) {
  RestartOptions options;
  options.max_restarts = 100;
  std::vector<int64_t> expected = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(nominal_backoff(static_cast<int>(i) + 1, options).count(), expected[i]) << i;
  EXPECT_EQ(nominal_backoff(1000, options).count(), 60000);  // no overflow far out
}

TEST(RestartPolicy, JitterOnlyShortensWithinItsFraction) {
  ManualClock clock;
  RestartOptions options;
  Task t = task_with("on-failure", 1);  // restart 2: nominal 2 s
  auto delay = [&](double random) {
    return decide_restart(t, TaskState::Failed, "", clock.now(), random, options).delay;
  };
  EXPECT_EQ(delay(0.0), Millis(2000));
  EXPECT_EQ(delay(0.5), Millis(1800));
  EXPECT_GT(delay(0.999999), Millis(1600));
  EXPECT_LE(delay(0.999999), Millis(2000));
  // The reason names the jittered delay and a default cause.
  auto d = decide_restart(t, TaskState::Failed, "", clock.now(), 0.5, options);
  EXPECT_EQ(d.reason, "failed; restart 2 of 3 in 1.8s");
}

TEST(RestartPolicy, ConfigurableLimitsAndBackoff) {
  ManualClock clock;
  RestartOptions options;
  options.max_restarts = 1;
  options.initial_backoff = Millis(200);
  options.max_backoff = Millis(300);
  options.jitter = 0;
  auto first = decide_restart(task_with("on-failure", 0), TaskState::Failed, "exit code 2",
                              clock.now(), 0.7, options);
  EXPECT_EQ(first.action, Action::Restart);
  EXPECT_EQ(first.delay, Millis(200));
  EXPECT_EQ(first.reason, "exit code 2; restart 1 of 1 in 200ms");
  auto done = decide_restart(task_with("on-failure", 1), TaskState::Failed, "exit code 2",
                             clock.now(), 0.7, options);
  EXPECT_EQ(done.action, Action::GiveUp);
  EXPECT_EQ(done.reason, "restarted 1 time; giving up: exit code 2");
  options.max_restarts = 0;
  auto never = decide_restart(task_with("on-failure", 0), TaskState::Failed, "exit code 2",
                              clock.now(), 0.7, options);
  EXPECT_EQ(never.action, Action::GiveUp);
  EXPECT_EQ(nominal_backoff(5, RestartOptions{3, Millis(200), Millis(300), 0}), Millis(300));
}

TEST(RestartPolicy, FormatDelay) {
  EXPECT_EQ(format_delay(Millis(950)), "950ms");
  EXPECT_EQ(format_delay(Millis(4000)), "4s");
  EXPECT_EQ(format_delay(Millis(1500)), "1.5s");
  EXPECT_EQ(format_delay(Millis(60000)), "1m");
}

}  // namespace
}  // namespace cube::broker
