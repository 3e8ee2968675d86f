// Restart policies, node-loss rescheduling and placement hints, through TaskLifecycle and
// plan_apply on a ManualClock.
#include <gtest/gtest.h>

#include "broker/placement_hints.h"
#include "broker/restart_policy.h"
#include "broker/task_lifecycle.h"
#include "broker_fixture.h"
#include "protocol/task_outcome.h"

namespace cube::broker {
namespace {

RestartOptions no_jitter() {
  RestartOptions o;
  o.jitter = 0;  // delays are exactly 1 s, 2 s, 4 s
  return o;
}

class TaskRestartTest : public testing::BrokerFixture {
 protected:
  void submit_with(const std::string& id, const std::string& policy) {
    Task t;
    t.id = id;
    t.image = "busybox";
    t.driver = "docker";
    t.restart_policy = policy;
    ASSERT_TRUE(tasks_.add(t, clock_.wall()).is_ok());
  }

  PlanApplyResult pass() {
    PlanApplyInput input;
    input.policy = Policy::RoundRobin;
    input.assign_timeout = kAssignTimeout;
    input.now = clock_.now();
    input.wall = clock_.wall();
    input.hints = &restarts_.hints();
    return plan_and_apply(tasks_, agents_, liveness_, input, out_);
  }

  // Places the task (on whichever agent the pass picks) and reports it Running there.
  void run(const std::string& id) {
    out_.clear();
    pass();
    const Task& t = task(id);
    ASSERT_EQ(t.state, TaskState::Scheduled) << t.reason;
    ASSERT_FALSE(t.node_id.empty()) << t.reason;
    AgentRecord& agent = *agents_.find(t.node_id);
    restarts_.on_accept(agent, id, t.attempt, out_);
    report(id, TaskState::Running);
    ASSERT_EQ(task(id).state, TaskState::Running);
  }

  void report(const std::string& id, TaskState state, std::optional<int32_t> exit = {}) {
    const Task& t = task(id);
    AttemptStatus s;
    s.task_id = id;
    s.attempt = t.attempt;
    s.state = state;
    s.exit_code = exit;
    if (is_terminal(state) && exit)  // the reason an agent reports with it
      s.reason = decide_outcome({TaskExit::Kind::Exited, exit, 0, false, ""}).reason;
    restarts_.apply_status(*agents_.find(t.node_id), s, clock_.wall(), out_);
  }

  void exit_with(const std::string& id, int code) {
    report(id, code == 0 ? TaskState::Completed : TaskState::Failed, code);
  }

  // Lets liveness see every welcomed agent as alive at the current time.
  void keep_alive() {
    for (const auto& [id, agent] : agents_.agents()) {
      if (agent.state == AgentState::Welcomed)
        liveness_.on_traffic(id, clock_.now());
    }
  }

  void advance(Millis d) {
    clock_.advance(d);
    keep_alive();
    restarts_.release_restarts(clock_.now());
  }

  TaskLifecycle restarts_{tasks_, agents_, counters_, Millis(10000), clock_, no_jitter(), 7};
};

TEST_F(TaskRestartTest, OnFailureRestartsWithBackoffThreeTimesThenGivesUp) {
  welcome("a1", 4);
  submit_with("t", "on-failure");
  run("t");
  const std::vector<Millis> backoffs = {Millis(1000), Millis(2000), Millis(4000)};
  for (size_t i = 0; i < backoffs.size(); ++i) {
    exit_with("t", 1);
    const Task& t = task("t");
    EXPECT_EQ(t.state, TaskState::Scheduled) << i;
    EXPECT_EQ(t.node_id, "") << i;
    EXPECT_EQ(t.restart_count, static_cast<int32_t>(i + 1));
    EXPECT_EQ(t.reason, "exit code 1; restart " + std::to_string(i + 1) + " of 3 in " +
                            format_delay(backoffs[i]));
    EXPECT_EQ(restarts_.next_restart(), clock_.now() + backoffs[i]);
    // The failure itself is in the history, before the restart.
    const auto h = history("t");
    EXPECT_EQ(h[h.size() - 2].state, TaskState::Failed);
    EXPECT_EQ(h[h.size() - 2].reason, "exit code 1");

    // Held until the backoff ends, even with free credit.
    out_.clear();
    advance(backoffs[i] - Millis(1));
    EXPECT_EQ(pass().placed, 0u) << i;
    EXPECT_TRUE(assigns().empty());
    advance(Millis(1));
    run("t");
    EXPECT_EQ(task("t").node_id, "a1");
  }
  exit_with("t", 1);
  EXPECT_EQ(task("t").state, TaskState::Failed);
  EXPECT_EQ(task("t").reason, "restarted 3 times; giving up: exit code 1");
  EXPECT_EQ(task("t").restart_count, 3);
  EXPECT_FALSE(restarts_.next_restart().has_value());
  EXPECT_EQ(counters_["tasks.restarts"], 3u);
  EXPECT_EQ(counters_["tasks.restarts_exhausted"], 1u);
}

TEST_F(TaskRestartTest, NoPolicyAndOnFailureWithExitZeroEndTheTask) {
  welcome("a1", 4);
  submit_with("plain", "");
  submit_with("ok", "on-failure");
  run("plain");
  run("ok");
  exit_with("plain", 1);
  exit_with("ok", 0);
  EXPECT_EQ(task("plain").state, TaskState::Failed);
  EXPECT_EQ(task("plain").reason, "exit code 1");
  EXPECT_EQ(task("ok").state, TaskState::Completed);
  EXPECT_EQ(task("ok").restart_count, 0);
  EXPECT_FALSE(restarts_.next_restart().has_value());
}

TEST_F(TaskRestartTest, AlwaysRestartsAnExitZeroButNotAUserStop) {
  welcome("a1", 4);
  submit_with("t", "always");
  run("t");
  exit_with("t", 0);
  EXPECT_EQ(task("t").state, TaskState::Scheduled);
  EXPECT_EQ(task("t").restart_count, 1);
  EXPECT_EQ(task("t").reason, "exit code 0; restart 1 of 3 in 1s");
  advance(Millis(1000));
  run("t");

  ASSERT_TRUE(restarts_.stop_task("t", clock_.wall(), out_).is_ok());
  report("t", TaskState::Completed, 143);
  EXPECT_EQ(task("t").state, TaskState::Completed);
  EXPECT_EQ(task("t").reason, "stopped");
  EXPECT_FALSE(restarts_.next_restart().has_value());
}

TEST_F(TaskRestartTest, StoppingATaskDuringItsBackoffEndsIt) {
  welcome("a1", 4);
  submit_with("t", "on-failure");
  run("t");
  exit_with("t", 1);
  ASSERT_TRUE(restarts_.next_restart().has_value());
  ASSERT_TRUE(restarts_.stop_task("t", clock_.wall(), out_).is_ok());
  EXPECT_EQ(task("t").state, TaskState::Completed);
  EXPECT_FALSE(restarts_.next_restart().has_value());
  advance(Millis(5000));
  EXPECT_EQ(pass().placed, 0u);
}

TEST_F(TaskRestartTest, ARestartStaysOnItsNodeWhileThatNodeIsReady) {
  welcome("a1", 4);
  submit_with("t", "on-failure");
  run("t");
  welcome("b1", 4);  // round robin would pick b1 next without the hint
  exit_with("t", 1);
  advance(Millis(1000));
  run("t");
  EXPECT_EQ(task("t").node_id, "a1");
  EXPECT_EQ(restarts_.hints().find("t"), nullptr);  // erased once placed

  // a1 busy: the restart waits for it, saying so.
  exit_with("t", 1);
  agents_.on_credit(*agents_.find("a1"), 0);
  advance(Millis(2000));
  EXPECT_EQ(pass().placed, 0u);
  EXPECT_EQ(task("t").reason,
            "waiting for node n-a1 (a restart stays on its node): no node has a "
            "free slot");
  // a1 lost: the preference no longer binds, b1 takes it.
  agents_.mark_lost("a1");
  run("t");
  EXPECT_EQ(task("t").node_id, "b1");
}

TEST_F(TaskRestartTest, AlwaysIsRescheduledOnceOnAnotherNodeThenGivesUp) {
  welcome("a1", 4);
  submit_with("t", "always");
  run("t");
  welcome("b1", 4);
  for (int i = 0; i < 3; ++i) {
    exit_with("t", 1);
    advance(Millis(10000));
    run("t");
    ASSERT_EQ(task("t").node_id, "a1");
  }
  exit_with("t", 1);
  EXPECT_EQ(task("t").state, TaskState::Scheduled);
  EXPECT_EQ(task("t").restart_count, 4);
  const auto h = history("t");
  EXPECT_EQ(h[h.size() - 2].state, TaskState::Failed);
  EXPECT_EQ(h[h.size() - 2].reason, "restarted 3 times; giving up: exit code 1");
  EXPECT_EQ(task("t").reason,
            "rescheduling on a node other than n-a1: restarted 3 times; giving up: exit code 1");
  run("t");  // at once, no backoff
  EXPECT_EQ(task("t").node_id, "b1");
  exit_with("t", 1);
  EXPECT_EQ(task("t").state, TaskState::Failed);
  EXPECT_EQ(task("t").reason,
            "restarted 3 times and rescheduled on another node; giving up: exit code 1");
}

TEST_F(TaskRestartTest, AlwaysWithNoOtherNodeGivesUpInPlace) {
  welcome("a1", 4);
  submit_with("t", "always");
  run("t");
  for (int i = 0; i < 3; ++i) {
    exit_with("t", 0);
    advance(Millis(10000));
    run("t");
  }
  exit_with("t", 0);
  EXPECT_EQ(task("t").state, TaskState::Completed);
  EXPECT_EQ(task("t").reason,
            "restarted 3 times; giving up: exit code 0; no other node to reschedule on");
}

TEST_F(TaskRestartTest, NodeLossReschedulesAtOnceUnlessThePolicyIsNo) {
  welcome("a1", 4);
  submit_with("keep", "always");
  submit_with("retry", "on-failure");
  submit_with("plain", "no");
  run("keep");
  run("retry");
  run("plain");
  welcome("b1", 4);
  restarts_.node_lost("a1", clock_.wall());
  for (const char* id : {"keep", "retry"}) {
    EXPECT_EQ(task(id).state, TaskState::Scheduled) << id;
    EXPECT_EQ(task(id).reason, "rescheduled after node lost") << id;
    EXPECT_EQ(task(id).restart_count, 0) << id;  // not a restart
    const auto h = history(id);
    EXPECT_EQ(h[h.size() - 2].state, TaskState::Failed);
    EXPECT_EQ(h[h.size() - 2].reason, "node lost");
  }
  EXPECT_EQ(task("plain").state, TaskState::Failed);
  EXPECT_EQ(task("plain").reason, "node lost");
  out_.clear();
  EXPECT_EQ(pass().placed, 2u);  // no backoff
  EXPECT_EQ(task("keep").node_id, "b1");
  EXPECT_EQ(task("retry").node_id, "b1");
  EXPECT_EQ(task("keep").attempt, 2u);
}

TEST_F(TaskRestartTest, AReturningNodeGetsStopsForMovedCopiesAndKeepsWhatWasNotPlaced) {
  welcome("a1", 4);
  submit_with("moved", "always");
  submit_with("waiting", "always");
  run("moved");
  run("waiting");
  auto running_report = [&](const std::string& id) {
    AttemptStatus s;
    s.task_id = id;
    s.attempt = task(id).attempt;
    s.state = TaskState::Running;
    return s;
  };
  AttemptStatus moved_report = running_report("moved");
  AttemptStatus waiting_report = running_report("waiting");
  restarts_.node_lost("a1", clock_.wall());
  // Only one slot elsewhere: "moved" is placed on b1, "waiting" stays in the queue.
  welcome("b1", 1);
  out_.clear();
  keep_alive();
  ASSERT_EQ(pass().placed, 1u);
  ASSERT_EQ(task("moved").node_id, "b1");
  ASSERT_EQ(task("waiting").node_id, "");

  out_.clear();
  AgentRecord& back = welcome("a1", 2);
  restarts_.reconcile(back, std::vector<AttemptStatus>{moved_report, waiting_report}, clock_.wall(),
                      out_);
  ASSERT_EQ(stops().size(), 1u);
  EXPECT_EQ(stops()[0].first, "a1");
  EXPECT_EQ(stops()[0].second.task_id, "moved");
  EXPECT_EQ(stops()[0].second.attempt, moved_report.attempt);
  EXPECT_EQ(task("moved").node_id, "b1");
  EXPECT_EQ(task("waiting").state, TaskState::Running);
  EXPECT_EQ(task("waiting").node_id, "a1");
  EXPECT_EQ(task("waiting").reason, "node returned");
  EXPECT_EQ(task("waiting").attempt, waiting_report.attempt);
  EXPECT_EQ(counters_["tasks.adopted_after_return"], 1u);
}

TEST_F(TaskRestartTest, AgentLostTaskIsRescheduled) {
  AgentRecord& a = welcome("a1", 4);
  submit_with("t", "on-failure");
  run("t");
  restarts_.reconcile(a, {}, clock_.wall(), out_);  // a SNAPSHOT without the task
  EXPECT_EQ(task("t").state, TaskState::Scheduled);
  EXPECT_EQ(task("t").reason, "rescheduled after agent lost the task");
  keep_alive();
  run("t");
  EXPECT_EQ(task("t").attempt, 2u);
}

TEST(PlacementHints, HoldsReleaseInOrderAndHintsAreReplaced) {
  PlacementHints hints;
  SteadyTime t0{};
  hints.set("b", PlacementHint{t0 + Millis(200), "n1", ""});
  hints.set("a", PlacementHint{t0 + Millis(100), "", ""});
  hints.set("c", PlacementHint{std::nullopt, "", "n2"});
  EXPECT_EQ(hints.held_count(), 2u);
  EXPECT_EQ(hints.next_release(), t0 + Millis(100));
  EXPECT_TRUE(hints.is_held("a", t0));
  EXPECT_FALSE(hints.is_held("c", t0));
  EXPECT_EQ(hints.release_due(t0 + Millis(150)), std::vector<std::string>{"a"});
  EXPECT_FALSE(hints.is_held("a", t0));
  ASSERT_NE(hints.find("a"), nullptr);                        // the rest of the hint stays
  hints.set("b", PlacementHint{t0 + Millis(500), "n1", ""});  // replaced, not added
  EXPECT_EQ(hints.held_count(), 1u);
  EXPECT_EQ(hints.next_release(), t0 + Millis(500));
  hints.erase("b");
  EXPECT_FALSE(hints.next_release().has_value());
  EXPECT_EQ(hints.size(), 2u);
}

}  // namespace
}  // namespace cube::broker
