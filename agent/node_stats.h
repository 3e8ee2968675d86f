// Live usage of the agent's host and of its tasks, for NODE_STATS (docs/protocol.md, Events).
//
// Three layers, so each can be tested alone:
//   - pure parsers of the kernel's texts (/proc/stat, /proc/meminfo, /proc/loadavg);
//   - collect_stats(): the blocking part, run on a worker thread: reads those files, statvfs of
//     the data dir, and asks the driver for each running task's usage (Driver::stats may talk
//     to dockerd). Reading /proc alone would be cheap enough for the poll loop (a few
//     microseconds), but the driver calls are not, so the whole sample is taken off the loop;
//   - NodeUsageTracker: loop-side state. CPU use is a rate: it keeps the previous /proc/stat
//     counters and turns each new sample into busy cores since the previous one.
//
// The figures are host-wide (what `top` shows), not the declared capacity the scheduler places
// against; `cube-client nodes` shows both.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/drivers/driver.h"
#include "common/status.h"
#include "protocol/messages.h"

namespace cube::agent {

// The aggregate "cpu" line of /proc/stat, in clock ticks, and the number of "cpuN" lines.
// busy = user + nice + system + irq + softirq + steal; total = busy + idle + iowait (guest
// time is already counted in user/nice).
struct CpuTimes {
  uint64_t busy = 0;
  uint64_t total = 0;
  uint32_t cores = 0;
  friend bool operator==(const CpuTimes&, const CpuTimes&) = default;
};
// Invalid when there is no "cpu " line or it has fewer than 4 numbers.
Result<CpuTimes> parse_proc_stat(std::string_view text);

// Cores busy on average between two samples: busy delta / total delta * cores. 0 when no
// time passed or the counters went backwards (a different boot, a counter reset).
double busy_cores(const CpuTimes& before, const CpuTimes& after);

// MemTotal and MemTotal - MemAvailable (bytes). Kernels before 3.14 have no MemAvailable:
// MemFree + Buffers + Cached stands in. Invalid without MemTotal.
struct MemoryUsage {
  int64_t used_bytes = 0;
  int64_t total_bytes = 0;
  friend bool operator==(const MemoryUsage&, const MemoryUsage&) = default;
};
Result<MemoryUsage> parse_meminfo_usage(std::string_view text);

// The first three fields of /proc/loadavg. Invalid when they are not numbers.
struct LoadAverage {
  double one = 0;
  double five = 0;
  double fifteen = 0;
  friend bool operator==(const LoadAverage&, const LoadAverage&) = default;
};
Result<LoadAverage> parse_loadavg(std::string_view text);

// Used (total - free) and total bytes of the file system that holds `dir` (statvfs).
// Unavailable, naming the dir and errno's text, when statvfs fails.
struct DiskUsage {
  int64_t used_bytes = 0;
  int64_t total_bytes = 0;
};
Result<DiskUsage> disk_usage(const std::filesystem::path& dir);

// The /proc/stat counters now; nullopt when unreadable. Blocks briefly (one small read).
std::optional<CpuTimes> read_cpu_times(const std::filesystem::path& proc_root = "/proc");

// One sample; each part is absent when its source could not be read.
struct StatsSample {
  std::optional<CpuTimes> cpu;
  std::optional<MemoryUsage> memory;
  std::optional<LoadAverage> load;
  std::optional<DiskUsage> disk;
  // Usage of the running tasks the driver could report on (sampled_ms left 0: the loop stamps
  // the sample when it arrives).
  std::vector<protocol::TaskStats> tasks;
};

// A task attempt to ask the driver about.
struct RunningAttempt {
  std::string task_id;
  uint32_t attempt = 0;
};

// Reads /proc/stat, /proc/meminfo, /proc/loadavg and statvfs(data_dir), then calls
// driver.stats() for each attempt in `running`; tasks whose driver says NotFound or
// Unavailable (the exec driver reports none) are left out. Blocks: call it on a worker thread.
// Never throws: an exception from the driver leaves that task out.
StatsSample collect_stats(Driver& driver, const std::vector<RunningAttempt>& running,
                          const std::filesystem::path& data_dir,
                          const std::filesystem::path& proc_root = "/proc");

// Loop-side: turns samples into protocol::NodeUsage, keeping the previous CPU counters so that
// cpu_used is the rate since the previous sample.
//
// Thread-safety: none; owned by the agent loop. No I/O.
class NodeUsageTracker {
 public:
  // `baseline`: CPU counters read when the agent started, so that even the first sample has
  // a rate; without one the first sample reports 0 busy cores.
  explicit NodeUsageTracker(std::optional<CpuTimes> baseline = std::nullopt);

  // The usage of `sample`, stamped `sampled_ms`, with `running` task attempts. Missing parts
  // of the sample are 0. A sample without CPU counters keeps the previous ones.
  protocol::NodeUsage update(const StatsSample& sample, uint32_t running, int64_t sampled_ms);

 private:
  std::optional<CpuTimes> previous_;
};

}  // namespace cube::agent
