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

// A small run: `agents` sim agents of `slots` slots, `tasks` tasks of 10 ms from `clients` clients.
BenchRunOptions small_run(size_t agents, uint32_t slots, size_t tasks, size_t clients) {
  BenchRunOptions options;
  options.config.agents = agents;
  options.config.slots = slots;
  options.config.tasks = tasks;
  options.config.clients = clients;
  options.config.duration_ms = 10;
  options.timeout = Millis(60000);
  return options;
}

// 200 arrivals at 400/s, 2.5 ms apart, take at least 497.5 ms: the schedule bounds the rate.
void expect_open_loop_kept_its_schedule(const Result<BenchResult>& result) {
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_TRUE(result->complete()) << result->error;
  EXPECT_LE(result->submits_per_s, 400 * 200.0 / 199.0 + 1);
  EXPECT_GT(result->submits_per_s, 100) << "the schedule kept up";
}

TEST(BenchRunTest, OpenLoopSendsOnScheduleAndMeasuresFromTheIntendedTime) {
  BenchRunOptions options = small_run(10, 4, 200, 4);
  options.config.rate = 400;  // 200 tasks: about half a second of arrivals
  expect_open_loop_kept_its_schedule(run_bench(options, system_clock()));
}

// --batch: SUBMIT_BATCHes of 64 (the last one shorter) carry every task to completion, and the
// report says so.
TEST(BenchRunTest, BatchesOfSubmitsRunEveryTaskToCompletion) {
  BenchRunOptions options = small_run(20, 4, 500, 2);
  options.config.batch = 64;
  auto result = run_bench(options, system_clock());
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_TRUE(result->complete()) << result->error << "\n" << to_table(*result);
  EXPECT_EQ(result->acked, 500u);
  EXPECT_EQ(result->submit_errors, 0u);
  EXPECT_EQ(result->completed_at_broker, 500u);
  EXPECT_EQ(result->latency_ms.count, 500u);
  EXPECT_EQ(to_json(*result)["config"]["batch"], 64);
  EXPECT_NE(to_table(*result).find("batches of 64"), std::string::npos) << to_table(*result);
}

// Open loop with batches: a batch leaves when its last task is due, so the schedule still bounds
// the rate, and every task is measured from its own due time.
TEST(BenchRunTest, OpenLoopBatchesKeepTheSchedule) {
  BenchRunOptions options = small_run(10, 4, 200, 2);
  options.config.batch = 10;
  options.config.rate = 400;
  auto result = run_bench(options, system_clock());
  expect_open_loop_kept_its_schedule(result);
  // The first task of each batch waited 9 periods (22.5 ms) for the last one to be due.
  ASSERT_TRUE(result.is_ok());
  EXPECT_GE(result->latency_ms.max, 22.5);
}

}  // namespace
}  // namespace cube::bench

namespace cube::bench {
namespace {

TEST(LatencyTimelineTest, OneLinePerStartedTaskInSendOrderFromTheFirstSend) {
  ManualClock clock;
  RunRecorder recorder(3, RunRecorder::make_id_prefix(clock.wall()));
  SteadyTime t0 = clock.now() + Millis(1000);
  recorder.sent(2, t0);  // sent first, though its index is last
  recorder.sent(0, t0 + Millis(10));
  recorder.sent(1, t0 + Millis(20));  // never started: left out
  recorder.task_started(recorder.task_id(2), 1, t0 + Millis(3));
  recorder.task_started(recorder.task_id(0), 1, t0 + Millis(40));
  test::TempDir dir;
  std::string path = (dir.path() / "timeline.txt").string();
  ASSERT_TRUE(write_latency_timeline(path, recorder).is_ok());
  std::ifstream in(path);
  std::string header, first, second, extra;
  std::getline(in, header);
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_NE(header.find("2 tasks"), std::string::npos) << header;
  EXPECT_EQ(first, "0 3");
  EXPECT_EQ(second, "10 30");
  EXPECT_FALSE(std::getline(in, extra)) << extra;
  EXPECT_FALSE(write_latency_timeline((dir.path() / "no/such/dir").string(), recorder).is_ok());
}

}  // namespace
}  // namespace cube::bench
