// Reading dockerd's container stats document (GET /containers/{id}/stats?stream=false) as the
// per-task usage the agent publishes (Driver::stats). A pure function, unit-tested with canned
// JSON from cgroup v1 and v2 hosts.
#pragma once

#include <nlohmann/json.hpp>

#include "agent/drivers/driver.h"
#include "common/status.h"

namespace cube::agent {

// CPU, in cores busy over dockerd's sampling interval (about a second with stream=false), as
// `docker stats` computes its percentage, divided by 100:
//   (cpu_stats.cpu_usage.total_usage - precpu_stats.cpu_usage.total_usage)
//   / (cpu_stats.system_cpu_usage - precpu_stats.system_cpu_usage)
//   * online CPUs (cpu_stats.online_cpus, else the length of cpu_usage.percpu_usage, else 1).
// 0 without a previous sample (precpu_stats.system_cpu_usage missing or 0) or when either delta
// is not positive (a container that stopped).
//
// Memory, in bytes: memory_stats.usage minus the page cache, which the kernel reclaims before
// it OOM-kills: memory_stats.stats.cache on cgroup v1, memory_stats.stats.inactive_file on
// cgroup v2 (which has no "cache"), never below 0. 0 when dockerd reports no usage (a
// container that is not running).
//
// Internal when the document is not a JSON object; missing or mistyped fields count as 0.
Result<TaskUsage> task_usage_from_stats(const nlohmann::json& stats);

}  // namespace cube::agent
