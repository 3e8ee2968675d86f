// broker/beacon_schedule.h: pure logic on a SteadyTime the test moves.
#include "broker/beacon_schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "protocol/beacon_slices.h"

namespace cube::broker {
namespace {

using protocol::kBeaconSlices;

SteadyTime at(int64_t ms) {
  return SteadyTime(Millis(ms));
}

TEST(BeaconScheduleTest, SlicedEveryTickPublishesTheNextSliceAndAnIntervalCoversThemAll) {
  BeaconSchedule schedule(Millis(1000));
  ASSERT_EQ(schedule.ticks_per_interval(), kBeaconSlices);
  schedule.start(at(0));
  std::vector<int> published;
  for (int tick = 0; tick < kBeaconSlices; ++tick) {
    SteadyTime due = schedule.next();
    EXPECT_EQ(due, at(1000 * tick / kBeaconSlices)) << "tick " << tick;
    EXPECT_FALSE(schedule.take(due - Millis(1), true).has_value()) << "early at tick " << tick;
    auto taken = schedule.take(due, true);
    ASSERT_TRUE(taken.has_value());
    EXPECT_FALSE(taken->plain);
    for (int slice = taken->first_slice; slice < taken->end_slice; ++slice)
      published.push_back(slice);
  }
  std::vector<int> every(kBeaconSlices);
  for (int i = 0; i < kBeaconSlices; ++i)
    every[i] = i;
  EXPECT_EQ(published, every);
  EXPECT_EQ(schedule.next(), at(1000)) << "the next interval starts a heartbeat after the first";
}

TEST(BeaconScheduleTest, PlainOneBeaconPerIntervalOnItsFirstTick) {
  BeaconSchedule schedule(Millis(1000));
  schedule.start(at(0));
  int plain = 0;
  for (int tick = 0; tick < 3 * kBeaconSlices; ++tick) {
    auto taken = schedule.take(schedule.next(), false);
    ASSERT_TRUE(taken.has_value());
    EXPECT_EQ(taken->first_slice, taken->end_slice) << "no slice while an agent takes none";
    if (taken->plain) {
      EXPECT_EQ(tick % kBeaconSlices, 0) << "tick " << tick;
      ++plain;
    }
  }
  EXPECT_EQ(plain, 3);
}

TEST(BeaconScheduleTest, ShortHeartbeatsHaveFewerTicksEachWithSeveralSlices) {
  BeaconSchedule short_beat(Millis(100));
  EXPECT_EQ(short_beat.ticks_per_interval(), 100 / kMinBeaconTick.count());
  short_beat.start(at(0));
  int slices = 0;
  for (int tick = 0; tick < short_beat.ticks_per_interval(); ++tick) {
    auto taken = short_beat.take(short_beat.next(), true);
    ASSERT_TRUE(taken.has_value());
    EXPECT_EQ(taken->first_slice, slices) << "slices in order, none skipped";
    slices = taken->end_slice;
  }
  EXPECT_EQ(slices, kBeaconSlices);
  EXPECT_EQ(short_beat.next(), at(100));

  BeaconSchedule shortest(Millis(3));
  EXPECT_EQ(shortest.ticks_per_interval(), 1);
  shortest.start(at(0));
  auto all = shortest.take(at(0), true);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->first_slice, 0);
  EXPECT_EQ(all->end_slice, kBeaconSlices);
  EXPECT_EQ(shortest.next(), at(3));
}

TEST(BeaconScheduleTest, ALoopThatWakesLateStillGivesEverySliceItsBeaconEachInterval) {
  // The loop busy for 100 ms at a time (long scheduling passes): each wake-up takes every
  // tick due, so no slice waits more than an interval and the wake-up's lateness.
  BeaconSchedule schedule(Millis(1000));
  schedule.start(at(0));
  std::vector<int64_t> last(kBeaconSlices, -1);
  int64_t worst_gap = 0;
  for (int64_t now = 0; now <= 10000; now += 100) {
    while (auto taken = schedule.take(at(now), true)) {
      for (int slice = taken->first_slice; slice < taken->end_slice; ++slice) {
        if (last[slice] >= 0)
          worst_gap = std::max(worst_gap, now - last[slice]);
        last[slice] = now;
      }
    }
  }
  for (int slice = 0; slice < kBeaconSlices; ++slice)
    EXPECT_GE(last[slice], 9000) << "slice " << slice << " went quiet";
  EXPECT_LE(worst_gap, 1100);
}

TEST(BeaconScheduleTest, AfterAStallOfAWholeIntervalEverySliceGoesAtOnceAndANewIntervalStarts) {
  BeaconSchedule schedule(Millis(1000));
  schedule.start(at(0));
  ASSERT_TRUE(schedule.take(at(0), true).has_value());
  // 500 ms late: the overdue ticks come one per call, in order.
  auto late = schedule.take(at(500), true);
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->first_slice, 1);
  EXPECT_LE(schedule.next(), at(500));
  // A stall past a whole interval: every agent is owed a beacon; all slices go in one tick,
  // which is the first of a new interval (no catching up on ticks nobody heard).
  auto after_stall = schedule.take(at(5000), true);
  ASSERT_TRUE(after_stall.has_value());
  EXPECT_EQ(after_stall->first_slice, 0);
  EXPECT_EQ(after_stall->end_slice, kBeaconSlices);
  EXPECT_EQ(schedule.next(), at(5000 + 1000 / kBeaconSlices));
  EXPECT_FALSE(schedule.take(at(5000), true).has_value());
  auto second_of_new = schedule.take(schedule.next(), true);
  ASSERT_TRUE(second_of_new.has_value());
  EXPECT_EQ(second_of_new->first_slice, 1);
  // The same stall with an agent that takes no slices: the plain beacon, at once.
  auto plain = schedule.take(at(9000), false);
  ASSERT_TRUE(plain.has_value());
  EXPECT_TRUE(plain->plain);
}

}  // namespace
}  // namespace cube::broker
