// Host and task usage for NODE_STATS: the /proc parsers, the CPU rate between samples, and
// collect_stats over a fake /proc with a driver that reports usage for some tasks only.
#include "agent/node_stats.h"

#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>

#include "tests/support/temp_dir.h"

namespace cube::agent {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

constexpr std::string_view kProcStat =
    "cpu  100 20 30 800 50 5 5 10 0 0\n"
    "cpu0 50 10 15 400 25 2 3 5 0 0\n"
    "cpu1 50 10 15 400 25 3 2 5 0 0\n"
    "intr 12345 0 0\n"
    "ctxt 999\n";

TEST(ProcStat, SumsBusyAndIdleTicksAndCountsCores) {
  auto t = parse_proc_stat(kProcStat);
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->busy, 100u + 20 + 30 + 5 + 5 + 10);  // user nice system irq softirq steal
  EXPECT_EQ(t->total, t->busy + 800 + 50);          // + idle + iowait
  EXPECT_EQ(t->cores, 2u);
}

TEST(ProcStat, OldKernelsWithFourCountersParse) {
  auto t = parse_proc_stat("cpu 1 2 3 4\ncpu0 1 2 3 4\n");
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->busy, 6u);
  EXPECT_EQ(t->total, 10u);
  EXPECT_EQ(t->cores, 1u);
}

TEST(ProcStat, MalformedTextIsInvalid) {
  EXPECT_FALSE(parse_proc_stat("").is_ok());
  EXPECT_FALSE(parse_proc_stat("cpu0 1 2 3 4\n").is_ok());  // no aggregate line
  EXPECT_FALSE(parse_proc_stat("cpu 1 2\n").is_ok());
  EXPECT_FALSE(parse_proc_stat("cpu 1 two 3 4\n").is_ok());
}

TEST(BusyCores, IsTheBusyShareOfTheElapsedTicksTimesTheCores) {
  CpuTimes before{100, 1000, 4};
  CpuTimes after{400, 2000, 4};  // 300 of 1000 ticks busy on 4 cores
  EXPECT_DOUBLE_EQ(busy_cores(before, after), 1.2);
  EXPECT_DOUBLE_EQ(busy_cores(before, before), 0);  // no time passed
  EXPECT_DOUBLE_EQ(busy_cores(after, before), 0);   // counters went backwards (reboot)
  EXPECT_DOUBLE_EQ(busy_cores(before, CpuTimes{1100, 2000, 4}), 4);  // all busy
}

TEST(Meminfo, UsedIsTotalMinusAvailable) {
  auto m = parse_meminfo_usage(
      "MemTotal:       1048576 kB\nMemFree:  10 kB\nMemAvailable:    786432 kB\nCached: 5 kB\n");
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(m->total_bytes, 1024 * kMiB);
  EXPECT_EQ(m->used_bytes, 256 * kMiB);
}

TEST(Meminfo, WithoutMemAvailableFreeBuffersAndCachedStandIn) {
  auto m = parse_meminfo_usage(
      "MemTotal: 1048576 kB\nMemFree: 262144 kB\nBuffers: 131072 kB\nCached: 131072 kB\n");
  ASSERT_TRUE(m.is_ok());
  EXPECT_EQ(m->used_bytes, 512 * kMiB);
  EXPECT_FALSE(parse_meminfo_usage("MemFree: 1 kB\n").is_ok());
}

TEST(LoadAvg, ReadsTheThreeAverages) {
  auto l = parse_loadavg("0.52 1.25 10.00 3/512 12345\n");
  ASSERT_TRUE(l.is_ok()) << l.status().to_string();
  EXPECT_EQ(*l, (LoadAverage{0.52, 1.25, 10.0}));
  EXPECT_FALSE(parse_loadavg("0.5 1.0\n").is_ok());
  EXPECT_FALSE(parse_loadavg("a b c 1/2 3\n").is_ok());
}

TEST(DiskUsage, ReadsTheDataDirsFileSystemAndNamesAMissingDir) {
  test::TempDir dir;
  auto d = disk_usage(dir.path());
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_GT(d->total_bytes, 0);
  EXPECT_GE(d->used_bytes, 0);
  EXPECT_LE(d->used_bytes, d->total_bytes);
  auto missing = disk_usage(dir / "missing");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::Unavailable);
  EXPECT_NE(missing.status().message().find("missing"), std::string::npos);
}

// Reports usage for task "t1", throws for "boom", knows nothing else.
class UsageDriver final : public Driver {
 public:
  std::string_view name() const override { return kDriverExec; }
  Result<AttemptStatus> start(const Task&) override { return Status::internal("unused"); }
  Status stop(const std::string&, Millis) override { return Status::ok(); }
  Result<AttemptStatus> inspect(const std::string&) override { return Status::not_found("unused"); }
  Result<LogChunk> logs(const std::string&, int64_t, int64_t) override {
    return Status::not_found("unused");
  }
  Result<std::vector<AttemptStatus>> list_owned() override { return std::vector<AttemptStatus>{}; }
  void set_exit_sink(ExitSink) override {}
  Result<TaskUsage> stats(const std::string& task_id) override {
    if (task_id == "t1")
      return TaskUsage{0.25, 48 * kMiB};
    if (task_id == "boom")
      throw std::runtime_error("driver bug");
    return Status::not_found("no task " + task_id);
  }
};

class FakeProc {
 public:
  FakeProc() {
    std::filesystem::create_directories(root());
    put("stat", std::string(kProcStat));
    put("meminfo", "MemTotal: 2097152 kB\nMemAvailable: 1048576 kB\n");
    put("loadavg", "0.50 0.25 0.10 1/100 42\n");
  }
  void put(const std::string& name, const std::string& text) {
    std::ofstream(root() / name) << text;
  }
  std::filesystem::path root() const { return dir_ / "proc"; }
  const std::filesystem::path& data_dir() const { return dir_.path(); }

 private:
  test::TempDir dir_;
};

TEST(CollectStats, ReadsEverySourceAndAsksTheDriverAboutRunningTasks) {
  FakeProc proc;
  UsageDriver driver;
  auto sample =
      collect_stats(driver, {{"t1", 3}, {"t2", 1}, {"boom", 1}}, proc.data_dir(), proc.root());
  ASSERT_TRUE(sample.cpu.has_value());
  EXPECT_EQ(sample.cpu->cores, 2u);
  ASSERT_TRUE(sample.memory.has_value());
  EXPECT_EQ(sample.memory->total_bytes, 2048 * kMiB);
  EXPECT_EQ(sample.memory->used_bytes, 1024 * kMiB);
  ASSERT_TRUE(sample.load.has_value());
  EXPECT_DOUBLE_EQ(sample.load->one, 0.5);
  ASSERT_TRUE(sample.disk.has_value());
  EXPECT_GT(sample.disk->total_bytes, 0);
  // t2 is unknown to the driver and boom throws: only t1 is reported.
  ASSERT_EQ(sample.tasks.size(), 1u);
  EXPECT_EQ(sample.tasks[0].task_id, "t1");
  EXPECT_EQ(sample.tasks[0].attempt, 3u);
  EXPECT_DOUBLE_EQ(sample.tasks[0].cpu_used, 0.25);
  EXPECT_EQ(sample.tasks[0].memory_bytes, 48 * kMiB);
}

TEST(CollectStats, UnreadableSourcesAreLeftOut) {
  test::TempDir dir;
  UsageDriver driver;
  auto sample = collect_stats(driver, {}, dir / "no-data-dir", dir / "no-proc");
  EXPECT_FALSE(sample.cpu.has_value());
  EXPECT_FALSE(sample.memory.has_value());
  EXPECT_FALSE(sample.load.has_value());
  EXPECT_FALSE(sample.disk.has_value());
  EXPECT_TRUE(sample.tasks.empty());
}

TEST(NodeUsageTrackerTest, CpuIsTheRateSinceThePreviousSample) {
  StatsSample first;
  first.cpu = CpuTimes{100, 1000, 2};
  first.memory = MemoryUsage{512 * kMiB, 1024 * kMiB};
  first.disk = DiskUsage{10 * kMiB, 100 * kMiB};
  first.load = LoadAverage{1, 2, 3};

  NodeUsageTracker with_baseline(CpuTimes{0, 0, 2});
  auto u = with_baseline.update(first, 3, 1'700'000'000'000);
  EXPECT_DOUBLE_EQ(u.cpu_used, 0.2);  // 100 of 1000 ticks on 2 cores
  EXPECT_DOUBLE_EQ(u.cpu_total, 2);
  EXPECT_EQ(u.memory_used_bytes, 512 * kMiB);
  EXPECT_EQ(u.memory_total_bytes, 1024 * kMiB);
  EXPECT_EQ(u.disk_used_bytes, 10 * kMiB);
  EXPECT_EQ(u.disk_total_bytes, 100 * kMiB);
  EXPECT_DOUBLE_EQ(u.load_15, 3);
  EXPECT_EQ(u.running, 3u);
  EXPECT_EQ(u.sampled_ms, 1'700'000'000'000);

  StatsSample second = first;
  second.cpu = CpuTimes{700, 2000, 2};  // 600 of 1000 more ticks busy
  EXPECT_DOUBLE_EQ(with_baseline.update(second, 3, 0).cpu_used, 1.2);

  // A sample without CPU counters reports 0 and keeps the previous counters for the next one.
  StatsSample no_cpu = first;
  no_cpu.cpu.reset();
  EXPECT_DOUBLE_EQ(with_baseline.update(no_cpu, 3, 0).cpu_used, 0);
  StatsSample third = first;
  third.cpu = CpuTimes{1200, 3000, 2};
  EXPECT_DOUBLE_EQ(with_baseline.update(third, 3, 0).cpu_used, 1.0);

  NodeUsageTracker without_baseline;
  EXPECT_DOUBLE_EQ(without_baseline.update(first, 0, 0).cpu_used, 0);
  EXPECT_DOUBLE_EQ(without_baseline.update(second, 0, 0).cpu_used, 1.2);
}

}  // namespace
}  // namespace cube::agent
