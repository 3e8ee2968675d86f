// cube-bench as a user runs it, with small numbers: a correctness check (every task completes,
// the JSON carries the agreed keys), not a timed one. Also against a real cube-broker process
// (--broker, --broker-pid), so the external-broker path is exercised too; and --compare of this
// binary against itself.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "tests/integration/cluster.h"
#include "tests/support/process.h"

namespace cube::test {
namespace {

std::string bench_binary() {
  return std::string(CUBE_BIN_DIR) + "/bench/cube-bench";
}

void expect_complete_report(const CommandResult& r, size_t tasks) {
  ASSERT_EQ(r.status.code, 0) << r.out << r.err;
  auto json = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(json.is_object()) << "not one JSON object: " << r.out;
  for (const char* key : {"submits_per_s", "placements_per_s", "completed_per_s", "latency_ms",
                          "broker_cpu_s", "broker_peak_rss_bytes"}) {
    EXPECT_TRUE(json.contains(key)) << key << " missing from " << r.out;
  }
  for (const char* key : {"p50", "p99", "p999"})
    EXPECT_TRUE(json["latency_ms"].contains(key)) << key;
  EXPECT_EQ(json.value("tasks", 0u), tasks);
  EXPECT_EQ(json.value("completed", 0u), tasks) << r.out;
  EXPECT_EQ(json.value("completed_at_broker", 0u), tasks) << r.out;
  EXPECT_TRUE(json.value("complete", false)) << r.out;
  EXPECT_GT(json.value("placements_per_s", 0.0), 0.0);
  EXPECT_GT(json["latency_ms"].value("p50", 0.0), 0.0);
  EXPECT_TRUE(json["broker_cpu_s"].is_number()) << r.out;
  EXPECT_TRUE(json["broker_peak_rss_bytes"].is_number()) << r.out;
  // Every task costs the broker and the bench process some CPU.
  for (const char* key : {"broker_cpu_us_per_task", "process_cpu_us_per_task", "process_cpu_s"}) {
    ASSERT_TRUE(json.contains(key) && json[key].is_number()) << key << " in " << r.out;
    EXPECT_GT(json[key].get<double>(), 0.0) << key << " in " << r.out;
  }
}

TEST(BenchSmoke, TwentyAgentsFiveHundredTasksAllCompleteInProcess) {
  auto r = run_command({bench_binary(), "--agents", "20", "--slots", "4", "--tasks", "500",
                        "--clients", "4", "--duration-ms", "20", "-o", "json"},
                       120s);
  expect_complete_report(r, 500);
  EXPECT_NE(r.err.find("agents registered"), std::string::npos) << "progress goes to stderr";
}

// The most clients --clients allows share one ZeroMQ context (bench/load_generator.h): more
// sockets than libzmq's default cap per context, which must not fail a submit.
TEST(BenchSmoke, TheMostClientsAllowedShareOneContext) {
  auto r = run_command({bench_binary(), "--agents", "10", "--slots", "8", "--tasks", "2048",
                        "--clients", "1024", "--duration-ms", "10", "-o", "json", "-q"},
                       120s);
  expect_complete_report(r, 2048);
}

TEST(BenchSmoke, AgainstARunningBrokerProcess) {
  Cluster c;
  c.start_broker({"--store", "memory"});
  auto r = run_command(
      {bench_binary(), "--broker", c.address(), "--broker-pid", std::to_string(c.broker().pid()),
       "--agents", "20", "--tasks", "300", "--duration-ms", "10", "-o", "json", "-q"},
      120s);
  expect_complete_report(r, 300);
  auto json = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(json.value("rss_scope", ""), "broker");
}

TEST(BenchSmoke, CubeAgentWithTheSimDriverRunsATaskForItsDuration) {
  Cluster c;
  c.start_broker({"--store", "memory"});
  c.start_agent("s1", {"--driver", "sim", "--slots", "2"});
  const Clock& clock = system_clock();
  SteadyTime submitted = clock.now();
  std::string quick = c.submit({"--name", "quick", "--driver", "sim", "--duration", "300ms"});
  std::string forever = c.submit({"--name", "forever", "--driver", "sim"});
  ASSERT_TRUE(c.wait_task(
      quick, [](const auto& t) { return t.value("State", -1) == 3; }, 15s))
      << c.logs();
  // It ended by itself once its duration had passed (nobody stopped it).
  EXPECT_GE(clock.now() - submitted, Millis(300));
  auto done = c.get(quick);
  EXPECT_EQ(done.value("ExitCode", -1), 0) << done.dump();
  EXPECT_EQ(done.value("Node", ""), "s1");
  EXPECT_NE(done.value("Reason", ""), "stopped") << done.dump();

  // DurationMs 0 runs until stopped.
  ASSERT_TRUE(c.wait_task(
      forever, [](const auto& t) { return t.value("State", -1) == 2; }, 15s))
      << c.logs();
  EXPECT_EQ(c.cli({"stop", forever}).status.code, 0);
  ASSERT_TRUE(c.wait_task(
      forever, [](const auto& t) { return t.value("State", -1) == 3; }, 15s))
      << c.logs();
  EXPECT_EQ(c.get(forever).value("Reason", ""), "stopped");
}

TEST(BenchSmoke, PrintsATableAndRejectsBadUsage) {
  auto r = run_command(
      {bench_binary(), "--agents", "5", "--tasks", "50", "--duration-ms", "5", "-q"}, 60s);
  ASSERT_EQ(r.status.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("placements"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("submit->Running p99"), std::string::npos) << r.out;

  auto bad = run_command({bench_binary(), "--agents", "0"}, 10s);
  EXPECT_EQ(bad.status.code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--agents"), std::string::npos) << bad.err;
}

TEST(BenchSmoke, ServicesAgainstARunningBrokerProcessScaleUpAndAreRemoved) {
  Cluster c;
  c.start_broker({"--store", "memory"});
  auto r = run_command(
      {bench_binary(), "--broker", c.address(), "--broker-pid", std::to_string(c.broker().pid()),
       "--services", "4", "--replicas", "15", "--agents", "10", "--slots", "8", "-o", "json", "-q"},
      120s);
  ASSERT_EQ(r.status.code, 0) << r.out << r.err;
  auto json = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(json.is_object()) << r.out;
  EXPECT_TRUE(json.value("complete", false)) << r.out;
  EXPECT_EQ(json.value("started", 0u), 60u) << r.out;
  EXPECT_EQ(json.value("running_at_broker", 0u), 60u) << r.out;
  EXPECT_EQ(json.value("stopped", 0u), 60u) << r.out;
  EXPECT_GT(json.value("placements_per_s", 0.0), 0.0) << r.out;
  EXPECT_TRUE(json["broker_cpu_us_per_task"].is_number()) << r.out;
  // The run removed what it created: the broker is left without services.
  auto ls = c.cli({"service", "ls", "-o", "json"});
  ASSERT_EQ(ls.status.code, 0) << ls.err;
  EXPECT_EQ(nlohmann::json::parse(ls.out, nullptr, false), nlohmann::json::array()) << ls.out;

  auto too_many = run_command(
      {bench_binary(), "--services", "10", "--replicas", "10", "--agents", "2", "--slots", "4"},
      10s);
  EXPECT_EQ(too_many.status.code, 2) << too_many.err;
  EXPECT_NE(too_many.err.find("100 slots"), std::string::npos) << too_many.err;
  auto alone = run_command({bench_binary(), "--replicas", "3"}, 10s);
  EXPECT_EQ(alone.status.code, 2) << alone.err;
  EXPECT_NE(alone.err.find("--replicas goes with --services"), std::string::npos) << alone.err;
}

TEST(BenchSmoke, ComparesWithAnotherBinaryRoundByRound) {
  // This binary against itself: the mechanics (runs, JSON, ratios), not the figures.
  auto r = run_command({bench_binary(), "--compare", bench_binary(), "--rounds", "1", "--agents",
                        "2", "--tasks", "50", "--duration-ms", "5", "-q"},
                       120s);
  ASSERT_EQ(r.status.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("round 1 of 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("median over 1 round"), std::string::npos) << r.out;
  // Every figure is known on both sides, so every ratio line carries a ratio ("1.02x").
  for (const char* metric : {"placements/s", "broker CPU per task", "process CPU per task"}) {
    size_t summary = r.out.find("median over");
    size_t line = r.out.find(std::string("\n") + metric, summary);
    ASSERT_NE(line, std::string::npos) << metric << " in " << r.out;
    std::string row = r.out.substr(line + 1, r.out.find('\n', line + 1) - line - 1);
    EXPECT_EQ(row.back(), 'x') << row;
    EXPECT_EQ(row.find("n/a"), std::string::npos) << row;
  }
}

TEST(BenchSmoke, CompareNamesTheRunThatFailed) {
  auto r = run_command({bench_binary(), "--compare", "/nonexistent/cube-bench", "--agents", "2",
                        "--tasks", "10", "-q"},
                       60s);
  EXPECT_EQ(r.status.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("round 1, other (/nonexistent/cube-bench): cannot run"), std::string::npos)
      << r.err;

  auto bad = run_command({bench_binary(), "--rounds", "2"}, 10s);
  EXPECT_EQ(bad.status.code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--rounds goes with --compare"), std::string::npos) << bad.err;
}

TEST(BenchSmoke, ThisOnlyMustNameAnOptionGivenWithCompare) {
  auto not_given = run_command({bench_binary(), "--compare", bench_binary(), "--this-only", "batch",
                                "--agents", "2", "--tasks", "10", "-q"},
                               10s);
  EXPECT_EQ(not_given.status.code, 2) << not_given.err;
  EXPECT_NE(not_given.err.find("--this-only batch: --batch is not given"), std::string::npos)
      << not_given.err;
  auto alone = run_command({bench_binary(), "--batch", "4", "--this-only", "batch"}, 10s);
  EXPECT_EQ(alone.status.code, 2) << alone.err;
  EXPECT_NE(alone.err.find("--this-only goes with --compare"), std::string::npos) << alone.err;
}

}  // namespace
}  // namespace cube::test
