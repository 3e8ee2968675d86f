// What this host offers, for HELLO.capacity: CPU cores, memory and the disk space of the data
// dir, plus the configured slots. Read from the kernel (affinity mask, /proc/meminfo, cgroup
// limits, statvfs), never guessed; the agent's --cpu/--memory/--disk flags replace what was
// detected (CapacityOverrides).
//
// Cgroups: a process in a container or a systemd slice may use less than the host has. The
// limits of the agent's own cgroup *and of every ancestor* apply, so detection walks the path
// from /proc/self/cgroup up to the root and keeps the smallest limit found:
//   v2 (cgroup.controllers at the root of the cgroup mount): cpu.max "QUOTA PERIOD" ("max" =
//      none), memory.max (bytes, "max" = none);
//   v1: cpu/cpu.cfs_quota_us (-1 = none) over cpu.cfs_period_us, memory/memory.limit_in_bytes
//      (page-rounded LONG_MAX = none).
// A cgroup file that is missing or unreadable means "no limit there". Inside a container with
// a private cgroup namespace the path is "/" and the mount is the container's own cgroup; with
// a shared namespace the host path does not exist under the mount, and the walk still reaches
// the mount root, which is the container's cgroup.
//
// Thread-safety: reentrant; blocks briefly on reading /proc, /sys and statvfs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/messages.h"

namespace cube::agent {

// Where the kernel's views are mounted; unit tests point them at a fake tree in a temp dir.
struct HostPaths {
  std::filesystem::path proc = "/proc";
  std::filesystem::path cgroup = "/sys/fs/cgroup";
};

// MemTotal of a /proc/meminfo text, in bytes. Invalid when the line is missing or malformed.
Result<int64_t> parse_meminfo_total(std::string_view meminfo);

// cgroup v2 cpu.max ("150000 100000" -> 1.5 cores; "max 100000" -> nullopt, no limit).
// Invalid for anything else (a quota or period that is not a positive number).
Result<std::optional<double>> parse_cgroup2_cpu_max(std::string_view text);

// cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us (quota -1 -> nullopt, no limit). Invalid
// when either is not a number or the period is not positive.
Result<std::optional<double>> parse_cgroup1_cpu_quota(std::string_view quota,
                                                      std::string_view period);

// cgroup v2 memory.max or v1 memory.limit_in_bytes, in bytes. "max", and v1's "unlimited"
// (LONG_MAX rounded down to a page, anything from 2^62 up) -> nullopt. Invalid when not a
// number.
Result<std::optional<int64_t>> parse_cgroup_memory_limit(std::string_view text);

// The cgroups of a /proc/self/cgroup text: the v2 path (line "0::/a/b") and, per v1
// controller, its path ("4:memory:/x", "2:cpu,cpuacct:/y" gives both cpu and cpuacct).
struct CgroupMembership {
  std::optional<std::string> unified;
  std::map<std::string, std::string> v1;  // controller -> path
};
CgroupMembership parse_proc_self_cgroup(std::string_view text);

// The CPU (cores) and memory (bytes) limits that apply to this process (see the file comment);
// nullopt in a dimension without a limit.
struct CgroupLimits {
  std::optional<double> cpu;
  std::optional<int64_t> memory_bytes;
  friend bool operator==(const CgroupLimits&, const CgroupLimits&) = default;
};
CgroupLimits read_cgroup_limits(const HostPaths& paths = {});

// Cores this process may run on: the scheduler affinity mask (taskset, cpusets), else
// std::thread::hardware_concurrency(), else 1.
double usable_cpu_cores();

// What the agent's flags declare; a set value replaces the detected one.
struct CapacityOverrides {
  std::optional<double> cpu;  // cores
  std::optional<int64_t> memory_bytes;
  std::optional<int64_t> disk_bytes;
};

// cpu = min(usable_cpu_cores(), cgroup CPU limit); memory_bytes = min(MemTotal, cgroup memory
// limit) (0 when /proc/meminfo is unreadable); disk_bytes = the space statvfs(data_dir) says is
// available to this user (0 when unreadable: the broker then treats disk as undeclared here);
// slots as given. Then each value set in `overrides` replaces the detected one.
protocol::Capacity probe_host_capacity(const std::filesystem::path& data_dir, uint32_t slots,
                                       const CapacityOverrides& overrides = {},
                                       const HostPaths& paths = {});

}  // namespace cube::agent
