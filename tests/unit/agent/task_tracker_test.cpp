#include "agent/task_tracker.h"

#include <gtest/gtest.h>

#include <utility>

#include "common/clock.h"

namespace cube::agent {
namespace {

using Admission = TaskTracker::Admission;
using AfterStart = TaskTracker::AfterStart;
using StopRequest = TaskTracker::StopRequest;

AttemptStatus final_status(const std::string& id, uint32_t attempt, TaskState state) {
  AttemptStatus s;
  s.task_id = id;
  s.attempt = attempt;
  s.state = state;
  s.exit_code = state == TaskState::Completed ? 0 : 1;
  return s;
}

TEST(TaskTrackerTest, FreeSlotsFollowActiveAttempts) {
  ManualClock clock;
  TaskTracker t(2);
  EXPECT_EQ(t.free_slots(), 2u);
  EXPECT_EQ(t.admit("a", 1), Admission::Admitted);
  EXPECT_EQ(t.free_slots(), 1u);
  EXPECT_EQ(t.admit("b", 1), Admission::Admitted);
  EXPECT_EQ(t.free_slots(), 0u);
  EXPECT_EQ(t.admit("c", 1), Admission::NoFreeSlot);
  EXPECT_EQ(t.find("c", 1), nullptr) << "a rejected attempt is not recorded";

  TrackedAttempt* a = t.find("a", 1);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->phase, AttemptPhase::Starting);
  EXPECT_EQ(t.mark_running(*a, final_status("a", 1, TaskState::Running)), AfterStart::Run);
  EXPECT_EQ(t.request_stop(*a, "", Millis(10)), StopRequest::StopNow);
  EXPECT_EQ(a->phase, AttemptPhase::Stopping);
  EXPECT_EQ(t.free_slots(), 0u) << "a stopping attempt still holds its slot";
  t.mark_finished(*a, final_status("a", 1, TaskState::Completed), clock.now());
  EXPECT_EQ(t.free_slots(), 1u);
  EXPECT_EQ(t.active(), 1u);
  EXPECT_EQ(t.admit("c", 1), Admission::Admitted);
}

TEST(TaskTrackerTest, DuplicateAssignIsRecognisedInEveryPhase) {
  ManualClock clock;
  TaskTracker t(1);
  ASSERT_EQ(t.admit("a", 3), Admission::Admitted);
  EXPECT_EQ(t.admit("a", 3), Admission::Duplicate) << "starting";
  t.mark_running(*t.find("a", 3), final_status("a", 3, TaskState::Running));
  EXPECT_EQ(t.admit("a", 3), Admission::Duplicate) << "running";
  t.mark_finished(*t.find("a", 3), final_status("a", 3, TaskState::Failed), clock.now());
  EXPECT_EQ(t.admit("a", 3), Admission::Duplicate) << "finished: accepted again, never rerun";
  EXPECT_EQ(t.active(), 0u);
}

TEST(TaskTrackerTest, AnotherAttemptOfARunningTaskIsRefused) {
  ManualClock clock;
  TaskTracker t(4);
  ASSERT_EQ(t.admit("a", 1), Admission::Admitted);
  EXPECT_EQ(t.admit("a", 2), Admission::OtherAttemptActive);
  t.mark_finished(*t.find("a", 1), final_status("a", 1, TaskState::Failed), clock.now());
  EXPECT_EQ(t.admit("a", 2), Admission::Admitted) << "once the old attempt ended";
}

TEST(TaskTrackerTest, FindActiveWithAttemptZeroMeansAny) {
  ManualClock clock;
  TaskTracker t(4);
  ASSERT_EQ(t.admit("a", 1), Admission::Admitted);
  t.mark_finished(*t.find("a", 1), final_status("a", 1, TaskState::Failed), clock.now());
  ASSERT_EQ(t.admit("a", 2), Admission::Admitted);
  ASSERT_EQ(t.admit("ab", 1), Admission::Admitted);
  TrackedAttempt* any = t.find_active("a", 0);
  ASSERT_NE(any, nullptr);
  EXPECT_EQ(any->attempt, 2u);
  EXPECT_EQ(t.find_active("a", 1), nullptr) << "attempt 1 is finished";
  EXPECT_NE(t.find_active("a", 2), nullptr);
  EXPECT_EQ(t.find_active("a", 7), nullptr);
  EXPECT_EQ(t.find_active("zzz", 0), nullptr);
}

TEST(TaskTrackerTest, SnapshotReportsActiveAndFinishedAttempts) {
  ManualClock clock;
  TaskTracker t(4);
  ASSERT_EQ(t.admit("b", 1), Admission::Admitted);
  ASSERT_EQ(t.admit("a", 1), Admission::Admitted);
  AttemptStatus running = final_status("a", 1, TaskState::Running);
  running.start_time_ms = 42;
  t.mark_running(*t.find("a", 1), running);
  ASSERT_EQ(t.admit("c", 1), Admission::Admitted);
  t.mark_finished(*t.find("c", 1), final_status("c", 1, TaskState::Completed), clock.now());

  auto snap = t.snapshot();
  ASSERT_EQ(snap.size(), 3u);
  EXPECT_EQ(snap[0].task_id, "a");
  EXPECT_EQ(snap[0].state, TaskState::Running);
  EXPECT_EQ(snap[0].start_time_ms, 42);
  EXPECT_EQ(snap[1].task_id, "b");
  EXPECT_EQ(snap[1].state, TaskState::Scheduled) << "starting: nothing runs yet";
  EXPECT_EQ(snap[2].task_id, "c");
  EXPECT_EQ(snap[2].state, TaskState::Completed);
}

TEST(TaskTrackerTest, FinishedAttemptsAreBoundedByCount) {
  ManualClock clock;
  TaskTracker t(1, /*max_finished=*/3, Millis(60 * 60 * 1000));
  for (uint32_t i = 1; i <= 5; ++i) {
    std::string id = "t" + std::to_string(i);
    ASSERT_EQ(t.admit(id, 1), Admission::Admitted);
    t.mark_finished(*t.find(id, 1), final_status(id, 1, TaskState::Completed), clock.now());
    clock.advance(Millis(1));
  }
  EXPECT_EQ(t.finished_count(), 3u);
  EXPECT_EQ(t.find("t1", 1), nullptr);
  EXPECT_EQ(t.find("t2", 1), nullptr);
  EXPECT_NE(t.find("t3", 1), nullptr);
  EXPECT_NE(t.find("t5", 1), nullptr);
  EXPECT_EQ(t.snapshot().size(), 3u);
}

TEST(TaskTrackerTest, FinishedAttemptsExpireAfterTheTtl) {
  ManualClock clock;
  TaskTracker t(2, 1000, Millis(60 * 60 * 1000));
  ASSERT_EQ(t.admit("old", 1), Admission::Admitted);
  t.mark_finished(*t.find("old", 1), final_status("old", 1, TaskState::Failed), clock.now());
  clock.advance(Millis(30 * 60 * 1000));
  ASSERT_EQ(t.admit("new", 1), Admission::Admitted);
  t.mark_finished(*t.find("new", 1), final_status("new", 1, TaskState::Failed), clock.now());
  ASSERT_EQ(t.admit("running", 1), Admission::Admitted);

  clock.advance(Millis(30 * 60 * 1000 - 1));
  t.prune(clock.now());
  EXPECT_NE(t.find("old", 1), nullptr) << "59:59.999 old: kept";
  clock.advance(Millis(1));
  t.prune(clock.now());
  EXPECT_EQ(t.find("old", 1), nullptr) << "one hour old: forgotten";
  EXPECT_NE(t.find("new", 1), nullptr);
  clock.advance(Millis(10 * 60 * 60 * 1000));
  t.prune(clock.now());
  EXPECT_EQ(t.find("new", 1), nullptr);
  EXPECT_NE(t.find("running", 1), nullptr) << "active attempts never expire";
}

TEST(TaskTrackerTest, AdoptedTasksTakeSlotsAndCanExceedThem) {
  ManualClock clock;
  TaskTracker t(1);
  EXPECT_TRUE(t.adopt(final_status("a", 1, TaskState::Running), clock.now()));
  EXPECT_TRUE(t.adopt(final_status("b", 1, TaskState::Running), clock.now()));
  EXPECT_TRUE(t.adopt(final_status("c", 1, TaskState::Completed), clock.now()));
  EXPECT_FALSE(t.adopt(final_status("a", 1, TaskState::Running), clock.now()));
  EXPECT_EQ(t.active(), 2u);
  EXPECT_EQ(t.free_slots(), 0u) << "never negative";
  EXPECT_EQ(t.find("c", 1)->phase, AttemptPhase::Finished);
  EXPECT_EQ(t.admit("d", 1), Admission::NoFreeSlot);
}

// --- the attempt state machine ---

AttemptEnd exit_end(const std::string& id, uint32_t attempt, TaskExit exit) {
  return AttemptEnd{id, attempt, std::move(exit), 5000};
}

TaskExit exited(int32_t code) {
  return TaskExit{TaskExit::Kind::Exited, code, 0, false, ""};
}

TaskExit sigterm() {
  return TaskExit{TaskExit::Kind::Signaled, std::nullopt, 15, true, ""};
}

// A new attempt (id, 1), Starting, and optionally Running already.
TrackedAttempt& admitted(TaskTracker& t, const std::string& id, bool running) {
  EXPECT_EQ(t.admit(id, 1), Admission::Admitted);
  TrackedAttempt& a = *t.find(id, 1);
  if (running) {
    EXPECT_EQ(t.mark_running(a, final_status(id, 1, TaskState::Running)), AfterStart::Run);
  }
  return a;
}

TEST(TaskTrackerTest, ARunningAttemptEndsAsTheFactsSay) {
  ManualClock clock;
  TaskTracker t(2);
  ASSERT_EQ(t.admit("a", 1), Admission::Admitted);
  AttemptStatus running = final_status("a", 1, TaskState::Running);
  running.container_id = "c-a";
  running.start_time_ms = 42;
  ASSERT_EQ(t.mark_running(*t.find("a", 1), running), AfterStart::Run);
  auto ended = t.end(*t.find("a", 1), exit_end("a", 1, exited(3)), clock.now());
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->state, TaskState::Failed);
  EXPECT_EQ(ended->reason, "exit code 3");
  EXPECT_EQ(ended->exit_code, 3);
  EXPECT_EQ(ended->finish_time_ms, 5000);
  EXPECT_EQ(ended->container_id, "c-a") << "what Running had is kept";
  EXPECT_EQ(ended->start_time_ms, 42);
  EXPECT_EQ(t.find("a", 1)->phase, AttemptPhase::Finished);
  EXPECT_EQ(t.find("a", 1)->status, *ended) << "HELLO reports the same";
  EXPECT_EQ(t.active(), 0u);
}

TEST(TaskTrackerTest, AnEndBeforeStartReturnedIsHeldUntilRunningIsReported) {
  ManualClock clock;
  TaskTracker t(1);
  TrackedAttempt& a = admitted(t, "a", /*running=*/false);
  EXPECT_EQ(t.end(a, exit_end("a", 1, exited(0)), clock.now()), std::nullopt);
  EXPECT_EQ(a.phase, AttemptPhase::Starting) << "held";
  EXPECT_EQ(t.active(), 1u);
  ASSERT_EQ(t.mark_running(a, final_status("a", 1, TaskState::Running)), AfterStart::Ended);
  AttemptStatus ended = t.finish_early_exit(a, clock.now());
  EXPECT_EQ(ended.state, TaskState::Completed);
  EXPECT_EQ(ended.reason, "exit code 0");
  EXPECT_EQ(t.active(), 0u);
}

TEST(TaskTrackerTest, AStopDuringStartStopsOnceStartReturnsAndEndsCompleted) {
  ManualClock clock;
  TaskTracker t(1);
  TrackedAttempt& a = admitted(t, "a", /*running=*/false);
  EXPECT_EQ(t.request_stop(a, "", Millis(700)), StopRequest::AfterStart);
  EXPECT_EQ(t.request_stop(a, "again", Millis(1)), StopRequest::AlreadyStopping);
  EXPECT_EQ(a.phase, AttemptPhase::Starting) << "no stop() while start() is in flight";
  ASSERT_EQ(t.mark_running(a, final_status("a", 1, TaskState::Running)), AfterStart::Stop);
  EXPECT_EQ(a.phase, AttemptPhase::Stopping);
  EXPECT_EQ(a.stop_grace, Millis(700)) << "the first STOP's grace";
  auto ended = t.end(a, exit_end("a", 1, sigterm()), clock.now());
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->state, TaskState::Completed);
  EXPECT_EQ(ended->reason, "stopped") << "a STOP without a reason";
  EXPECT_EQ(ended->exit_code, 143) << "the exit code is kept";
}

TEST(TaskTrackerTest, AnUnhealthyAttemptEndsFailedUnlessTheBrokerStopsItMeanwhile) {
  ManualClock clock;
  TaskTracker t(2);
  for (const char* id : {"sick", "stopped"}) {
    TrackedAttempt& a = admitted(t, id, /*running=*/true);
    ASSERT_TRUE(t.stop_unhealthy(a, "health check failed", Millis(5)));
    EXPECT_FALSE(t.stop_unhealthy(a, "again", Millis(5))) << "stopping already";
  }
  EXPECT_EQ(t.request_stop(*t.find("stopped", 1), "user asked", Millis(9)),
            StopRequest::AlreadyStopping);
  auto sick = t.end(*t.find("sick", 1), exit_end("sick", 1, sigterm()), clock.now());
  auto stopped = t.end(*t.find("stopped", 1), exit_end("stopped", 1, sigterm()), clock.now());
  ASSERT_TRUE(sick && stopped);
  EXPECT_EQ(sick->state, TaskState::Failed);
  EXPECT_EQ(sick->reason, "health check failed");
  EXPECT_EQ(sick->exit_code, 143);
  EXPECT_EQ(stopped->state, TaskState::Completed);
  EXPECT_EQ(stopped->reason, "user asked") << "the broker's STOP wins";
}

TEST(TaskTrackerTest, AFailedStopLeavesItRunningAndStoppableAgain) {
  TaskTracker t(1);
  TrackedAttempt& a = admitted(t, "a", /*running=*/false);
  EXPECT_FALSE(t.stop_unhealthy(a, "health check failed", Millis(5))) << "not running yet";
  ASSERT_EQ(t.mark_running(a, final_status("a", 1, TaskState::Running)), AfterStart::Run);
  ASSERT_TRUE(t.stop_unhealthy(a, "health check failed", Millis(5)));
  EXPECT_TRUE(t.mark_stop_failed(a)) << "it was a health stop: check again";
  EXPECT_EQ(a.phase, AttemptPhase::Running);
  EXPECT_EQ(a.stop_cause, StopCause::Kind::None);
  EXPECT_EQ(t.request_stop(a, "user asked", Millis(5)), StopRequest::StopNow);
  EXPECT_FALSE(t.mark_stop_failed(a));
  EXPECT_EQ(t.request_stop(a, "", Millis(5)), StopRequest::StopNow) << "a new STOP tries again";
}

}  // namespace
}  // namespace cube::agent
