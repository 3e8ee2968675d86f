// Capacity detection: the cgroup parsers, the walk up a fake cgroup tree (v2 and v1) in a temp
// dir, and the --cpu/--memory/--disk overrides.
#include "agent/host_capacity.h"

#include <gtest/gtest.h>

#include <fstream>

#include "agent/options.h"
#include "tests/support/temp_dir.h"

namespace cube::agent {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kMiB = int64_t{1} << 20;

void write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A fake /proc and /sys/fs/cgroup: /proc/meminfo says 16 GiB.
class FakeHost {
 public:
  FakeHost() {
    paths.proc = dir_ / "proc";
    paths.cgroup = dir_ / "cgroup";
    write(paths.proc / "meminfo", "MemTotal:       16777216 kB\nMemFree: 1 kB\n");
    std::filesystem::create_directories(paths.cgroup);
  }
  void proc_self_cgroup(const std::string& text) { write(paths.proc / "self" / "cgroup", text); }
  void cgroup_file(const std::string& rel, const std::string& text) {
    write(paths.cgroup / rel, text);
  }
  const std::filesystem::path& data_dir() const { return dir_.path(); }

  HostPaths paths;

 private:
  test::TempDir dir_;
};

TEST(CgroupParsers, CpuMaxV2) {
  EXPECT_EQ(*parse_cgroup2_cpu_max("150000 100000\n"), std::optional<double>(1.5));
  EXPECT_EQ(*parse_cgroup2_cpu_max("50000 100000"), std::optional<double>(0.5));
  EXPECT_EQ(*parse_cgroup2_cpu_max("max 100000\n"), std::nullopt);
  EXPECT_FALSE(parse_cgroup2_cpu_max("max").is_ok());
  EXPECT_FALSE(parse_cgroup2_cpu_max("lots 100000").is_ok());
  EXPECT_FALSE(parse_cgroup2_cpu_max("100000 0").is_ok());
  EXPECT_FALSE(parse_cgroup2_cpu_max("-5 100000").is_ok());
}

TEST(CgroupParsers, CpuQuotaV1) {
  EXPECT_EQ(*parse_cgroup1_cpu_quota("200000\n", "100000\n"), std::optional<double>(2.0));
  EXPECT_EQ(*parse_cgroup1_cpu_quota("-1\n", "100000\n"), std::nullopt);
  EXPECT_FALSE(parse_cgroup1_cpu_quota("x", "100000").is_ok());
  EXPECT_FALSE(parse_cgroup1_cpu_quota("100000", "0").is_ok());
}

TEST(CgroupParsers, MemoryLimit) {
  EXPECT_EQ(*parse_cgroup_memory_limit("1073741824\n"), std::optional<int64_t>(kGiB));
  EXPECT_EQ(*parse_cgroup_memory_limit("max\n"), std::nullopt);
  // v1's "unlimited": LONG_MAX rounded down to a 4 KiB page.
  EXPECT_EQ(*parse_cgroup_memory_limit("9223372036854771712\n"), std::nullopt);
  EXPECT_FALSE(parse_cgroup_memory_limit("12XB").is_ok());
  EXPECT_FALSE(parse_cgroup_memory_limit("").is_ok());
}

TEST(CgroupParsers, ProcSelfCgroup) {
  auto m = parse_proc_self_cgroup(
      "12:memory:/docker/abc\n2:cpu,cpuacct:/system.slice/x:y\n1:name=systemd:/init\n0::/u/v\n");
  EXPECT_EQ(m.unified, std::optional<std::string>("/u/v"));
  EXPECT_EQ(m.v1.at("memory"), "/docker/abc");
  EXPECT_EQ(m.v1.at("cpu"), "/system.slice/x:y");  // a ':' in the path is kept
  EXPECT_EQ(m.v1.at("cpuacct"), "/system.slice/x:y");
  EXPECT_FALSE(parse_proc_self_cgroup("garbage\n").unified.has_value());
}

TEST(CgroupLimitsTest, V2TakesTheSmallestLimitUpThePath) {
  FakeHost host;
  host.cgroup_file("cgroup.controllers", "cpu memory\n");
  host.proc_self_cgroup("0::/parent/agent\n");
  host.cgroup_file("parent/cpu.max", "150000 100000\n");     // 1.5 cores for the parent
  host.cgroup_file("parent/agent/cpu.max", "max 100000\n");  // none of its own
  host.cgroup_file("parent/memory.max", "max\n");
  host.cgroup_file("parent/agent/memory.max", "536870912\n");  // 512 MiB
  auto limits = read_cgroup_limits(host.paths);
  EXPECT_EQ(limits.cpu, std::optional<double>(1.5));
  EXPECT_EQ(limits.memory_bytes, std::optional<int64_t>(512 * kMiB));
}

TEST(CgroupLimitsTest, V1UsesTheControllersOwnPathsAndFallsBackToTheMountRoot) {
  FakeHost host;
  // A container without a cgroup namespace: the host path does not exist under the mount,
  // whose root is the container's own cgroup.
  host.proc_self_cgroup("4:memory:/docker/0123\n3:cpu,cpuacct:/docker/0123\n");
  host.cgroup_file("memory/memory.limit_in_bytes", "2147483648\n");
  host.cgroup_file("cpu,cpuacct/cpu.cfs_quota_us", "50000\n");
  host.cgroup_file("cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  auto limits = read_cgroup_limits(host.paths);
  EXPECT_EQ(limits.cpu, std::optional<double>(0.5));
  EXPECT_EQ(limits.memory_bytes, std::optional<int64_t>(2 * kGiB));
}

TEST(CgroupLimitsTest, NoCgroupFilesMeansNoLimits) {
  FakeHost host;
  host.proc_self_cgroup("0::/\n");
  EXPECT_EQ(read_cgroup_limits(host.paths), CgroupLimits{});
  host.cgroup_file("memory/memory.limit_in_bytes", "9223372036854771712\n");
  host.cgroup_file("cpu/cpu.cfs_quota_us", "-1\n");
  host.cgroup_file("cpu/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(read_cgroup_limits(host.paths), CgroupLimits{});
}

TEST(ProbeHostCapacityTest, CgroupLimitsCapWhatTheHostHas) {
  FakeHost host;
  host.cgroup_file("cgroup.controllers", "cpu memory\n");
  host.proc_self_cgroup("0::/agent\n");
  host.cgroup_file("agent/cpu.max", "25000 100000\n");
  host.cgroup_file("agent/memory.max", "1073741824\n");
  auto c = probe_host_capacity(host.data_dir(), 3, {}, host.paths);
  EXPECT_DOUBLE_EQ(c.cpu, 0.25);
  EXPECT_EQ(c.memory_bytes, kGiB);  // below MemTotal's 16 GiB
  EXPECT_GT(c.disk_bytes, 0);
  EXPECT_EQ(c.slots, 3u);
}

TEST(ProbeHostCapacityTest, ALimitAboveTheHostChangesNothing) {
  FakeHost host;
  host.cgroup_file("cgroup.controllers", "memory\n");
  host.proc_self_cgroup("0::/agent\n");
  host.cgroup_file("agent/memory.max", std::to_string(64 * kGiB) + "\n");
  auto c = probe_host_capacity(host.data_dir(), 1, {}, host.paths);
  EXPECT_EQ(c.memory_bytes, 16 * kGiB);
  EXPECT_GE(c.cpu, 1.0);
  EXPECT_LE(c.cpu, usable_cpu_cores());
}

TEST(ProbeHostCapacityTest, OverridesReplaceWhatWasDetected) {
  FakeHost host;
  CapacityOverrides o;
  o.cpu = 8;
  o.memory_bytes = kGiB;
  o.disk_bytes = 5 * kGiB;
  auto c = probe_host_capacity(host.data_dir(), 4, o, host.paths);
  EXPECT_DOUBLE_EQ(c.cpu, 8);
  EXPECT_EQ(c.memory_bytes, kGiB);
  EXPECT_EQ(c.disk_bytes, 5 * kGiB);
  // Only the dimensions given are replaced.
  CapacityOverrides memory_only;
  memory_only.memory_bytes = 600 * kMiB;
  auto d = probe_host_capacity(host.data_dir(), 4, memory_only, host.paths);
  EXPECT_EQ(d.memory_bytes, 600 * kMiB);
  EXPECT_GT(d.disk_bytes, 0);
  EXPECT_GE(d.cpu, 1.0);
}

TEST(CapacityFlagsTest, ParsesCoresAndSizes) {
  auto o = parse_capacity_overrides("0.5", "1GiB", "512MiB");
  ASSERT_TRUE(o.is_ok()) << o.status().to_string();
  EXPECT_EQ(o->cpu, std::optional<double>(0.5));
  EXPECT_EQ(o->memory_bytes, std::optional<int64_t>(kGiB));
  EXPECT_EQ(o->disk_bytes, std::optional<int64_t>(512 * kMiB));
  auto none = parse_capacity_overrides("", "", "");
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->cpu || none->memory_bytes || none->disk_bytes);
}

TEST(CapacityFlagsTest, RefusesWhatIsNotAPositiveAmountNamingTheFlag) {
  for (const char* cpu : {"0", "-1", "two", "1.5x", "inf"}) {
    auto o = parse_capacity_overrides(cpu, "", "");
    ASSERT_FALSE(o.is_ok()) << cpu;
    EXPECT_NE(o.status().message().find("--cpu"), std::string::npos) << o.status().message();
  }
  auto memory = parse_capacity_overrides("", "12XB", "");
  ASSERT_FALSE(memory.is_ok());
  EXPECT_NE(memory.status().message().find("--memory"), std::string::npos);
  auto disk = parse_capacity_overrides("", "", "0");
  ASSERT_FALSE(disk.is_ok());
  EXPECT_NE(disk.status().message().find("--disk"), std::string::npos);
}

}  // namespace
}  // namespace cube::agent
