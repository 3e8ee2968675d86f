// task_usage_from_stats on stats documents as dockerd writes them on cgroup v1 and v2 hosts.
#include "agent/drivers/docker/container_stats.h"

#include <gtest/gtest.h>

namespace cube::agent {
namespace {

using nlohmann::json;

TEST(ContainerStats, CgroupV1CpuFromDeltasAndMemoryWithoutCache) {
  // Shaped like dockerd 20.10 on cgroup v1 (trimmed): 2 CPUs, 0.5 s of CPU over a 1 s system
  // interval on 2 CPUs (system_cpu_usage counts every CPU: 2e9 ns per second).
  json stats = {
      {"read", "2026-11-26T01:00:01.000000000Z"},
      {"cpu_stats",
       {{"cpu_usage", {{"total_usage", 1500000000}, {"percpu_usage", {700000000, 800000000}}}},
        {"system_cpu_usage", 12000000000},
        {"online_cpus", 2}}},
      {"precpu_stats",
       {{"cpu_usage", {{"total_usage", 1000000000}}}, {"system_cpu_usage", 10000000000}}},
      {"memory_stats",
       {{"usage", 50 << 20},
        {"limit", 64 << 20},
        {"stats", {{"cache", 20 << 20}, {"rss", 30 << 20}}}}},
  };
  auto usage = task_usage_from_stats(stats);
  ASSERT_TRUE(usage.is_ok()) << usage.status().to_string();
  EXPECT_DOUBLE_EQ(usage->cpu_cores, 0.5);
  EXPECT_EQ(usage->memory_bytes, 30 << 20);
}

TEST(ContainerStats, CgroupV2SubtractsInactiveFileAndCountsPercpuWhenOnlineIsMissing) {
  json stats = {
      {"cpu_stats",
       {{"cpu_usage", {{"total_usage", 4000}, {"percpu_usage", {1, 1, 1, 1}}}},
        {"system_cpu_usage", 2000}}},
      {"precpu_stats", {{"cpu_usage", {{"total_usage", 3000}}}, {"system_cpu_usage", 1000}}},
      {"memory_stats", {{"usage", 10000}, {"stats", {{"inactive_file", 4000}, {"file", 6000}}}}},
  };
  auto usage = task_usage_from_stats(stats);
  ASSERT_TRUE(usage.is_ok());
  EXPECT_DOUBLE_EQ(usage->cpu_cores, 4.0) << "1000/1000 of the system's time on 4 CPUs";
  EXPECT_EQ(usage->memory_bytes, 6000);
}

TEST(ContainerStats, FirstSampleAndStoppedContainerAreZero) {
  // No previous sample (precpu empty), as with one-shot stats; a stopped container reports no
  // memory at all.
  json first = {{"cpu_stats", {{"cpu_usage", {{"total_usage", 5000}}}, {"system_cpu_usage", 9000}}},
                {"precpu_stats", json::object()},
                {"memory_stats", {{"usage", 4096}}}};
  auto usage = task_usage_from_stats(first);
  ASSERT_TRUE(usage.is_ok());
  EXPECT_EQ(usage->cpu_cores, 0.0);
  EXPECT_EQ(usage->memory_bytes, 4096);

  json stopped = {{"cpu_stats", json::object()}, {"memory_stats", json::object()}};
  usage = task_usage_from_stats(stopped);
  ASSERT_TRUE(usage.is_ok());
  EXPECT_EQ(usage->cpu_cores, 0.0);
  EXPECT_EQ(usage->memory_bytes, 0);
}

TEST(ContainerStats, OddValuesNeverGoNegativeOrThrow) {
  json odd = {{"cpu_stats", {{"cpu_usage", {{"total_usage", "lots"}}}, {"system_cpu_usage", -5}}},
              {"memory_stats", {{"usage", 100}, {"stats", {{"cache", 500}}}}}};
  auto usage = task_usage_from_stats(odd);
  ASSERT_TRUE(usage.is_ok());
  EXPECT_EQ(usage->cpu_cores, 0.0);
  EXPECT_EQ(usage->memory_bytes, 0) << "cache larger than usage";
  EXPECT_EQ(task_usage_from_stats(json::array()).status().code(), ErrorCode::Internal);
}

}  // namespace
}  // namespace cube::agent
