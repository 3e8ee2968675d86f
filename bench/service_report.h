// What one cube-bench --services run measured, and how it is printed (a table, or one JSON
// object).
//
// The run (bench/service_run.h): S services of R sim replicas each are created from K client
// threads (SERVICE_CREATE, one service per request); the broker's service loop makes the S x R
// tasks and places them, spread over the agents; the replicas run until stopped. Then every
// service is removed. Nomad's C1M test has the same shape (1,000 jobs x 1,000 tasks).
//   create_s            first SERVICE_CREATE sent -> last acknowledged
//   scale_up_s          first SERVICE_CREATE sent -> last replica started on an agent
//   placements_per_s    replicas started / scale_up_s: the whole scale-up, creates, the service
//                       loop, placement, ASSIGN and the agents' starts included
//   running_at_broker   Running tasks the broker counts (STATUS) once the agents started them all,
//                       less those Running before the run
//   broker_cpu_s        CPU the broker used during the scale-up (as in bench_report.h)
//   broker_cpu_us_per_task, process_cpu_us_per_task (JSON; a replica is a task, and --compare
//                       reads these names) the CPU figures per replica started
//   remove_s            first SERVICE_REMOVE sent -> last replica stopped on an agent
//   stops_per_s         replicas stopped / remove_s
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/bench_report.h"

namespace cube::bench {

struct ServiceBenchResult {
  // Agents, slots, clients, store, scheduler and broker (tasks, batch, rate and duration are not
  // used).
  BenchConfig config;
  size_t services = 0;
  uint32_t replicas = 0;
  double registration_s = 0;
  size_t created = 0;  // services the broker acknowledged
  size_t create_errors = 0;
  std::string first_create_error;
  double create_s = 0;
  size_t started = 0;  // replicas started on agents
  double scale_up_s = 0;
  double placements_per_s = 0;
  std::optional<uint64_t> running_at_broker;
  std::optional<double> broker_cpu_s;
  std::optional<double> process_cpu_s;
  std::optional<int64_t> broker_peak_rss_bytes;
  std::string rss_scope;
  std::optional<double> rss_growth_per_replica_bytes;
  size_t removed = 0;  // services removed
  size_t stopped = 0;  // replicas stopped on agents
  double remove_s = 0;
  double stops_per_s = 0;
  std::string error;  // why the run is incomplete; empty when all went well

  uint64_t replicas_total() const { return static_cast<uint64_t>(services) * replicas; }
  bool complete() const { return error.empty(); }
  // broker_cpu_s and process_cpu_s per replica started, in microseconds.
  std::optional<double> broker_cpu_us_per_replica() const;
  std::optional<double> process_cpu_us_per_replica() const;
};

nlohmann::json to_json(const ServiceBenchResult& result);
std::string to_table(const ServiceBenchResult& result);

}  // namespace cube::bench
