#include "protocol/latency_histogram.h"

#include <gtest/gtest.h>

#include <limits>

namespace cube::protocol {
namespace {

using std::chrono::microseconds;

TEST(LatencyHistogram, ObservationsLandInTheirBucket) {
  LatencyHistogram h({10, 100, 1000});
  h.observe(microseconds(0));
  h.observe(microseconds(10));  // upper bound is inclusive
  h.observe(microseconds(11));
  h.observe(microseconds(1000));
  h.observe(microseconds(5000));  // +Inf
  h.observe(microseconds(-5));    // clamped to 0
  EXPECT_EQ(h.counts(), (std::vector<uint64_t>{3, 1, 1, 1}));
  EXPECT_EQ(h.count(), 6u);
  EXPECT_EQ(h.sum_us(), 0u + 10 + 11 + 1000 + 5000);
}

TEST(LatencyHistogram, ExportImportRoundTrips) {
  LatencyHistogram h;
  for (int us : {30, 70, 700, 7000, 70000, 20000000})
    h.observe(microseconds(us));
  std::map<std::string, uint64_t> counters = {{"client.submits", 5}};
  h.export_to(kSchedulingLatency, counters);
  EXPECT_EQ(counters.at("latency.scheduling.le_us.50"), 1u);
  EXPECT_EQ(counters.at("latency.scheduling.le_us.inf"), 1u);
  EXPECT_EQ(counters.at("latency.scheduling.sum_us"), h.sum_us());
  EXPECT_EQ(counters.at("client.submits"), 5u) << "other counters are left alone";
  auto back = LatencyHistogram::import_from(kSchedulingLatency, counters);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, h);
  EXPECT_EQ(back->bounds_us(), LatencyHistogram::default_bounds_us()) << "numeric order";
  EXPECT_FALSE(LatencyHistogram::import_from(kStoreCommitLatency, counters)) << "absent";
}

TEST(LatencyHistogram, AQuantileIsTheUpperBoundOfItsBucket) {
  LatencyHistogram h({100, 1000, 10000});
  EXPECT_FALSE(h.quantile_upper_bound_us(0.99));
  for (int i = 0; i < 98; ++i)
    h.observe(std::chrono::microseconds(50));
  h.observe(std::chrono::microseconds(500));
  h.observe(std::chrono::microseconds(5000));
  EXPECT_EQ(h.quantile_upper_bound_us(0.5), 100);
  EXPECT_EQ(h.quantile_upper_bound_us(0.98), 100);
  EXPECT_EQ(h.quantile_upper_bound_us(0.99), 1000);  // the 99th of 100 observations
  EXPECT_EQ(h.quantile_upper_bound_us(1.0), 10000);
  h.observe(std::chrono::seconds(1));
  EXPECT_EQ(h.quantile_upper_bound_us(1.0), std::numeric_limits<int64_t>::max());
}

TEST(LatencyHistogram, ImportRejectsBadBucketKeys) {
  std::map<std::string, uint64_t> counters = {{"h.le_us.abc", 1}};
  EXPECT_FALSE(LatencyHistogram::import_from("h", counters));
  counters = {{"h.le_us.50", 1}, {"h.le_us.050", 1}};
  EXPECT_FALSE(LatencyHistogram::import_from("h", counters));
  counters = {{"h.le_us.0", 1}};
  EXPECT_FALSE(LatencyHistogram::import_from("h", counters));
  counters = {{"h.le_us.inf", 2}};
  auto only_inf = LatencyHistogram::import_from("h", counters);
  ASSERT_TRUE(only_inf);
  EXPECT_EQ(only_inf->count(), 2u);
}

}  // namespace
}  // namespace cube::protocol
