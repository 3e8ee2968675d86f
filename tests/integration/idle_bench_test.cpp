// cube-bench --idle as a user runs it, small: 40 idle agents split over two fleet processes
// against a real cube-broker process, and a run that starts its own broker. Checks that every
// agent registers, that the report's figures are there and plausible, and that no child process
// (fleet or broker) outlives cube-bench, even when it is interrupted.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/integration/cluster.h"
#include "tests/support/process.h"

namespace cube::test {
namespace {

std::string bench_binary() {
  return std::string(CUBE_BIN_DIR) + "/bench/cube-bench";
}

// Processes whose command line holds every one of `words` (NUL-separated /proc cmdline).
int processes_with(const std::vector<std::string>& words) {
  int count = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bool all = !cmdline.empty();
    for (const auto& w : words)
      all = all && cmdline.find(w) != std::string::npos;
    count += all;
  }
  return count;
}

nlohmann::json parse_report(const CommandResult& r) {
  auto json = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_TRUE(json.is_object()) << "not one JSON object: " << r.out << r.err;
  return json.is_object() ? json : nlohmann::json::object();
}

TEST(IdleBench, FortyAgentsInTwoFleetProcessesAgainstABrokerProcess) {
  Cluster c;
  c.start_broker({"--store", "memory"});
  const std::string pid = std::to_string(c.broker().pid());
  auto r = run_command(
      {bench_binary(), "--idle", "--broker", c.address(), "--broker-pid", pid, "--agents", "40",
       "--agents-per-process", "20", "--idle-seconds", "2", "-o", "json"},
      120s);
  ASSERT_EQ(r.status.code, 0) << r.out << r.err << c.logs();
  auto j = parse_report(r);
  EXPECT_TRUE(j.value("complete", false)) << r.out;
  EXPECT_EQ(j.value("agents", 0), 40);
  EXPECT_EQ(j.value("ready_after", 0), 40) << r.out;
  EXPECT_EQ(j["config"]["agents_per_process"], nlohmann::json({20, 20})) << r.out;
  EXPECT_FALSE(j["config"].value("broker_started", true));
  EXPECT_EQ(j["config"].value("broker_pid", 0), c.broker().pid());
  EXPECT_NE(r.err.find("40 agents registered"), std::string::npos) << "progress on stderr";

  // The figures: measured over about the window asked for, from the broker process.
  EXPECT_NEAR(j.value("window_s", 0.0), 2.0, 0.5) << r.out;
  ASSERT_TRUE(j["broker_cpu_s"].is_number()) << r.out;
  double percent = j.value("broker_cpu_percent", -1.0);
  EXPECT_GE(percent, 0.0) << r.out;
  EXPECT_LT(percent, 100.0) << "40 idle agents do not keep a core busy: " << r.out;
  // 40 agents at cube-broker's default 1 s heartbeat: about 40 beats a second.
  ASSERT_TRUE(j["heartbeats"].is_number()) << r.out;
  EXPECT_GT(j["heartbeats"].get<double>(), 0.0);
  EXPECT_NEAR(j.value("heartbeat_period_ms", 0.0), 1000.0, 300.0) << r.out;
  EXPECT_TRUE(j["broker_cpu_us_per_heartbeat"].is_number()) << r.out;
  EXPECT_GT(j.value("broker_rss_bytes", 0), 1 << 20) << r.out;
  // Three connections per agent, plus the broker's own descriptors.
  EXPECT_GE(j.value("broker_fds", 0), 3 * 40) << r.out;
  EXPECT_GT(j.value("broker_fd_limit", 0), j.value("broker_fds", 0)) << r.out;
  EXPECT_TRUE(j["fleet_cpu_s"].is_number()) << r.out;

  EXPECT_EQ(processes_with({"--fleet-only", c.address()}), 0) << "fleet processes left behind";
}

TEST(IdleBench, StartsItsOwnBrokerWithTheHeartbeatAskedForAndStopsIt) {
  auto r = run_command({bench_binary(), "--idle", "--agents", "10", "--heartbeat", "250ms",
                        "--idle-seconds", "2", "-q"},
                       120s);
  ASSERT_EQ(r.status.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("--heartbeat 250ms"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("% of a core"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("10 / 10"), std::string::npos) << r.out;

  auto j_run = run_command({bench_binary(), "--idle", "--agents", "10", "--heartbeat", "250ms",
                            "--idle-seconds", "2", "-q", "-o", "json"},
                           120s);
  ASSERT_EQ(j_run.status.code, 0) << j_run.out << j_run.err;
  auto j = parse_report(j_run);
  EXPECT_TRUE(j["config"].value("broker_started", false));
  EXPECT_EQ(j["config"].value("heartbeat_ms", 0), 250);
  EXPECT_NEAR(j.value("heartbeat_period_ms", 0.0), 250.0, 100.0) << j_run.out;
  ASSERT_TRUE(j["config"]["broker_pid"].is_number());
  EXPECT_NE(::kill(j["config"]["broker_pid"].get<pid_t>(), 0), 0)
      << "the broker was stopped and reaped";
}

TEST(IdleBench, AnInterruptedRunLeavesNoChildBehind) {
  Cluster c;
  c.start_broker({"--store", "memory"});
  Process bench({bench_binary(), "--idle", "--broker", c.address(), "--broker-pid",
                 std::to_string(c.broker().pid()), "--agents", "20", "--agents-per-process", "10",
                 "--idle-seconds", "600"},
                (c.dir() / "bench.log").string());
  // Interrupt it while it measures: once every agent is listed ready.
  ASSERT_TRUE(eventually(
      [&] {
        auto nodes = c.nodes();
        int ready = 0;
        for (const auto& n : nodes)
          ready += n.value("State", "") == "ready";
        return ready == 20;
      },
      60s, 200ms))
      << bench.output() << c.logs();
  EXPECT_EQ(processes_with({"--fleet-only", c.address()}), 2);
  bench.signal(SIGTERM);
  auto status = bench.wait(30s);
  ASSERT_TRUE(status.has_value()) << bench.output();
  EXPECT_EQ(status->code, 1) << bench.output();
  EXPECT_NE(bench.output().find("interrupted"), std::string::npos) << bench.output();
  EXPECT_EQ(processes_with({"--fleet-only", c.address()}), 0) << "fleet processes left behind";
}

TEST(IdleBench, RejectsOptionsThatDoNotFit) {
  auto no_pid = run_command({bench_binary(), "--idle", "--broker", "127.0.0.1:7100"}, 10s);
  EXPECT_EQ(no_pid.status.code, 2) << no_pid.err;
  EXPECT_NE(no_pid.err.find("--broker-pid"), std::string::npos) << no_pid.err;

  auto tasks = run_command({bench_binary(), "--idle", "--tasks", "5"}, 10s);
  EXPECT_EQ(tasks.status.code, 2) << tasks.err;
  EXPECT_NE(tasks.err.find("--tasks does not go with --idle"), std::string::npos) << tasks.err;

  auto seconds = run_command({bench_binary(), "--idle-seconds", "5"}, 10s);
  EXPECT_EQ(seconds.status.code, 2) << seconds.err;
  EXPECT_NE(seconds.err.find("goes with --idle"), std::string::npos) << seconds.err;

  auto no_broker =
      run_command({bench_binary(), "--idle", "--agents", "2", "--broker-bin", "/nonexistent"}, 10s);
  EXPECT_EQ(no_broker.status.code, 1) << no_broker.err;
  EXPECT_NE(no_broker.err.find("/nonexistent is not an executable file"), std::string::npos)
      << no_broker.err;
}

}  // namespace
}  // namespace cube::test
