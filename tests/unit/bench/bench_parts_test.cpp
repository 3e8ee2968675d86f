// The pieces of cube-bench that compute: task IDs and their join, percentiles, rates, CPU per
// task, /proc parsing; and which threads count as the in-process broker's.
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_report.h"
#include "bench/in_process_broker.h"
#include "bench/process_stats.h"
#include "bench/run_recorder.h"
#include "broker/store_writer.h"
#include "client/client.h"
#include "common/ids.h"

namespace cube::bench {
namespace {

TEST(RunRecorderTest, TaskIdsAreUuidsThatEncodeTheirIndex) {
  ManualClock clock;
  RunRecorder recorder(5000, RunRecorder::make_id_prefix(clock.wall()));
  std::string id = recorder.task_id(4097);
  EXPECT_TRUE(is_uuid(id)) << id;
  EXPECT_TRUE(id.ends_with("-000000001001")) << id;
  EXPECT_EQ(recorder.index_of(id), 4097u);
  EXPECT_LT(recorder.task_id(9), recorder.task_id(10)) << "ordered by index";
  EXPECT_EQ(recorder.index_of(recorder.task_id(0)), 0u);

  RunRecorder other(5000, RunRecorder::make_id_prefix(clock.wall() + Millis(10)));
  EXPECT_EQ(recorder.index_of(other.task_id(1)), std::nullopt) << "another run's task";
  std::string beyond = id;
  beyond.replace(beyond.size() - 12, 12, "000000001388");  // 5000: out of range
  EXPECT_EQ(recorder.index_of(beyond), std::nullopt);
  EXPECT_EQ(recorder.index_of("not a task"), std::nullopt);
}

TEST(RunRecorderTest, RecordsEachTimeOnceAndJoinsAgentReportsById) {
  ManualClock clock;
  RunRecorder recorder(3, RunRecorder::make_id_prefix(clock.wall()));
  SteadyTime t0 = clock.now() + Millis(1000);
  recorder.sent(1, t0);
  recorder.acked(1, t0 + Millis(2));
  recorder.task_started(recorder.task_id(1), 1, t0 + Millis(5));
  recorder.task_started(recorder.task_id(1), 2, t0 + Millis(50));  // a restart keeps the first
  recorder.task_ended(recorder.task_id(1), 2, t0 + Millis(105));
  recorder.task_started("0190a3c4-0000-7000-8000-000000000001", 1, t0);  // not ours
  EXPECT_EQ(recorder.sent_ns(1), to_ns(t0));
  EXPECT_EQ(recorder.started_ns(1), to_ns(t0 + Millis(5)));
  EXPECT_EQ(recorder.ended_ns(1), to_ns(t0 + Millis(105)));
  EXPECT_EQ(recorder.started_ns(0), 0);
  EXPECT_EQ(recorder.sent_count(), 1u);
  EXPECT_EQ(recorder.started_count(), 1u);
  EXPECT_EQ(recorder.ended_count(), 1u);
}

TEST(BenchReportTest, PercentilesUseNearestRank) {
  std::vector<double> v;
  for (int i = 1000; i >= 1; --i)
    v.push_back(i);
  Percentiles p = percentiles(v);
  EXPECT_EQ(p.count, 1000u);
  EXPECT_EQ(p.p50, 500);
  EXPECT_EQ(p.p99, 990);
  EXPECT_EQ(p.p999, 999);
  EXPECT_EQ(p.max, 1000);
  EXPECT_DOUBLE_EQ(p.mean, 500.5);
  std::vector<double> empty;
  EXPECT_EQ(percentiles(empty).count, 0u);
}

TEST(BenchReportTest, RatesCountFromTheFirstSendAndJsonHasTheAgreedKeys) {
  ManualClock clock;
  RunRecorder recorder(4, RunRecorder::make_id_prefix(clock.wall()));
  SteadyTime t0 = clock.now() + Millis(1000);
  for (size_t i = 0; i < 4; ++i) {
    SteadyTime sent = t0 + Millis(100 * i);
    recorder.sent(i, sent);
    recorder.acked(i, sent + Millis(1));
    recorder.task_started(recorder.task_id(i), 1, sent + Millis(10 + i));
    recorder.task_ended(recorder.task_id(i), 1, sent + Millis(500));
  }
  BenchResult r;
  r.config.tasks = 4;
  r.completed_at_broker = 4;
  compute_rates(recorder, r);
  EXPECT_EQ(r.acked, 4u);
  EXPECT_NEAR(r.submits_per_s, 4 / 0.301, 1e-6);
  EXPECT_NEAR(r.placements_per_s, 4 / 0.313, 1e-6);
  EXPECT_NEAR(r.completed_per_s, 4 / 0.8, 1e-6);
  EXPECT_DOUBLE_EQ(r.latency_ms.p50, 11);
  EXPECT_DOUBLE_EQ(r.latency_ms.max, 13);
  EXPECT_TRUE(r.complete());

  auto json = to_json(r);
  for (const char* key : {"submits_per_s", "placements_per_s", "completed_per_s", "latency_ms",
                          "broker_cpu_s", "broker_peak_rss_bytes"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  for (const char* key : {"p50", "p99", "p999"})
    EXPECT_TRUE(json["latency_ms"].contains(key)) << key;
  EXPECT_NE(to_table(r).find("placements"), std::string::npos);

  r.completed_at_broker = 3;
  EXPECT_FALSE(r.complete()) << "the broker must count every task completed";
}

// The line of `table` that starts with `metric`, or "" when there is none.
std::string table_row(const std::string& table, const std::string& metric) {
  size_t at = table.find("\n" + metric);
  if (at == std::string::npos)
    return "";
  size_t end = table.find('\n', at + 1);
  return table.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
}

TEST(BenchReportTest, CpuPerTaskIsOverTheTasksCompleted) {
  EXPECT_DOUBLE_EQ(*us_per_task(2.0, 100000), 20);
  EXPECT_EQ(us_per_task(std::nullopt, 100), std::nullopt);
  EXPECT_EQ(us_per_task(1.0, 0), std::nullopt);

  BenchResult r;
  r.config.tasks = 1000;
  r.ended = 1000;
  r.broker_cpu_s = 0.5;
  r.process_cpu_s = 2.0;
  EXPECT_EQ(r.tasks_completed(), 1000u) << "the agents' count while the broker's is unknown";
  r.completed_at_broker = 800;
  EXPECT_EQ(r.tasks_completed(), 800u) << "the broker's count first";
  EXPECT_DOUBLE_EQ(*r.broker_cpu_us_per_task(), 625);
  EXPECT_DOUBLE_EQ(*r.process_cpu_us_per_task(), 2500);

  auto json = to_json(r);
  EXPECT_DOUBLE_EQ(json["broker_cpu_us_per_task"].get<double>(), 625);
  EXPECT_DOUBLE_EQ(json["process_cpu_us_per_task"].get<double>(), 2500);
  EXPECT_DOUBLE_EQ(json["process_cpu_s"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(json["broker_cpu_s"].get<double>(), 0.5) << "the seconds stay";
  std::string table = to_table(r);
  EXPECT_NE(table_row(table, "broker CPU per task").find(" 625.0 µs "), std::string::npos) << table;
  EXPECT_NE(table_row(table, "process CPU per task").find(" 2500.0 µs "), std::string::npos)
      << table;
  EXPECT_NE(table_row(table, "process CPU ").find("broker, sim agents, clients"), std::string::npos)
      << table;

  r.config.broker = "127.0.0.1:7100";
  table = to_table(r);
  EXPECT_NE(table_row(table, "process CPU ").find("excludes the broker"), std::string::npos)
      << table;
  r.broker_cpu_s.reset();
  r.completed_at_broker = 0;
  json = to_json(r);
  EXPECT_TRUE(json["broker_cpu_us_per_task"].is_null());
  EXPECT_TRUE(json["process_cpu_us_per_task"].is_null()) << "no task completed";
}

TEST(ProcessStatsTest, ParsesStatLinesWhoseCommandHasSpacesAndParentheses) {
  std::string line = "1234 (ZMQbg/IO (0) x) S 1 2 3 4 5 6 7 8 9 10 250 75 0 0 20 0 3 0 100 200 300";
  auto ticks = parse_stat_ticks(line);
  ASSERT_TRUE(ticks.is_ok()) << ticks.status().to_string();
  EXPECT_EQ(*ticks, 325u);
  EXPECT_FALSE(parse_stat_ticks("1234 (short) S 1 2").is_ok());
}

TEST(ProcessStatsTest, ReadsThisProcess) {
  auto rss = status_bytes(::getpid(), "VmRSS");
  ASSERT_TRUE(rss.is_ok()) << rss.status().to_string();
  EXPECT_GT(*rss, 0);
  EXPECT_TRUE(status_bytes(::getpid(), "NoSuchKey").status().is_not_found());
  EXPECT_TRUE(process_cpu_seconds(::getpid()).is_ok());
  EXPECT_TRUE(list_threads().contains(static_cast<pid_t>(::gettid())));
  EXPECT_TRUE(thread_cpu_seconds(static_cast<pid_t>(::gettid())).is_ok());
  EXPECT_TRUE(pthread_cpu_seconds(::pthread_self()).is_ok());
  // This thread's CPU first: the process's, read after it, includes at least that much.
  auto thread = pthread_cpu_seconds(::pthread_self());
  auto process = this_process_cpu_seconds();
  ASSERT_TRUE(thread.is_ok() && process.is_ok()) << process.status().to_string();
  EXPECT_GE(*process, *thread) << "every thread's, this one's too";
}

TEST(ProcessStatsTest, NamesThreads) {
  std::string name;
  std::thread named([&] {
    ::pthread_setname_np(::pthread_self(), "named-for-test");
    auto read = thread_name(static_cast<pid_t>(::gettid()));
    name = read.is_ok() ? *read : read.status().to_string();
  });
  named.join();
  EXPECT_EQ(name, "named-for-test");
  EXPECT_TRUE(thread_name(-1).status().is_not_found());
}

TEST(InProcessBrokerTest, CountsItsZeroMqThreadsAndItsStoreWriter) {
  InProcessBroker broker;
  ASSERT_TRUE(broker.start(broker::BrokerOptions{}, "memory", system_clock()).is_ok());
  // A reply means the loop runs, and the loop starts its store writer before it polls.
  ClientOptions options;
  options.endpoint = *broker_endpoint(broker.address());
  Client client(options, system_clock());
  ASSERT_TRUE(client.status().is_ok());
  std::set<std::string> names;
  for (pid_t tid : broker.helper_threads()) {
    if (auto name = thread_name(tid); name.is_ok())
      names.insert(*name);
  }
  EXPECT_TRUE(names.contains("ZMQbg/IO/0")) << "the context's I/O thread";
  EXPECT_TRUE(names.contains(broker::StoreWriter::kThreadName));
  EXPECT_FALSE(names.contains("broker-loop")) << "counted from its own clock, not twice";
  // The loop keeps running: read its clock first, so the total (which reads it again) is later.
  double loop = broker.loop_cpu_seconds();
  EXPECT_GE(broker.cpu_seconds(), loop);
}

}  // namespace
}  // namespace cube::bench
