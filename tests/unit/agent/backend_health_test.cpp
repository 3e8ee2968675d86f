// BackendHealth: when the agent checks its driver's backend, and what a change is.
#include "agent/backend_health.h"

#include <gtest/gtest.h>

namespace cube::agent {
namespace {

TEST(BackendHealth, ChecksAtOnceThenEveryIntervalOneAtATime) {
  ManualClock clock;
  BackendHealth h(clock.now());
  EXPECT_TRUE(h.is_ok());
  EXPECT_TRUE(h.start_check_if_due(clock.now()));
  EXPECT_TRUE(h.in_flight());
  EXPECT_FALSE(h.start_check_if_due(clock.now())) << "one check at a time";

  EXPECT_FALSE(h.on_result(Status::ok(), clock.now())) << "healthy was already assumed";
  EXPECT_EQ(h.next_check(), clock.now() + BackendHealth::kHealthyInterval);
  clock.advance(BackendHealth::kHealthyInterval - Millis(1));
  EXPECT_FALSE(h.start_check_if_due(clock.now()));
  clock.advance(Millis(1));
  EXPECT_TRUE(h.start_check_if_due(clock.now()));
}

TEST(BackendHealth, AFailureIsAChangeAndIsCheckedMoreOften) {
  ManualClock clock;
  BackendHealth h(clock.now());
  ASSERT_TRUE(h.start_check_if_due(clock.now()));
  Status down = Status::unavailable("dockerd unreachable at /var/run/docker.sock: refused");
  EXPECT_TRUE(h.on_result(down, clock.now()));
  EXPECT_FALSE(h.is_ok());
  EXPECT_EQ(h.status(), down);
  EXPECT_EQ(h.next_check(), clock.now() + BackendHealth::kUnhealthyInterval);

  clock.advance(BackendHealth::kUnhealthyInterval);
  ASSERT_TRUE(h.start_check_if_due(clock.now()));
  EXPECT_FALSE(h.on_result(down, clock.now())) << "the same failure again is no change";
  ASSERT_TRUE(h.start_check_if_due(clock.now() + BackendHealth::kUnhealthyInterval));
  EXPECT_TRUE(h.on_result(Status::unavailable("dockerd unreachable: timeout"), clock.now()))
      << "another failure message is a change (the node's label shows it)";
  ASSERT_TRUE(h.start_check_if_due(clock.now() + BackendHealth::kUnhealthyInterval));
  EXPECT_TRUE(h.on_result(Status::ok(), clock.now())) << "recovery";
  EXPECT_TRUE(h.is_ok());
}

TEST(BackendHealth, CheckSoonBringsTheNextCheckForward) {
  ManualClock clock;
  BackendHealth h(clock.now());
  ASSERT_TRUE(h.start_check_if_due(clock.now()));
  h.on_result(Status::ok(), clock.now());
  clock.advance(Millis(500));
  EXPECT_FALSE(h.start_check_if_due(clock.now()));
  h.check_soon(clock.now());
  EXPECT_TRUE(h.start_check_if_due(clock.now()));
}

}  // namespace
}  // namespace cube::agent
