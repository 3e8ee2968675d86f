#include "agent/node_stats.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>

namespace cube::agent {
namespace {

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

// Calls fn(line) for each line of `text`.
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    fn(text.substr(pos, end - pos));
    pos = end + 1;
  }
}

// Splits on spaces and tabs, skipping empty fields.
std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t'))
      ++pos;
    size_t end = pos;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t')
      ++end;
    if (end > pos)
      out.push_back(line.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

template <typename T>
std::optional<T> number(std::string_view s) {
  T value{};
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size())
    return std::nullopt;
  return value;
}

}  // namespace

Result<CpuTimes> parse_proc_stat(std::string_view text) {
  CpuTimes out;
  bool found = false;
  Status error;
  for_each_line(text, [&](std::string_view line) {
    if (line.starts_with("cpu ")) {
      auto f = fields_of(line);
      // cpu user nice system idle iowait irq softirq steal guest guest_nice
      if (f.size() < 5) {
        error = Status::invalid("/proc/stat: the cpu line has fewer than 4 counters");
        return;
      }
      uint64_t values[8] = {};
      for (size_t i = 1; i < f.size() && i <= 8; ++i) {
        auto v = number<uint64_t>(f[i]);
        if (!v) {
          error = Status::invalid("/proc/stat: \"" + std::string(f[i]) + "\" is not a counter");
          return;
        }
        values[i - 1] = *v;
      }
      uint64_t idle = values[3] + values[4];  // idle + iowait
      out.busy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7];
      out.total = out.busy + idle;
      found = true;
    } else if (line.starts_with("cpu") && line.size() > 3 && line[3] >= '0' && line[3] <= '9') {
      ++out.cores;
    }
  });
  if (!error.is_ok())
    return error;
  if (!found)
    return Status::invalid("/proc/stat has no aggregate cpu line");
  return out;
}

double busy_cores(const CpuTimes& before, const CpuTimes& after) {
  if (after.total <= before.total || after.busy < before.busy)
    return 0;
  double busy = static_cast<double>(after.busy - before.busy);
  double total = static_cast<double>(after.total - before.total);
  double fraction = busy > total ? 1.0 : busy / total;
  return fraction * static_cast<double>(after.cores);
}

Result<MemoryUsage> parse_meminfo_usage(std::string_view text) {
  std::optional<int64_t> total, available, free, buffers, cached;
  for_each_line(text, [&](std::string_view line) {
    auto f = fields_of(line);
    if (f.size() < 2)
      return;
    auto kib = number<int64_t>(f[1]);
    if (!kib || *kib < 0)
      return;
    int64_t bytes = *kib * 1024;
    if (f[0] == "MemTotal:")
      total = bytes;
    else if (f[0] == "MemAvailable:")
      available = bytes;
    else if (f[0] == "MemFree:")
      free = bytes;
    else if (f[0] == "Buffers:")
      buffers = bytes;
    else if (f[0] == "Cached:")
      cached = bytes;
  });
  if (!total)
    return Status::invalid("/proc/meminfo has no MemTotal line");
  int64_t avail =
      available ? *available : free.value_or(0) + buffers.value_or(0) + cached.value_or(0);
  MemoryUsage out;
  out.total_bytes = *total;
  out.used_bytes = std::max<int64_t>(0, *total - std::min(avail, *total));
  return out;
}

Result<LoadAverage> parse_loadavg(std::string_view text) {
  auto f = fields_of(text.substr(0, text.find('\n')));
  if (f.size() < 3)
    return Status::invalid("/proc/loadavg has fewer than 3 fields");
  auto one = number<double>(f[0]);
  auto five = number<double>(f[1]);
  auto fifteen = number<double>(f[2]);
  if (!one || !five || !fifteen)
    return Status::invalid("/proc/loadavg: the load averages are not numbers");
  return LoadAverage{*one, *five, *fifteen};
}

Result<DiskUsage> disk_usage(const std::filesystem::path& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) {
    int err = errno;
    return Status::unavailable("cannot statvfs " + dir.string() + ": " + std::strerror(err));
  }
  auto frsize = static_cast<int64_t>(fs.f_frsize);
  DiskUsage out;
  out.total_bytes = static_cast<int64_t>(fs.f_blocks) * frsize;
  out.used_bytes = out.total_bytes - static_cast<int64_t>(fs.f_bfree) * frsize;
  return out;
}

std::optional<CpuTimes> read_cpu_times(const std::filesystem::path& proc_root) {
  auto text = read_file(proc_root / "stat");
  if (!text)
    return std::nullopt;
  auto parsed = parse_proc_stat(*text);
  if (!parsed.is_ok())
    return std::nullopt;
  return *parsed;
}

StatsSample collect_stats(Driver& driver, const std::vector<RunningAttempt>& running,
                          const std::filesystem::path& data_dir,
                          const std::filesystem::path& proc_root) {
  StatsSample out;
  out.cpu = read_cpu_times(proc_root);
  if (auto text = read_file(proc_root / "meminfo")) {
    auto memory = parse_meminfo_usage(*text);
    if (memory.is_ok())
      out.memory = *memory;
  }
  if (auto text = read_file(proc_root / "loadavg")) {
    auto load = parse_loadavg(*text);
    if (load.is_ok())
      out.load = *load;
  }
  auto disk = disk_usage(data_dir);
  if (disk.is_ok())
    out.disk = *disk;
  for (const auto& attempt : running) {
    try {
      auto usage = driver.stats(attempt.task_id);
      if (!usage.is_ok())
        continue;
      protocol::TaskStats t;
      t.task_id = attempt.task_id;
      t.attempt = attempt.attempt;
      t.cpu_used = usage->cpu_cores;
      t.memory_bytes = usage->memory_bytes;
      out.tasks.push_back(std::move(t));
    } catch (const std::exception&) {
      // A driver bug must not take the sampler down; the task is simply not reported.
      continue;
    }
  }
  return out;
}

NodeUsageTracker::NodeUsageTracker(std::optional<CpuTimes> baseline)
    : previous_(std::move(baseline)) {}

protocol::NodeUsage NodeUsageTracker::update(const StatsSample& sample, uint32_t running,
                                             int64_t sampled_ms) {
  protocol::NodeUsage u;
  u.sampled_ms = sampled_ms;
  u.running = running;
  if (sample.cpu) {
    u.cpu_total = static_cast<double>(sample.cpu->cores);
    if (previous_)
      u.cpu_used = busy_cores(*previous_, *sample.cpu);
    previous_ = sample.cpu;
  }
  if (sample.memory) {
    u.memory_used_bytes = sample.memory->used_bytes;
    u.memory_total_bytes = sample.memory->total_bytes;
  }
  if (sample.disk) {
    u.disk_used_bytes = sample.disk->used_bytes;
    u.disk_total_bytes = sample.disk->total_bytes;
  }
  if (sample.load) {
    u.load_1 = sample.load->one;
    u.load_5 = sample.load->five;
    u.load_15 = sample.load->fifteen;
  }
  return u;
}

}  // namespace cube::agent
