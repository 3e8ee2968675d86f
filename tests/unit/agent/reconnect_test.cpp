#include "agent/reconnect.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/ids.h"

namespace cube::agent {
namespace {

TEST(FirstHeartbeatDelay, IsWithinOneIntervalFixedPerAgentAndSpreadsAFleet) {
  constexpr Millis kInterval{1000};
  std::vector<int> per_tenth(10, 0);
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_random_id();
    Millis delay = first_heartbeat_delay(id, kInterval);
    ASSERT_GT(delay.count(), 0) << id;
    ASSERT_LE(delay, kInterval) << id;
    ASSERT_EQ(delay, first_heartbeat_delay(id, kInterval)) << "the same agent, the same point";
    ++per_tenth[static_cast<size_t>((delay.count() - 1) / 100)];
  }
  // A thousand agents welcomed at once: every tenth of the interval gets some of them (in step,
  // all 1,000 would be in one).
  for (size_t t = 0; t < per_tenth.size(); ++t)
    EXPECT_GT(per_tenth[t], 40) << "tenth " << t;
  EXPECT_EQ(first_heartbeat_delay("any", Millis(1)), Millis(1));
}

TEST(BackoffTest, DoublesFromOneSecondAndCapsAtThirtyTwo) {
  ManualClock clock;
  Backoff backoff([] { return 0.0; });  // no jitter: the nominal delays
  std::vector<int64_t> delays;
  for (int i = 0; i < 8; ++i) {
    Millis d = backoff.on_failure(clock.now());
    delays.push_back(d.count());
    ASSERT_TRUE(backoff.next_attempt().has_value());
    EXPECT_EQ(*backoff.next_attempt(), clock.now() + d);
    EXPECT_FALSE(backoff.is_due(clock.now()));
    clock.advance(d - Millis(1));
    EXPECT_FALSE(backoff.is_due(clock.now()));
    clock.advance(Millis(1));
    EXPECT_TRUE(backoff.is_due(clock.now()));
    backoff.attempt_started();
    EXPECT_FALSE(backoff.next_attempt().has_value());
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000}));
  EXPECT_EQ(backoff.failures(), 8);
}

TEST(BackoffTest, JitterOnlyShortensWithinTwentyPercent) {
  ManualClock clock;
  double r = 0.0;
  Backoff backoff([&r] { return r; });
  const std::vector<int64_t> nominal{1000, 2000, 4000, 8000, 16000, 32000, 32000};
  for (int64_t n : nominal) {
    r = 0.999999;  // the largest draw: the shortest delay
    Millis d = backoff.on_failure(clock.now());
    EXPECT_LE(d.count(), n);
    EXPECT_GT(d.count(), n * 8 / 10) << "jitter is at most 20%";
    EXPECT_LT(d.count(), n) << "a draw close to 1 must shorten the delay";
  }
  backoff.reset();
  r = 0.5;
  EXPECT_EQ(backoff.on_failure(clock.now()).count(), 900);  // 1000 - 20% * 0.5
}

TEST(BackoffTest, SeededRandomSourceStaysInBounds) {
  ManualClock clock;
  Backoff backoff(seeded_random_source(42));
  for (int i = 0; i < 200; ++i) {
    Millis d = backoff.on_failure(clock.now());
    EXPECT_GT(d.count(), 0);
    EXPECT_LE(d.count(), 32000);
  }
  // After the cap, every delay lies in (0.8 * 32 s, 32 s].
  Millis d = backoff.on_failure(clock.now());
  EXPECT_GT(d.count(), 25600);
}

TEST(BackoffTest, ResetStartsOverAtOneSecond) {
  ManualClock clock;
  Backoff backoff([] { return 0.0; });
  (void)backoff.on_failure(clock.now());
  (void)backoff.on_failure(clock.now());
  EXPECT_EQ(backoff.on_failure(clock.now()).count(), 4000);
  backoff.reset();
  EXPECT_EQ(backoff.failures(), 0);
  EXPECT_FALSE(backoff.next_attempt().has_value());
  EXPECT_FALSE(backoff.is_due(clock.now()));
  EXPECT_EQ(backoff.on_failure(clock.now()).count(), 1000);
}

TEST(BackoffTest, CustomPolicy) {
  ManualClock clock;
  Backoff backoff([] { return 0.0; }, BackoffPolicy{Millis(100), Millis(250), 0.0});
  EXPECT_EQ(backoff.on_failure(clock.now()).count(), 100);
  EXPECT_EQ(backoff.on_failure(clock.now()).count(), 200);
  EXPECT_EQ(backoff.on_failure(clock.now()).count(), 250);
  EXPECT_EQ(backoff.on_failure(clock.now()).count(), 250);
}

}  // namespace
}  // namespace cube::agent
