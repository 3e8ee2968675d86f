// run_bench end to end in this process: an in-process broker, a fleet of sim agents with their
// own sockets, clients. 400 agents need 1,200 sockets, beyond ZeroMQ's default of 1,023 per
// context, so this also shows that the fleet raises ZMQ_MAX_SOCKETS.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "bench/bench_run.h"
#include "tests/support/temp_dir.h"

namespace cube::bench {
namespace {

TEST(BenchRunTest, FourHundredAgentsRunEveryTaskToCompletion) {
  BenchRunOptions options;
  options.config.agents = 400;
  options.config.slots = 1;
  options.config.tasks = 800;
  options.config.clients = 4;
  options.config.duration_ms = 20;
  options.timeout = Millis(120000);
  test::TempDir dir("bench-run");
  options.latency_out = (dir / "latency.dat").string();

  auto result = run_bench(options, system_clock());
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_TRUE(result->complete()) << result->error << "\n" << to_table(*result);
  EXPECT_EQ(result->acked, 800u);
  EXPECT_EQ(result->started, 800u);
  EXPECT_EQ(result->ended, 800u);
  EXPECT_EQ(result->completed_at_broker, 800u);
  EXPECT_EQ(result->latency_ms.count, 800u);
  EXPECT_GT(result->placements_per_s, 0);
  EXPECT_GE(result->latency_ms.p99, result->latency_ms.p50);
  ASSERT_TRUE(result->broker_cpu_s.has_value());
  EXPECT_GT(*result->broker_cpu_s, 0);
  ASSERT_TRUE(result->broker_peak_rss_bytes.has_value());
  EXPECT_GT(*result->broker_peak_rss_bytes, 0);

  std::ifstream in(options.latency_out);
  std::string header, line;
  ASSERT_TRUE(std::getline(in, header));
  int lines = 0;
  while (std::getline(in, line))
    ++lines;
  EXPECT_EQ(lines, 402) << "401 quantiles and the maximum";
}

TEST(BenchRunTest, OpenLoopSendsOnScheduleAndMeasuresFromTheIntendedTime) {
  BenchRunOptions options;
  options.config.agents = 10;
  options.config.slots = 4;
  options.config.tasks = 200;
  options.config.clients = 4;
  options.config.duration_ms = 10;
  options.config.rate = 400;  // 200 tasks: about half a second of arrivals
  options.timeout = Millis(60000);
  auto result = run_bench(options, system_clock());
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_TRUE(result->complete()) << result->error;
  // The schedule bounds the rate: 200 arrivals 2.5 ms apart take at least 497.5 ms.
  EXPECT_LE(result->submits_per_s, 400 * 200.0 / 199.0 + 1);
  EXPECT_GT(result->submits_per_s, 100) << "the schedule kept up";
}

}  // namespace
}  // namespace cube::bench
