#include "gateway/worker_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/check.h"
#include "protocol/task_json.h"

namespace cube::gateway {
namespace {

constexpr int64_t kKiB = 1024;
constexpr double kCpuScale = 1000;  // CpuStats counts thousandths of a core

uint64_t non_negative(double value) {
  return value > 0 ? static_cast<uint64_t>(std::llround(value)) : 0;
}

uint64_t non_negative(int64_t value) {
  return value > 0 ? static_cast<uint64_t>(value) : 0;
}

}  // namespace

nlohmann::json worker_stats_json(const protocol::NodeInfo& node) {
  CUBE_CHECK(node.usage.has_value()) << "worker stats need a sample";
  const protocol::NodeUsage& u = *node.usage;
  const uint64_t mem_total_kb = non_negative(u.memory_total_bytes / kKiB);
  const uint64_t mem_available_kb =
      non_negative((u.memory_total_bytes - u.memory_used_bytes) / kKiB);
  const uint64_t disk_all = non_negative(u.disk_total_bytes);
  const uint64_t disk_used = non_negative(u.disk_used_bytes);
  const double busy = std::min(u.cpu_used, u.cpu_total);
  return {
      {"MemStats",
       {{"mem_total", mem_total_kb},
        {"mem_free", mem_available_kb},
        {"mem_available", mem_available_kb}}},
      {"DiskStats",
       {{"all", disk_all},
        {"used", disk_used},
        {"free", disk_all > disk_used ? disk_all - disk_used : 0},
        {"freeInodes", 0}}},
      {"CpuStats",
       {{"id", "cpu"},
        {"user", non_negative(busy * kCpuScale)},
        {"nice", 0},
        {"system", 0},
        {"idle", non_negative((u.cpu_total - busy) * kCpuScale)},
        {"iowait", 0},
        {"irq", 0},
        {"softirq", 0},
        {"steal", 0},
        {"guest", 0},
        {"guest_nice", 0}}},
      {"LoadStats",
       {{"last1min", u.load_1},
        {"last5min", u.load_5},
        {"last15min", u.load_15},
        {"process_running", 0},
        {"process_total", 0},
        {"last_pid", 0}}},
      {"TaskCount", u.running},
      {"SampledAt", format_rfc3339(u.sampled_ms)},
      {"Node", node.name},
      {"NodeID", node.id},
  };
}

}  // namespace cube::gateway
