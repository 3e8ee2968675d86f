// SimDriver with a ManualClock: tasks run for their DurationMs of clock time, end through the
// exit sink when poll_due() reaches their time, and stop at once.
#include "agent/drivers/sim/sim_driver.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace cube::agent {
namespace {

Task sim_task(std::string id, int64_t duration_ms, uint32_t attempt = 1) {
  Task t;
  t.id = std::move(id);
  t.driver = "sim";
  t.duration_ms = duration_ms;
  t.attempt = attempt;
  return t;
}

struct Recorded {
  std::string task_id;
  uint32_t attempt = 0;
  SteadyTime at;
};

class RecordingObserver final : public SimObserver {
 public:
  void task_started(std::string_view id, uint32_t attempt, SteadyTime at) override {
    started.push_back({std::string(id), attempt, at});
  }
  void task_ended(std::string_view id, uint32_t attempt, SteadyTime at) override {
    ended.push_back({std::string(id), attempt, at});
  }
  std::vector<Recorded> started;
  std::vector<Recorded> ended;
};

class SimDriverTest : public ::testing::Test {
 protected:
  SimDriverTest() : driver_(clock_, &observer_) {
    driver_.set_exit_sink([this](AttemptEnd end) { exits_.push_back(std::move(end)); });
  }

  ManualClock clock_;
  RecordingObserver observer_;
  SimDriver driver_;
  std::vector<AttemptEnd> exits_;
};

TEST_F(SimDriverTest, StartReturnsRunningAtOnceWithTheStartTime) {
  clock_.advance(Millis(250));
  auto status = driver_.start(sim_task("t1", 1000, 3));
  ASSERT_TRUE(status.is_ok()) << status.status().to_string();
  EXPECT_EQ(status->task_id, "t1");
  EXPECT_EQ(status->attempt, 3u);
  EXPECT_EQ(status->state, TaskState::Running);
  EXPECT_EQ(status->start_time_ms, to_unix_ms(clock_.wall()));
  EXPECT_EQ(status->container_id, "sim-t1");
  EXPECT_EQ(driver_.running(), 1u);
  ASSERT_EQ(observer_.started.size(), 1u);
  EXPECT_EQ(observer_.started[0].task_id, "t1");
  EXPECT_EQ(observer_.started[0].at, clock_.now());
  EXPECT_TRUE(exits_.empty());
  EXPECT_TRUE(driver_.calls_never_block());
  EXPECT_EQ(driver_.name(), "sim");
}

TEST_F(SimDriverTest, ATaskEndsCompletedWhenItsDurationHasPassed) {
  SteadyTime start = clock_.now();
  ASSERT_TRUE(driver_.start(sim_task("t1", 500)).is_ok());
  ASSERT_EQ(driver_.next_deadline(), start + Millis(500));

  clock_.advance(Millis(499));
  driver_.poll_due(clock_.now());
  EXPECT_TRUE(exits_.empty()) << "one millisecond early";

  clock_.advance(Millis(1));
  driver_.poll_due(clock_.now());
  ASSERT_EQ(exits_.size(), 1u);
  EXPECT_EQ(exits_[0].task_id, "t1");
  EXPECT_EQ(exits_[0].exit, (TaskExit{TaskExit::Kind::Exited, 0, 0, false, ""}));
  EXPECT_EQ(decide_outcome(exits_[0].exit).state, TaskState::Completed);
  EXPECT_EQ(exits_[0].finish_time_ms, to_unix_ms(clock_.wall()));
  EXPECT_EQ(driver_.running(), 0u);
  EXPECT_EQ(driver_.next_deadline(), std::nullopt);
  ASSERT_EQ(observer_.ended.size(), 1u);
  EXPECT_EQ(observer_.ended[0].at, clock_.now());

  driver_.poll_due(clock_.now() + Millis(10000));
  EXPECT_EQ(exits_.size(), 1u) << "an attempt ends once";
}

TEST_F(SimDriverTest, DueTasksEndInTheOrderOfTheirEnds) {
  ASSERT_TRUE(driver_.start(sim_task("slow", 300)).is_ok());
  ASSERT_TRUE(driver_.start(sim_task("fast", 100)).is_ok());
  ASSERT_TRUE(driver_.start(sim_task("middle", 200)).is_ok());
  EXPECT_EQ(driver_.next_deadline(), clock_.now() + Millis(100));
  clock_.advance(Millis(250));
  driver_.poll_due(clock_.now());
  ASSERT_EQ(exits_.size(), 2u);
  EXPECT_EQ(exits_[0].task_id, "fast");
  EXPECT_EQ(exits_[1].task_id, "middle");
  EXPECT_EQ(driver_.running(), 1u);
  EXPECT_EQ(driver_.next_deadline(), clock_.now() + Millis(50));
}

TEST_F(SimDriverTest, DurationZeroRunsUntilStopped) {
  ASSERT_TRUE(driver_.start(sim_task("forever", 0)).is_ok());
  EXPECT_EQ(driver_.next_deadline(), std::nullopt);
  clock_.advance(Millis(24 * 3600 * 1000));
  driver_.poll_due(clock_.now());
  EXPECT_TRUE(exits_.empty());

  ASSERT_TRUE(driver_.stop("forever", Millis(10000)).is_ok());
  ASSERT_EQ(exits_.size(), 1u) << "the final state goes to the sink before stop() returns";
  EXPECT_EQ(exits_[0].exit, (TaskExit{TaskExit::Kind::Exited, 0, 0, true, ""}))
      << "exit 0, stopped on request";
  EXPECT_EQ(decide_outcome(exits_[0].exit).state, TaskState::Completed);
  EXPECT_EQ(driver_.running(), 0u);

  EXPECT_TRUE(driver_.stop("forever", Millis(0)).is_ok()) << "stop is idempotent";
  EXPECT_TRUE(driver_.stop("unknown", Millis(0)).is_ok());
  EXPECT_EQ(exits_.size(), 1u);
}

TEST_F(SimDriverTest, AStoppedTaskDoesNotEndAgainAtItsOldDeadline) {
  ASSERT_TRUE(driver_.start(sim_task("t1", 100)).is_ok());
  ASSERT_TRUE(driver_.stop("t1", Millis(0)).is_ok());
  ASSERT_EQ(exits_.size(), 1u);
  // A new attempt with a longer duration: the old deadline must not end it.
  ASSERT_TRUE(driver_.start(sim_task("t1", 1000, 2)).is_ok());
  clock_.advance(Millis(100));
  driver_.poll_due(clock_.now());
  EXPECT_EQ(exits_.size(), 1u);
  clock_.advance(Millis(900));
  driver_.poll_due(clock_.now());
  ASSERT_EQ(exits_.size(), 2u);
  EXPECT_EQ(exits_[1].attempt, 2u);
}

TEST_F(SimDriverTest, ARunningAttemptCannotStartTwice) {
  ASSERT_TRUE(driver_.start(sim_task("t1", 0, 1)).is_ok());
  auto again = driver_.start(sim_task("t1", 0, 2));
  ASSERT_FALSE(again.is_ok());
  EXPECT_EQ(again.status().code(), ErrorCode::Conflict);
  EXPECT_EQ(driver_.running(), 1u);
}

TEST_F(SimDriverTest, RejectsTasksWithoutIdOrWithNegativeDuration) {
  EXPECT_EQ(driver_.start(sim_task("", 10)).status().code(), ErrorCode::Invalid);
  EXPECT_EQ(driver_.start(sim_task("t1", -1)).status().code(), ErrorCode::Invalid);
  EXPECT_EQ(driver_.running(), 0u);
  EXPECT_TRUE(observer_.started.empty());
}

TEST_F(SimDriverTest, InspectLogsAndStatsFollowTheAttempt) {
  EXPECT_TRUE(driver_.inspect("t1").status().is_not_found());
  EXPECT_TRUE(driver_.logs("t1", 0, 100).status().is_not_found());
  ASSERT_TRUE(driver_.start(sim_task("t1", 100)).is_ok());
  EXPECT_EQ(driver_.inspect("t1")->state, TaskState::Running);
  auto chunk = driver_.logs("t1", 0, 100);
  ASSERT_TRUE(chunk.is_ok());
  EXPECT_TRUE(chunk->data.empty());
  EXPECT_FALSE(chunk->eof);
  EXPECT_TRUE(driver_.stats("t1").is_ok());
  EXPECT_EQ(driver_.logs("t1", -1, 100).status().code(), ErrorCode::Invalid);

  clock_.advance(Millis(100));
  driver_.poll_due(clock_.now());
  EXPECT_EQ(driver_.inspect("t1")->state, TaskState::Completed);
  EXPECT_TRUE(driver_.logs("t1", 0, 100)->eof);
  EXPECT_TRUE(driver_.stats("t1").status().is_not_found());
  EXPECT_TRUE(driver_.list_owned()->empty()) << "nothing outlives a sim driver";
}

TEST_F(SimDriverTest, ForgetsTheOldestEndedAttemptsButNeverARunningOne) {
  for (size_t i = 0; i < SimDriver::kMaxEnded + 10; ++i) {
    std::string id = "t" + std::to_string(i);
    ASSERT_TRUE(driver_.start(sim_task(id, 0)).is_ok());
    ASSERT_TRUE(driver_.stop(id, Millis(0)).is_ok());
  }
  EXPECT_TRUE(driver_.inspect("t0").status().is_not_found());
  EXPECT_TRUE(driver_.inspect("t" + std::to_string(SimDriver::kMaxEnded + 9)).is_ok());
  // t10 ended long ago; a new attempt of it runs now and must survive further trimming.
  ASSERT_TRUE(driver_.start(sim_task("t10", 0, 2)).is_ok());
  for (size_t i = 0; i < SimDriver::kMaxEnded; ++i) {
    std::string id = "u" + std::to_string(i);
    ASSERT_TRUE(driver_.start(sim_task(id, 0)).is_ok());
    ASSERT_TRUE(driver_.stop(id, Millis(0)).is_ok());
  }
  auto t10 = driver_.inspect("t10");
  ASSERT_TRUE(t10.is_ok());
  EXPECT_EQ(t10->state, TaskState::Running);
  EXPECT_EQ(driver_.running(), 1u);
}

}  // namespace
}  // namespace cube::agent
