#include "broker/task_lifecycle.h"

#include <gtest/gtest.h>

#include "broker_fixture.h"
#include "protocol/task_outcome.h"

namespace cube::broker {
namespace {

class TaskLifecycleTest : public testing::BrokerFixture {
 protected:
  // Submits `id` and places it on a fresh agent `agent_id`; returns the agent.
  AgentRecord& placed(const std::string& id, const std::string& agent_id = "a1") {
    submit(id);
    AgentRecord* agent = agents_.find(agent_id);
    if (agent == nullptr || agent->state != AgentState::Welcomed)
      agent = &welcome(agent_id, 4);
    schedule_pass();
    EXPECT_EQ(task(id).node_id, agent_id);
    out_.clear();
    return *agent;
  }
  AgentRecord& running(const std::string& id, const std::string& agent_id = "a1") {
    AgentRecord& agent = placed(id, agent_id);
    lifecycle_.on_accept(agent, id, task(id).attempt, out_);
    lifecycle_.apply_status(agent, status(id, TaskState::Running), clock_.wall(), out_);
    EXPECT_EQ(task(id).state, TaskState::Running);
    out_.clear();
    return agent;
  }
  AttemptStatus status(const std::string& id, TaskState state, std::optional<int32_t> exit = {}) {
    AttemptStatus s;
    s.task_id = id;
    s.attempt = task(id).attempt;
    s.state = state;
    s.exit_code = exit;
    if (is_terminal(state) && exit)  // the reason an agent reports with it
      s.reason = decide_outcome({TaskExit::Kind::Exited, exit, 0, false, ""}).reason;
    s.container_id = "c-" + id;
    s.start_time_ms = 1000;
    if (is_terminal(state))
      s.finish_time_ms = 2000;
    return s;
  }
};

TEST_F(TaskLifecycleTest, AcceptKeepsScheduledAndRunningReportStartsTheTask) {
  AgentRecord& a = placed("t");
  lifecycle_.on_accept(a, "t", 1, out_);
  EXPECT_TRUE(out_.empty());
  EXPECT_EQ(task("t").state, TaskState::Scheduled);
  EXPECT_TRUE(a.unanswered.empty());

  AttemptStatus s = status("t", TaskState::Running);
  s.port_bindings["80/tcp"] = {{"0.0.0.0", "32768"}};
  lifecycle_.apply_status(a, s, clock_.wall(), out_);
  EXPECT_EQ(task("t").state, TaskState::Running);
  EXPECT_EQ(task("t").container_id, "c-t");
  EXPECT_EQ(task("t").start_time_ms, 1000);
  EXPECT_EQ(task("t").port_bindings.at("80/tcp")[0].host_port, "32768");
  size_t events = history("t").size();
  tasks_.mark_committed();
  // The same report again changes nothing.
  lifecycle_.apply_status(a, s, clock_.wall(), out_);
  EXPECT_EQ(history("t").size(), events);
  EXPECT_FALSE(tasks_.has_uncommitted());
  EXPECT_TRUE(out_.empty());
}

TEST_F(TaskLifecycleTest, LateAcceptForAnOldAttemptGetsAStop) {
  AgentRecord& a = placed("t");
  clock_.advance(kAssignTimeout);
  for (const auto& e : agents_.take_expired(clock_.now()))
    lifecycle_.on_assignment_expired(e, clock_.wall(), out_);
  ASSERT_EQ(stops().size(), 1u);  // the taken-back attempt is stopped in case it arrives
  EXPECT_EQ(stops()[0].second.attempt, 1u);
  EXPECT_EQ(task("t").state, TaskState::Scheduled);
  EXPECT_EQ(task("t").node_id, "");
  out_.clear();
  lifecycle_.on_accept(a, "t", 1, out_);
  ASSERT_EQ(stops().size(), 1u);
  EXPECT_EQ(stops()[0].first, "a1");
  EXPECT_EQ(stops()[0].second.task_id, "t");
  EXPECT_EQ(stops()[0].second.attempt, 1u);
  EXPECT_EQ(stops()[0].second.grace_ms, 10000);
  EXPECT_EQ(counters_["work.late_accept"], 1u);
}

TEST_F(TaskLifecycleTest, RejectOffersAgainAndGivesUpAfterTooManyOffers) {
  AgentRecord& a = placed("t");
  lifecycle_.on_reject(a, "t", 1, "driver busy", clock_.wall());
  EXPECT_EQ(task("t").state, TaskState::Scheduled);
  EXPECT_EQ(task("t").node_id, "");
  EXPECT_EQ(task("t").reason, "offering again: rejected by n-a1: driver busy");
  EXPECT_EQ(tasks_.placement_queue(5), std::vector<std::string_view>{"t"});
  // A duplicate REJECT changes nothing.
  lifecycle_.on_reject(a, "t", 1, "driver busy", clock_.wall());
  EXPECT_EQ(counters_["work.late_reject"], 1u);
  for (uint32_t attempt = 2; attempt <= kMaxOffersWithoutAccept; ++attempt) {
    agents_.on_credit(a, 4);
    schedule_pass();
    ASSERT_EQ(task("t").attempt, attempt);
    lifecycle_.on_reject(a, "t", attempt, "no", clock_.wall());
  }
  EXPECT_EQ(task("t").state, TaskState::Failed);
  EXPECT_EQ(task("t").reason.rfind("gave up after 5 offers", 0), 0u) << task("t").reason;
}

TEST_F(TaskLifecycleTest, FinalReportsEndTheTaskWithTheExitCode) {
  AgentRecord& a = running("ok");
  running("bad");
  running("oom");
  lifecycle_.apply_status(a, status("ok", TaskState::Completed, 0), clock_.wall(), out_);
  lifecycle_.apply_status(a, status("bad", TaskState::Failed, 3), clock_.wall(), out_);
  AttemptStatus oom = status("oom", TaskState::Failed, 137);
  oom.reason = "out of memory";
  lifecycle_.apply_status(a, oom, clock_.wall(), out_);
  EXPECT_EQ(task("ok").state, TaskState::Completed);
  EXPECT_EQ(task("ok").exit_code, 0);
  EXPECT_EQ(task("ok").reason, "exit code 0");
  EXPECT_EQ(task("ok").finish_time_ms, 2000);
  EXPECT_EQ(task("bad").state, TaskState::Failed);
  EXPECT_EQ(task("bad").reason, "exit code 3");
  EXPECT_EQ(task("oom").reason, "out of memory");
  EXPECT_TRUE(tasks_.tasks_on_node("a1").empty());
  // A late Running report of an ended task stops it.
  lifecycle_.apply_status(a, status("ok", TaskState::Running), clock_.wall(), out_);
  EXPECT_EQ(task("ok").state, TaskState::Completed);
  EXPECT_EQ(stops().size(), 1u);
}

TEST_F(TaskLifecycleTest, ReportsForUnknownTasksOrOtherAttemptsAreIgnoredOrStopped) {
  AgentRecord& a = running("t");
  AttemptStatus unknown;
  unknown.task_id = "nope";
  unknown.attempt = 1;
  unknown.state = TaskState::Running;
  lifecycle_.apply_status(a, unknown, clock_.wall(), out_);
  AttemptStatus old = status("t", TaskState::Failed, 1);
  old.attempt = 0;
  lifecycle_.apply_status(a, old, clock_.wall(), out_);
  EXPECT_EQ(task("t").state, TaskState::Running);  // stale attempt: ignored
  ASSERT_EQ(stops().size(), 1u);
  EXPECT_EQ(stops()[0].second.task_id, "nope");
  AgentRecord& b = welcome("b1", 1);
  lifecycle_.apply_status(b, status("t", TaskState::Running), clock_.wall(), out_);
  ASSERT_EQ(stops().size(), 2u);  // the task is not b1's
  EXPECT_EQ(stops()[1].first, "b1");
}

TEST_F(TaskLifecycleTest, StopPendingAndScheduledAtOnce) {
  submit("p");
  EXPECT_TRUE(lifecycle_.stop_task("p", clock_.wall(), out_).is_ok());
  EXPECT_EQ(task("p").state, TaskState::Completed);
  EXPECT_EQ(task("p").reason, "stopped");
  EXPECT_EQ(task("p").desired_state, TaskState::Completed);
  EXPECT_TRUE(out_.empty());

  AgentRecord& a = placed("s");
  EXPECT_TRUE(lifecycle_.stop_task("s", clock_.wall(), out_).is_ok());
  EXPECT_EQ(task("s").state, TaskState::Completed);
  ASSERT_EQ(stops().size(), 1u);
  EXPECT_EQ(stops()[0].second.attempt, 1u);
  // The ACCEPT that crossed the STOP on the wire needs no second STOP, but frees the slot.
  lifecycle_.on_accept(a, "s", 1, out_);
  EXPECT_EQ(stops().size(), 1u);
  EXPECT_TRUE(a.unanswered.empty());
  // Stopping again is fine and changes nothing.
  size_t events = history("s").size();
  EXPECT_TRUE(lifecycle_.stop_task("s", clock_.wall(), out_).is_ok());
  EXPECT_EQ(history("s").size(), events);
  auto missing = lifecycle_.stop_task("zzz", clock_.wall(), out_);
  EXPECT_TRUE(missing.is_not_found());
  EXPECT_EQ(missing.message(), "no task with ID zzz");
}

TEST_F(TaskLifecycleTest, StopRunningWaitsForTheAgentsFinalReport) {
  AgentRecord& a = running("r");
  EXPECT_TRUE(lifecycle_.stop_task("r", clock_.wall(), out_).is_ok());
  EXPECT_EQ(task("r").state, TaskState::Running);
  ASSERT_EQ(stops().size(), 1u);
  EXPECT_EQ(stops()[0].first, "a1");
  // Killed: whatever the exit code, a stopped task ends Completed "stopped".
  lifecycle_.apply_status(a, status("r", TaskState::Failed, 143), clock_.wall(), out_);
  EXPECT_EQ(task("r").state, TaskState::Completed);
  EXPECT_EQ(task("r").reason, "stopped");
  EXPECT_EQ(task("r").exit_code, 143);
}

TEST_F(TaskLifecycleTest, StopRunningOnALostNodeEndsAtOnce) {
  running("r");
  agents_.mark_lost("a1");  // session gone, tasks not yet failed
  EXPECT_TRUE(lifecycle_.stop_task("r", clock_.wall(), out_).is_ok());
  EXPECT_EQ(task("r").state, TaskState::Completed);
  EXPECT_EQ(task("r").reason, "stopped");
}

TEST_F(TaskLifecycleTest, NodeLostFailsAcceptedTasksAndOffersUnansweredOnesAgain) {
  running("r");
  placed("unanswered");
  running("stopping");
  ASSERT_TRUE(lifecycle_.stop_task("stopping", clock_.wall(), out_).is_ok());
  lifecycle_.node_lost("a1", clock_.wall());
  EXPECT_EQ(task("r").state, TaskState::Failed);
  EXPECT_EQ(task("r").reason, "node lost");
  EXPECT_EQ(task("stopping").state, TaskState::Completed);
  EXPECT_EQ(task("stopping").reason, "stopped");
  EXPECT_EQ(task("unanswered").state, TaskState::Scheduled);
  EXPECT_EQ(task("unanswered").node_id, "");
  EXPECT_EQ(agents_.find("a1")->state, AgentState::Lost);
  EXPECT_TRUE(tasks_.tasks_on_node("a1").empty());
}

TEST_F(TaskLifecycleTest, HelloAfterLossAdoptsTheTaskAgain) {
  running("r");
  AttemptStatus report = status("r", TaskState::Running);
  lifecycle_.node_lost("a1", clock_.wall());
  ASSERT_EQ(task("r").state, TaskState::Failed);
  AgentRecord& back = welcome("a1", 3);
  lifecycle_.reconcile(back, std::vector<AttemptStatus>{report}, clock_.wall(), out_);
  EXPECT_EQ(task("r").state, TaskState::Running);
  EXPECT_EQ(task("r").reason, "node returned");
  const auto h = history("r");
  ASSERT_GE(h.size(), 3u);
  EXPECT_EQ(h[h.size() - 3].state, TaskState::Failed);
  EXPECT_EQ(h[h.size() - 2].state, TaskState::Scheduled);
  EXPECT_EQ(h[h.size() - 1].state, TaskState::Running);
  EXPECT_TRUE(stops().empty());
  EXPECT_EQ(tasks_.tasks_on_node("a1").size(), 1u);
}

TEST_F(TaskLifecycleTest, HelloStopsWhatMovedOrEndedAndFailsWhatTheAgentLost) {
  running("kept");
  running("lost_by_agent");
  placed("never_arrived");
  running("moved");
  AttemptStatus moved_report = status("moved", TaskState::Running);
  // "moved" is taken elsewhere: its node is lost and it is placed on b1.
  {
    AgentRecord& b = welcome("b1", 2);
    ASSERT_TRUE(
        tasks_.transition("moved", TaskState::Failed, "node lost", std::nullopt, clock_.wall())
            .is_ok());
    ASSERT_TRUE(tasks_
                    .update(
                        "moved", [](TaskStatus& t) { t.attempt = 2; }, clock_.wall())
                    .is_ok());
    ASSERT_TRUE(
        tasks_.transition("moved", TaskState::Scheduled, "", NodeRef{b.id, b.name}, clock_.wall())
            .is_ok());
  }
  AttemptStatus unknown;
  unknown.task_id = "ghost";
  unknown.attempt = 4;
  unknown.state = TaskState::Running;
  std::vector<AttemptStatus> reported = {status("kept", TaskState::Running), moved_report, unknown};

  AgentRecord& a = welcome("a1", 3);  // restarted agent: new session
  lifecycle_.reconcile(a, reported, clock_.wall(), out_);
  EXPECT_EQ(task("kept").state, TaskState::Running);
  EXPECT_EQ(task("lost_by_agent").state, TaskState::Failed);
  EXPECT_EQ(task("lost_by_agent").reason, "agent lost the task");
  EXPECT_EQ(task("never_arrived").state, TaskState::Scheduled);
  EXPECT_EQ(task("never_arrived").node_id, "");  // offered again
  EXPECT_EQ(task("moved").node_id, "b1");
  std::set<std::string> stopped;
  for (const auto& [agent, stop] : stops()) {
    EXPECT_EQ(agent, "a1");
    stopped.insert(stop.task_id);
  }
  EXPECT_EQ(stopped, (std::set<std::string>{"moved", "ghost"}));
}

TEST_F(TaskLifecycleTest, HelloRepeatsTheStopOfATaskTheUserStopped) {
  running("r");
  ASSERT_TRUE(lifecycle_.stop_task("r", clock_.wall(), out_).is_ok());
  out_.clear();
  AgentRecord& a = welcome("a1", 3);
  lifecycle_.reconcile(a, std::vector<AttemptStatus>{status("r", TaskState::Running)},
                       clock_.wall(), out_);
  ASSERT_EQ(stops().size(), 1u);
  EXPECT_EQ(stops()[0].second.task_id, "r");
  EXPECT_EQ(task("r").state, TaskState::Running);
}

TEST_F(TaskLifecycleTest, SnapshotLeavesAssignmentsInFlightAlone) {
  AgentRecord& a = placed("in_flight");
  lifecycle_.reconcile(a, {}, clock_.wall(), out_);
  EXPECT_EQ(task("in_flight").node_id, "a1");  // its ASSIGN may still be on the way
  EXPECT_TRUE(a.unanswered.contains(std::string_view("in_flight")));
}

}  // namespace
}  // namespace cube::broker
