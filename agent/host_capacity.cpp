#include "agent/host_capacity.h"

#include <sched.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace cube::agent {
namespace {

// v1 writes "no limit" as LONG_MAX rounded down to the page size (9223372036854771712); no
// machine has 4 EiB of memory, so anything from 2^62 up means unlimited.
constexpr int64_t kUnlimitedMemory = int64_t{1} << 62;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

template <typename Int>
std::optional<Int> to_int(std::string_view s) {
  s = trim(s);
  Int value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty())
    return std::nullopt;
  return value;
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in)
    return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad())
    return std::nullopt;
  return ss.str();
}

// The directories of a cgroup path, deepest first, ending at the mount root: "/a/b" under
// `mount` gives mount/a/b, mount/a, mount.
std::vector<std::filesystem::path> walk_up(const std::filesystem::path& mount,
                                           std::string_view cgroup_path) {
  std::vector<std::filesystem::path> dirs;
  std::filesystem::path rel = std::filesystem::path(std::string(cgroup_path)).relative_path();
  while (!rel.empty()) {
    dirs.push_back(mount / rel);
    rel = rel.parent_path();
  }
  dirs.push_back(mount);
  return dirs;
}

template <typename T>
void keep_min(std::optional<T>& current, std::optional<T> found) {
  if (found && (!current || *found < *current))
    current = found;
}

CgroupLimits read_v2_limits(const HostPaths& paths, std::string_view cgroup_path) {
  CgroupLimits limits;
  for (const auto& dir : walk_up(paths.cgroup, cgroup_path)) {
    if (auto text = read_file(dir / "cpu.max")) {
      auto cpu = parse_cgroup2_cpu_max(*text);
      if (cpu.is_ok())
        keep_min(limits.cpu, *cpu);
    }
    if (auto text = read_file(dir / "memory.max")) {
      auto memory = parse_cgroup_memory_limit(*text);
      if (memory.is_ok())
        keep_min(limits.memory_bytes, *memory);
    }
  }
  return limits;
}

// The v1 mount of a controller: "cpu" is often mounted as "cpu,cpuacct" with a "cpu" symlink.
std::filesystem::path v1_mount(const HostPaths& paths, const std::string& controller) {
  std::filesystem::path plain = paths.cgroup / controller;
  std::error_code ec;
  if (controller == "cpu" && !std::filesystem::exists(plain, ec))
    return paths.cgroup / "cpu,cpuacct";
  return plain;
}

CgroupLimits read_v1_limits(const HostPaths& paths, const CgroupMembership& membership) {
  CgroupLimits limits;
  auto path_of = [&](const std::string& controller) {
    auto it = membership.v1.find(controller);
    return it == membership.v1.end() ? std::string("/") : it->second;
  };
  for (const auto& dir : walk_up(v1_mount(paths, "cpu"), path_of("cpu"))) {
    auto quota = read_file(dir / "cpu.cfs_quota_us");
    auto period = read_file(dir / "cpu.cfs_period_us");
    if (quota && period) {
      auto cpu = parse_cgroup1_cpu_quota(*quota, *period);
      if (cpu.is_ok())
        keep_min(limits.cpu, *cpu);
    }
  }
  for (const auto& dir : walk_up(v1_mount(paths, "memory"), path_of("memory"))) {
    if (auto text = read_file(dir / "memory.limit_in_bytes")) {
      auto memory = parse_cgroup_memory_limit(*text);
      if (memory.is_ok())
        keep_min(limits.memory_bytes, *memory);
    }
  }
  return limits;
}

}  // namespace

Result<int64_t> parse_meminfo_total(std::string_view meminfo) {
  constexpr std::string_view kKey = "MemTotal:";
  size_t pos = 0;
  while (pos < meminfo.size()) {
    size_t end = meminfo.find('\n', pos);
    if (end == std::string_view::npos)
      end = meminfo.size();
    std::string_view line = meminfo.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with(kKey))
      continue;
    line.remove_prefix(kKey.size());
    while (!line.empty() && line.front() == ' ')
      line.remove_prefix(1);
    int64_t kib = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), kib);
    std::string_view unit(ptr, static_cast<size_t>(line.data() + line.size() - ptr));
    if (ec != std::errc() || kib < 0 || unit != " kB")
      return Status::invalid("MemTotal line is not \"MemTotal: N kB\"");
    return kib * 1024;
  }
  return Status::invalid("no MemTotal line in /proc/meminfo");
}

Result<std::optional<double>> parse_cgroup2_cpu_max(std::string_view text) {
  text = trim(text);
  size_t space = text.find(' ');
  if (space == std::string_view::npos)
    return Status::invalid("cpu.max is not \"QUOTA PERIOD\": \"" + std::string(text) + "\"");
  std::string_view quota = text.substr(0, space);
  auto period = to_int<int64_t>(text.substr(space + 1));
  if (!period || *period <= 0)
    return Status::invalid("cpu.max has no positive period: \"" + std::string(text) + "\"");
  if (quota == "max")
    return std::optional<double>();
  auto q = to_int<int64_t>(quota);
  if (!q || *q <= 0)
    return Status::invalid("cpu.max has no positive quota: \"" + std::string(text) + "\"");
  return std::optional<double>(static_cast<double>(*q) / static_cast<double>(*period));
}

Result<std::optional<double>> parse_cgroup1_cpu_quota(std::string_view quota,
                                                      std::string_view period) {
  auto q = to_int<int64_t>(quota);
  auto p = to_int<int64_t>(period);
  if (!q || !p || *p <= 0) {
    return Status::invalid("cpu.cfs_quota_us/cpu.cfs_period_us are not numbers: \"" +
                           std::string(trim(quota)) + "\", \"" + std::string(trim(period)) + "\"");
  }
  if (*q <= 0)
    return std::optional<double>();  // -1: no quota
  return std::optional<double>(static_cast<double>(*q) / static_cast<double>(*p));
}

Result<std::optional<int64_t>> parse_cgroup_memory_limit(std::string_view text) {
  text = trim(text);
  if (text == "max")
    return std::optional<int64_t>();
  auto bytes = to_int<int64_t>(text);
  if (!bytes || *bytes < 0)
    return Status::invalid("memory limit is not a number of bytes: \"" + std::string(text) + "\"");
  if (*bytes >= kUnlimitedMemory)
    return std::optional<int64_t>();
  return std::optional<int64_t>(*bytes);
}

CgroupMembership parse_proc_self_cgroup(std::string_view text) {
  CgroupMembership out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    // "hierarchy-ID:controller-list:cgroup-path"; the path may itself contain ':'.
    size_t first = line.find(':');
    if (first == std::string_view::npos)
      continue;
    size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos)
      continue;
    std::string_view id = line.substr(0, first);
    std::string_view controllers = line.substr(first + 1, second - first - 1);
    std::string path(line.substr(second + 1));
    if (id == "0" && controllers.empty()) {
      out.unified = path;
      continue;
    }
    while (!controllers.empty()) {
      size_t comma = controllers.find(',');
      std::string_view c = controllers.substr(0, comma);
      if (!c.empty())
        out.v1[std::string(c)] = path;
      if (comma == std::string_view::npos)
        break;
      controllers.remove_prefix(comma + 1);
    }
  }
  return out;
}

CgroupLimits read_cgroup_limits(const HostPaths& paths) {
  auto text = read_file(paths.proc / "self" / "cgroup");
  CgroupMembership membership = parse_proc_self_cgroup(text.value_or(""));
  std::error_code ec;
  // A pure v2 host mounts the unified hierarchy at the cgroup root; a hybrid host has v1
  // controllers there (and v2 without controllers under "unified").
  if (std::filesystem::exists(paths.cgroup / "cgroup.controllers", ec))
    return read_v2_limits(paths, membership.unified.value_or("/"));
  return read_v1_limits(paths, membership);
}

double usable_cpu_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    int count = CPU_COUNT(&set);
    if (count > 0)
      return count;
  }
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1.0 : static_cast<double>(cores);
}

protocol::Capacity probe_host_capacity(const std::filesystem::path& data_dir, uint32_t slots,
                                       const CapacityOverrides& overrides, const HostPaths& paths) {
  protocol::Capacity c;
  CgroupLimits limits = read_cgroup_limits(paths);
  c.cpu = usable_cpu_cores();
  if (limits.cpu)
    c.cpu = std::min(c.cpu, *limits.cpu);
  if (auto meminfo = read_file(paths.proc / "meminfo")) {
    auto total = parse_meminfo_total(*meminfo);
    if (total.is_ok())
      c.memory_bytes = *total;
  }
  if (limits.memory_bytes)
    c.memory_bytes =
        c.memory_bytes == 0 ? *limits.memory_bytes : std::min(c.memory_bytes, *limits.memory_bytes);
  struct statvfs fs {};
  if (::statvfs(data_dir.c_str(), &fs) == 0)
    c.disk_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  c.slots = slots;
  if (overrides.cpu)
    c.cpu = *overrides.cpu;
  if (overrides.memory_bytes)
    c.memory_bytes = *overrides.memory_bytes;
  if (overrides.disk_bytes)
    c.disk_bytes = *overrides.disk_bytes;
  return c;
}

}  // namespace cube::agent
