// The pieces of cube-bench --idle that decide and compute: how N agents are split over fleet
// processes under an open-file limit, the figures of the report, the /proc readings it adds, where
// the broker binary is found; and that a spawned child process is always ended and reaped.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "bench/fleet_split.h"
#include "bench/idle_report.h"
#include "bench/idle_run.h"
#include "bench/process_stats.h"
#include "bench/sim_fleet.h"
#include "bench/spawned_process.h"
#include "common/clock.h"
#include "tests/support/temp_dir.h"

namespace cube::bench {
namespace {

size_t sum(const std::vector<size_t>& v) {
  return std::accumulate(v.begin(), v.end(), size_t{0});
}

TEST(FleetSplitTest, AgentsPerProcessFollowTheFdLimit) {
  // fds_needed(m, false) <= limit is what a fleet process checks before it starts; 2 more per
  // agent leave room for every agent to replace its DEALER at once.
  for (uint64_t limit : {1024u, 20000u, 65536u}) {
    size_t m = max_agents_per_process(limit);
    EXPECT_LE(fds_needed(m, false) + 2 * m, limit) << limit;
    EXPECT_GT(fds_needed(m + 1, false) + 2 * (m + 1), limit) << limit;
  }
  EXPECT_EQ(max_agents_per_process(20000), 2193u);
  EXPECT_EQ(max_agents_per_process(100), 0u) << "not even one agent fits";
}

TEST(FleetSplitTest, FiveThousandAgentsUnderTwentyThousandFdsTakeThreeProcesses) {
  auto split = split_fleet(5000, 20000, 0, 64);
  ASSERT_TRUE(split.is_ok()) << split.status().to_string();
  EXPECT_EQ(*split, (std::vector<size_t>{1667, 1667, 1666}));

  auto one = split_fleet(1000, 20000, 0, 64);
  ASSERT_TRUE(one.is_ok());
  EXPECT_EQ(*one, std::vector<size_t>{1000});
}

TEST(FleetSplitTest, ACapSplitsEvenlyWithTheLargerProcessesFirst) {
  auto split = split_fleet(40, 20000, 20, 64);
  ASSERT_TRUE(split.is_ok());
  EXPECT_EQ(*split, (std::vector<size_t>{20, 20}));

  auto uneven = split_fleet(41, 20000, 20, 64);
  ASSERT_TRUE(uneven.is_ok());
  EXPECT_EQ(*uneven, (std::vector<size_t>{14, 14, 13}));
  EXPECT_EQ(sum(*uneven), 41u);

  // The fd limit wins over a larger cap.
  auto limited = split_fleet(7000, 20000, 100000, 64);
  ASSERT_TRUE(limited.is_ok());
  EXPECT_EQ(limited->size(), 4u);
  EXPECT_EQ(sum(*limited), 7000u);
  for (size_t n : *limited)
    EXPECT_LE(fds_needed(n, false), 20000u);
}

TEST(FleetSplitTest, RefusesWhatCannotWork) {
  EXPECT_EQ(split_fleet(0, 20000, 0, 64).status().code(), ErrorCode::Invalid);
  auto none = split_fleet(10, 100, 0, 64);
  EXPECT_EQ(none.status().code(), ErrorCode::Unavailable);
  EXPECT_NE(none.status().message().find("ulimit"), std::string::npos) << none.status().message();
  auto too_many = split_fleet(1000, 20000, 1, 64);
  EXPECT_EQ(too_many.status().code(), ErrorCode::Unavailable);
  EXPECT_NE(too_many.status().message().find("1000 fleet processes"), std::string::npos)
      << too_many.status().message();
}

IdleResult sample_result() {
  IdleResult r;
  r.config.agents = 5000;
  r.broker_address = "127.0.0.1:40000";
  r.broker_started = true;
  r.heartbeat = Millis(1000);
  r.agents_per_process = {2500, 2500};
  r.fleet_fd_limit = 20000;
  r.registration_s = 12.5;
  r.ready_after = 5000;
  r.window_s = 10.0;
  r.broker_cpu_s = 1.5;
  r.heartbeats = 50000;
  r.broker_rss_bytes = 200 << 20;
  r.broker_peak_rss_bytes = 210 << 20;
  r.broker_fds = 15030;
  r.broker_fd_limit = 20000;
  r.fleet_cpu_s = 4.0;
  return r;
}

TEST(IdleReportTest, DerivesPercentPeriodAndCostPerHeartbeat) {
  IdleResult r = sample_result();
  EXPECT_DOUBLE_EQ(*r.broker_cpu_percent(), 15.0);
  EXPECT_DOUBLE_EQ(*r.heartbeats_per_s(), 5000.0);
  EXPECT_DOUBLE_EQ(*r.heartbeat_period_ms(), 1000.0);
  EXPECT_DOUBLE_EQ(*r.broker_cpu_us_per_heartbeat(), 30.0);  // 1.5 s / 50,000 beats
  EXPECT_DOUBLE_EQ(*r.fleet_cpu_percent(), 40.0);

  // Without the broker's counter: the beats expected from the configured period.
  r.heartbeats.reset();
  EXPECT_EQ(r.heartbeat_period_ms(), std::nullopt);
  EXPECT_DOUBLE_EQ(*r.broker_cpu_us_per_heartbeat(), 30.0);
  r.heartbeat.reset();  // an external broker without the counter: unknown
  EXPECT_EQ(r.broker_cpu_us_per_heartbeat(), std::nullopt);

  IdleResult empty;
  EXPECT_EQ(empty.broker_cpu_percent(), std::nullopt);
  EXPECT_EQ(empty.heartbeats_per_s(), std::nullopt);
}

TEST(IdleReportTest, JsonCarriesEveryFigureAndTheTableNamesThem) {
  IdleResult r = sample_result();
  nlohmann::json j = to_json(r);
  for (const char* key :
       {"agents", "complete", "registration_s", "window_s", "broker_cpu_s", "broker_cpu_percent",
        "heartbeats", "heartbeats_per_s", "heartbeat_period_ms", "broker_cpu_us_per_heartbeat",
        "broker_rss_bytes", "broker_peak_rss_bytes", "broker_fds", "broker_fd_limit", "fleet_cpu_s",
        "fleet_cpu_percent", "ready_after"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["config"]["mode"], "idle");
  EXPECT_EQ(j["config"]["heartbeat_ms"], 1000);
  EXPECT_EQ(j["config"]["agents_per_process"], nlohmann::json({2500, 2500}));
  EXPECT_DOUBLE_EQ(j["broker_cpu_percent"].get<double>(), 15.0);
  EXPECT_TRUE(j["complete"].get<bool>());

  std::string table = to_table(r);
  for (const char* text : {"2 fleet processes (2500 + 2500)", "15.0 % of a core", "30.0 µs",
                           "50,000 heartbeats counted", "1000 ms", "15,030", "limit 20,000"}) {
    EXPECT_NE(table.find(text), std::string::npos) << text << " in\n" << table;
  }

  r.broker_cpu_s.reset();
  r.error = "interrupted";
  j = to_json(r);
  EXPECT_TRUE(j["broker_cpu_percent"].is_null());
  EXPECT_FALSE(j["complete"].get<bool>());
  EXPECT_NE(to_table(r).find("error: interrupted"), std::string::npos);
}

TEST(IdleProcessStatsTest, ReadsTheOpenFileLimitAndCountsDescriptors) {
  const std::string limits =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max processes             63704                63704                processes \n"
      "Max open files            1024                 20000                files     \n";
  EXPECT_EQ(*parse_open_file_limit(limits), 1024u);
  EXPECT_EQ(*parse_open_file_limit("Max open files            unlimited            unlimited"),
            UINT64_MAX);
  EXPECT_FALSE(parse_open_file_limit("Max processes 5 5").is_ok());
  EXPECT_FALSE(parse_open_file_limit("Max open files   many   many").is_ok());

  auto mine = open_file_limit(::getpid());
  ASSERT_TRUE(mine.is_ok()) << mine.status().to_string();
  EXPECT_GT(*mine, 0u);
  auto fds = open_fds(::getpid());
  ASSERT_TRUE(fds.is_ok()) << fds.status().to_string();
  EXPECT_GE(*fds, 3u);  // stdin, stdout, stderr at least
  int extra = ::dup(0);
  EXPECT_EQ(*open_fds(::getpid()), *fds + 1);
  ::close(extra);
}

TEST(FindBrokerBinaryTest, LooksNextToTheBenchInABuildTreeOrAnInstall) {
  test::TempDir dir;
  auto make_executable = [](const std::filesystem::path& p) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << "#!/bin/sh\n";
    std::filesystem::permissions(p, std::filesystem::perms::owner_all);
  };
  const auto bench = dir.path() / "bench" / "cube-bench";
  auto missing = find_broker_binary("", bench.string());
  EXPECT_EQ(missing.status().code(), ErrorCode::Unavailable);
  EXPECT_NE(missing.status().message().find("--broker-bin"), std::string::npos);

  make_executable(dir.path() / "bench" / "cube-broker");  // an install: side by side
  EXPECT_EQ(*find_broker_binary("", bench.string()),
            (dir.path() / "bench" / "cube-broker").string());
  make_executable(dir.path() / "broker" / "cube-broker");  // a build tree wins
  EXPECT_EQ(*find_broker_binary("", bench.string()),
            (dir.path() / "broker" / "cube-broker").string());

  EXPECT_EQ(*find_broker_binary("/bin/sh", bench.string()), "/bin/sh");
  EXPECT_FALSE(find_broker_binary("/nonexistent/cube-broker", bench.string()).is_ok());
}

TEST(SpawnedProcessTest, ClosingStdinEndsAReaderAndStopEndsTheRest) {
  // cat ends at EOF on stdin: what a fleet process does when cube-bench closes the pipe.
  auto cat = SpawnedProcess::spawn({"/bin/cat"}, SpawnedProcess::Stdin::Pipe);
  ASSERT_TRUE(cat.is_ok()) << cat.status().to_string();
  EXPECT_EQ(cat->poll_exit(), std::nullopt);
  cat->close_stdin();
  pollfd exited{cat->pidfd(), POLLIN, 0};
  ASSERT_EQ(::poll(&exited, 1, 10000), 1) << "the pidfd turns readable when it exits";
  auto ended = cat->poll_exit();
  ASSERT_TRUE(ended.has_value());
  EXPECT_TRUE(ended->succeeded()) << ended->describe();
  EXPECT_EQ(cat->pidfd(), -1);

  // sleep ignores stdin: SIGTERM ends it.
  auto sleeper = SpawnedProcess::spawn({"/bin/sleep", "1000"}, SpawnedProcess::Stdin::DevNull);
  ASSERT_TRUE(sleeper.is_ok());
  ProcessExit stopped = sleeper->stop(Millis(10000));
  EXPECT_EQ(stopped.signal, SIGTERM) << stopped.describe();
  EXPECT_EQ(sleeper->stop(Millis(10)).signal, SIGTERM) << "idempotent";

  // A process that ignores SIGTERM is killed after the grace.
  auto stubborn = SpawnedProcess::spawn({"/bin/sh", "-c", "trap '' TERM; exec sleep 1000"},
                                        SpawnedProcess::Stdin::DevNull);
  ASSERT_TRUE(stubborn.is_ok());
  // The shell must have set its trap before the signal: wait until it runs sleep.
  const Clock& clock = system_clock();
  const SteadyTime deadline = clock.now() + Millis(10000);
  std::string comm;
  while (comm != "sleep" && clock.now() < deadline) {
    std::ifstream in("/proc/" + std::to_string(stubborn->pid()) + "/comm");
    std::getline(in, comm);
  }
  ASSERT_EQ(comm, "sleep");
  EXPECT_EQ(stubborn->stop(Millis(200)).signal, SIGKILL);

  auto bad = SpawnedProcess::spawn({"/nonexistent/x"}, SpawnedProcess::Stdin::DevNull);
  EXPECT_EQ(bad.status().code(), ErrorCode::Unavailable);
}

TEST(SpawnedProcessTest, TheDestructorReapsWhatIsLeft) {
  pid_t pid = 0;
  {
    auto sleeper = SpawnedProcess::spawn({"/bin/sleep", "1000"}, SpawnedProcess::Stdin::Pipe);
    ASSERT_TRUE(sleeper.is_ok());
    pid = sleeper->pid();
  }
  EXPECT_NE(::kill(pid, 0), 0) << "reaped: the pid is gone";
}

}  // namespace
}  // namespace cube::bench
