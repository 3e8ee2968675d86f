#include "agent/drivers/docker/container_stats.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace cube::agent {
namespace {

// The unsigned number at `path` inside `doc`; 0 when any step is missing or not a number
// (dockerd omits fields the kernel does not report, e.g. system_cpu_usage on some hosts).
uint64_t number_at(const nlohmann::json& doc, std::initializer_list<std::string_view> path) {
  const nlohmann::json* at = &doc;
  for (std::string_view key : path) {
    if (!at->is_object())
      return 0;
    auto it = at->find(key);
    if (it == at->end())
      return 0;
    at = &*it;
  }
  if (at->is_number_unsigned())
    return at->get<uint64_t>();
  if (at->is_number_integer()) {
    int64_t v = at->get<int64_t>();
    return v > 0 ? static_cast<uint64_t>(v) : 0;
  }
  if (at->is_number_float()) {
    double v = at->get<double>();
    return v > 0 ? static_cast<uint64_t>(v) : 0;
  }
  return 0;
}

double online_cpus(const nlohmann::json& stats) {
  uint64_t online = number_at(stats, {"cpu_stats", "online_cpus"});
  if (online > 0)
    return static_cast<double>(online);
  // API < 1.27 and some cgroup v1 hosts leave online_cpus out; percpu_usage has one entry
  // per CPU there.
  const auto cpu_stats = stats.find("cpu_stats");
  if (cpu_stats != stats.end() && cpu_stats->is_object()) {
    const auto usage = cpu_stats->find("cpu_usage");
    if (usage != cpu_stats->end() && usage->is_object()) {
      const auto percpu = usage->find("percpu_usage");
      if (percpu != usage->end() && percpu->is_array() && !percpu->empty())
        return static_cast<double>(percpu->size());
    }
  }
  return 1;
}

}  // namespace

Result<TaskUsage> task_usage_from_stats(const nlohmann::json& stats) {
  if (!stats.is_object())
    return Status::internal("dockerd's container stats are not a JSON object");
  TaskUsage usage;

  const uint64_t cpu_now = number_at(stats, {"cpu_stats", "cpu_usage", "total_usage"});
  const uint64_t cpu_before = number_at(stats, {"precpu_stats", "cpu_usage", "total_usage"});
  const uint64_t system_now = number_at(stats, {"cpu_stats", "system_cpu_usage"});
  const uint64_t system_before = number_at(stats, {"precpu_stats", "system_cpu_usage"});
  // system_before 0: no previous sample (one-shot stats, a container that just started).
  if (system_before > 0 && cpu_now > cpu_before && system_now > system_before) {
    const double cpu_delta = static_cast<double>(cpu_now - cpu_before);
    const double system_delta = static_cast<double>(system_now - system_before);
    usage.cpu_cores = cpu_delta / system_delta * online_cpus(stats);
  }

  const uint64_t memory = number_at(stats, {"memory_stats", "usage"});
  uint64_t cache = number_at(stats, {"memory_stats", "stats", "cache"});
  if (cache == 0)
    cache = number_at(stats, {"memory_stats", "stats", "inactive_file"});
  const uint64_t used = memory > cache ? memory - cache : 0;
  usage.memory_bytes = static_cast<int64_t>(std::min<uint64_t>(used, INT64_MAX));
  return usage;
}

}  // namespace cube::agent
