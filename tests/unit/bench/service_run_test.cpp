// run_services end to end in this process: an in-process broker, sim agents, services created
// and removed over the client port; and the JSON report that --compare reads.
#include <gtest/gtest.h>

#include "bench/compare.h"
#include "bench/service_run.h"
#include "protocol/service.h"

namespace cube::bench {
namespace {

TEST(ServiceRunTest, EveryReplicaOfEveryServiceRunsSpreadThenStopsOnRemoval) {
  ServiceRunOptions options;
  options.config.agents = 20;
  options.config.slots = 4;
  options.config.clients = 3;
  options.services = 6;
  options.replicas = 10;
  options.timeout = Millis(60000);

  auto result = run_services(options, system_clock());
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_TRUE(result->complete()) << result->error << "\n" << to_table(*result);
  EXPECT_EQ(result->created, 6u);
  EXPECT_EQ(result->started, 60u);
  EXPECT_EQ(result->running_at_broker, 60u);
  EXPECT_GT(result->placements_per_s, 0);
  EXPECT_EQ(result->removed, 6u);
  EXPECT_EQ(result->stopped, 60u);
  ASSERT_TRUE(result->broker_cpu_s.has_value());
  EXPECT_GT(*result->broker_cpu_s, 0);

  // --compare reads the same figures from the JSON report as from a task run's.
  auto figures = figures_from_json(to_json(*result).dump());
  ASSERT_TRUE(figures.is_ok()) << figures.status().to_string();
  EXPECT_EQ(figures->placements_per_s, result->placements_per_s);
  EXPECT_EQ(figures->broker_cpu_us_per_task, result->broker_cpu_us_per_replica());
}

TEST(ServiceRunTest, AServiceTheBrokerRefusesIsReportedAndTheRunIsIncomplete) {
  ServiceRunOptions options;
  options.config.agents = 2;
  options.config.slots = 2;
  options.config.clients = 1;
  options.services = 1;
  options.replicas = kMaxReplicas + 1;  // above the broker's limit: the create is refused
  options.timeout = Millis(30000);

  auto result = run_services(options, system_clock());
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_FALSE(result->complete());
  EXPECT_EQ(result->created, 0u);
  EXPECT_EQ(result->create_errors, 1u);
  EXPECT_NE(result->error.find("Replicas"), std::string::npos) << result->error;
  EXPECT_EQ(result->started, 0u);
}

}  // namespace
}  // namespace cube::bench
