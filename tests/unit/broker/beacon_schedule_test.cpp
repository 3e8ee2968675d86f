// broker/beacon_schedule.h: pure logic on a SteadyTime the test moves.
#include "broker/beacon_schedule.h"

#include <gtest/gtest.h>

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

TEST(BeaconScheduleTest, ALateTickIsTakenAtOnceAndAStallOfAWholeIntervalStartsAfresh) {
  BeaconSchedule schedule(Millis(1000));
  schedule.start(at(0));
  ASSERT_TRUE(schedule.take(at(0), true).has_value());
  // 500 ms late (a busy loop): the overdue ticks come one per call, in order.
  auto late = schedule.take(at(500), true);
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->first_slice, 1);
  EXPECT_LE(schedule.next(), at(500));
  // A stall past a whole interval: no catching up on an interval nobody heard, the next
  // interval begins now.
  auto after_stall = schedule.take(at(5000), true);
  ASSERT_TRUE(after_stall.has_value());
  EXPECT_EQ(schedule.next(), at(5000));
  auto first_of_new = schedule.take(at(5000), true);
  ASSERT_TRUE(first_of_new.has_value());
  EXPECT_EQ(first_of_new->first_slice, 0);
  EXPECT_EQ(schedule.next(), at(5000 + 1000 / kBeaconSlices));
}

}  // namespace
}  // namespace cube::broker
