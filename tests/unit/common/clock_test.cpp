// common/clock.h: ManualClock drives time in tests; conversions to wire milliseconds.
#include "common/clock.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace cube {
namespace {

TEST(ManualClock, StandsStillUntilAdvanced) {
  ManualClock clock;
  SteadyTime start = clock.now();
  EXPECT_EQ(clock.now(), start);
  clock.advance(Millis(1500));
  EXPECT_EQ(clock.now() - start, Millis(1500));
  clock.advance(Millis(0));
  EXPECT_EQ(clock.now() - start, Millis(1500));
}

TEST(ManualClock, WallMovesWithSteady) {
  ManualClock clock(from_unix_ms(1763892000000));
  EXPECT_EQ(to_unix_ms(clock.wall()), 1763892000000);
  clock.advance(Millis(250));
  EXPECT_EQ(to_unix_ms(clock.wall()), 1763892000250);
}

TEST(ManualClock, DefaultWallIsARecentDate) {
  ManualClock clock;
  // 56 years after 1970: far from 0, so code that treats 0 as "unset" still works in tests.
  EXPECT_GT(to_unix_ms(clock.wall()), int64_t{1700000000000});
}

TEST(ManualClock, SleepForAdvancesInsteadOfBlocking) {
  ManualClock clock;
  SteadyTime start = clock.now();
  clock.sleep_for(Millis(3600 * 1000));
  EXPECT_EQ(clock.now() - start, Millis(3600 * 1000));
}

TEST(ManualClock, ThreadsReadWhileOneAdvances) {
  ManualClock clock;
  SteadyTime start = clock.now();
  std::thread advancer([&clock] {
    for (int i = 0; i < 10000; ++i)
      clock.advance(Millis(1));
  });
  SteadyTime last = start;
  for (int i = 0; i < 10000; ++i) {
    SteadyTime now = clock.now();
    ASSERT_GE(now, last) << "time went backwards";
    last = now;
  }
  advancer.join();
  EXPECT_EQ(clock.now() - start, Millis(10000));
}

TEST(ManualClock, UsableThroughTheInterface) {
  ManualClock manual;
  const Clock& clock = manual;
  SteadyTime before = clock.now();
  manual.advance(Millis(5));
  EXPECT_EQ(clock.now() - before, Millis(5));
}

TEST(ClockHelpers, UnixMillis) {
  EXPECT_EQ(to_unix_ms(from_unix_ms(0)), 0);
  EXPECT_EQ(to_unix_ms(from_unix_ms(1763892000123)), 1763892000123);
  EXPECT_EQ(to_unix_ms(from_unix_ms(-1)), -1);
}

TEST(ClockHelpers, MillisUntilIsAPollTimeout) {
  SteadyTime now{Millis(1000)};
  EXPECT_EQ(millis_until(now, now), 0);
  EXPECT_EQ(millis_until(now, now - Millis(5)), 0);
  // Rounded up, so a poll never wakes just before its deadline and spins.
  EXPECT_EQ(millis_until(now, now + Millis(10)), 11);
  EXPECT_EQ(millis_until(now, now + std::chrono::microseconds(1)), 1);
}

TEST(SystemClock, MovesForward) {
  const Clock& clock = system_clock();
  SteadyTime a = clock.now();
  SteadyTime b = clock.now();
  EXPECT_LE(a, b);
  EXPECT_GT(to_unix_ms(clock.wall()), int64_t{1600000000000});
  EXPECT_EQ(&system_clock(), &clock) << "one process-wide instance";
}

}  // namespace
}  // namespace cube
