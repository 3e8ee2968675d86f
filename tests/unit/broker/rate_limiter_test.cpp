#include "broker/rate_limiter.h"

#include <gtest/gtest.h>

namespace cube::broker {
namespace {

TEST(RateLimiterTest, ParseRate) {
  EXPECT_DOUBLE_EQ(*parse_rate("50"), 50);
  EXPECT_DOUBLE_EQ(*parse_rate("50/s"), 50);
  EXPECT_DOUBLE_EQ(*parse_rate("120/m"), 2);
  EXPECT_DOUBLE_EQ(*parse_rate("3600/h"), 1);
  for (const char* bad : {"", "0", "-1", "abc", "5/d", "5/", "/s", "inf"})
    EXPECT_EQ(parse_rate(bad).status().code(), ErrorCode::Invalid) << bad;
}

TEST(RateLimiterTest, DisabledAllowsEverything) {
  ManualClock clock;
  RateLimiter limiter;
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(limiter.allow("c", clock.now()));
  EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(RateLimiterTest, BurstThenRefillAtTheRate) {
  ManualClock clock;
  RateLimiter limiter({.per_second = 10, .burst = 5});
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(limiter.allow("c", clock.now())) << i;
  EXPECT_FALSE(limiter.allow("c", clock.now()));
  clock.sleep_for(Millis(99));  // 0.99 tokens
  EXPECT_FALSE(limiter.allow("c", clock.now()));
  clock.sleep_for(Millis(1));  // 1 token
  EXPECT_TRUE(limiter.allow("c", clock.now()));
  EXPECT_FALSE(limiter.allow("c", clock.now()));
  clock.sleep_for(Millis(60000));  // refills to the burst, not beyond
  int allowed = 0;
  while (limiter.allow("c", clock.now()))
    ++allowed;
  EXPECT_EQ(allowed, 5);
}

TEST(RateLimiterTest, ClientsHaveTheirOwnBuckets) {
  ManualClock clock;
  RateLimiter limiter({.per_second = 1, .burst = 1});
  EXPECT_TRUE(limiter.allow("a", clock.now()));
  EXPECT_FALSE(limiter.allow("a", clock.now()));
  EXPECT_TRUE(limiter.allow("b", clock.now()));
}

TEST(RateLimiterTest, DefaultBurstIsOneSecondsWorth) {
  ManualClock clock;
  RateLimiter limiter({.per_second = 3});
  int allowed = 0;
  while (limiter.allow("c", clock.now()))
    ++allowed;
  EXPECT_EQ(allowed, 3);
}

TEST(RateLimiterTest, BucketCountIsBounded) {
  ManualClock clock;
  RateLimiter limiter({.per_second = 1, .burst = 1}, /*max_clients=*/3);
  for (int i = 0; i < 100; ++i) {
    clock.sleep_for(Millis(1));
    EXPECT_TRUE(limiter.allow("client-" + std::to_string(i), clock.now()));
  }
  EXPECT_EQ(limiter.tracked(), 3u);
  // The most recent clients are the ones kept: client-99 is still limited.
  EXPECT_FALSE(limiter.allow("client-99", clock.now()));
}

}  // namespace
}  // namespace cube::broker
