// What one cube-bench run measured, computed from its RunRecorder and resource readings, and
// printed as a table or as one JSON object.
//
// Definitions (all times are the bench clock's steady time; "first send" is the earliest time a
// task was sent, or for the open loop meant to be sent):
//   submits_per_s     acknowledged submits / (last acknowledgement - first send)
//   placements_per_s  tasks started on an agent / (last start - first send). A task is placed
//                     when the broker moves it to Scheduled and sends ASSIGN; the sim agent
//                     starts it the moment the ASSIGN arrives, so the start time is the
//                     placement time plus one message hop.
//   completed_per_s   tasks ended on an agent / (last end - first send)
//   latency_ms        submit -> Running: agent start - send time, per task (p50, p99, p99.9)
//   submit_ms         submit round trip: acknowledgement - send time
//   broker_cpu_s      CPU (user + system) the broker used from just before the first send to
//                     the end of the run: in-process, its loop thread, its ZeroMQ context's
//                     threads and its store writer; with --broker-pid, the whole broker process
//   broker_loop_cpu_s in-process: the loop thread alone, over the same interval
//   process_cpu_s     CPU (user + system) of the whole cube-bench process over the same
//                     interval: broker (when in-process), sim agents and clients
//   broker_cpu_us_per_task, process_cpu_us_per_task
//                     those CPU figures in microseconds divided by the tasks completed (the
//                     broker's count, else the agents'); null when none completed or the CPU
//                     is unknown
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/run_recorder.h"

namespace cube::bench {

struct Percentiles {
  size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};

// Nearest-rank percentiles of `values` (sorted in place). All zero when empty.
Percentiles percentiles(std::vector<double>& values);

// The setup of a run, echoed in the report.
struct BenchConfig {
  size_t agents = 100;
  uint32_t slots = 8;
  size_t tasks = 10000;
  size_t clients = 4;
  size_t batch = 1;  // tasks per request: 1 = SUBMIT, more = SUBMIT_BATCH
  std::string store = "memory";
  std::string scheduler = "binpack";
  int64_t duration_ms = 100;
  double rate = 0;                // 0: closed loop
  std::string broker;             // empty: in-process
  std::optional<int> broker_pid;  // an external broker's pid, for its CPU and memory
  size_t agent_threads = 1;
  int io_threads = 1;
  // Event feed subscribers (docs/events.md) following the broker during the run, each a thread
  // with its own cube::Client long-polling EVENTS: what the feed costs the broker.
  size_t subscribers = 0;
};

struct BenchResult {
  BenchConfig config;
  double registration_s = 0;  // until the broker listed every agent ready
  size_t acked = 0;
  size_t submit_errors = 0;
  size_t started = 0;
  size_t ended = 0;
  // Counted by the broker (STATUS, new since the run began); nullopt when it could not say.
  std::optional<uint64_t> completed_at_broker;
  std::optional<uint64_t> failed_at_broker;
  double elapsed_s = 0;  // first send -> last end (or the end of waiting)
  double submits_per_s = 0;
  double placements_per_s = 0;
  double completed_per_s = 0;
  Percentiles latency_ms;  // submit -> Running
  Percentiles submit_ms;   // submit round trip
  std::optional<double> broker_cpu_s;
  uint64_t subscriber_events = 0;           // events the subscribers received, all together
  std::optional<double> broker_loop_cpu_s;  // in-process: the loop thread alone
  std::optional<double> process_cpu_s;      // the whole cube-bench process
  std::optional<int64_t> broker_peak_rss_bytes;
  // "process" (in-process: broker, agents and clients share it) or "broker" (an external
  // broker's own pid).
  std::string rss_scope;
  // (RSS after the run - RSS before the first submit) / tasks, over the same scope.
  std::optional<double> rss_growth_per_task_bytes;
  std::string error;  // why the run is incomplete; empty when all went well

  bool complete() const;
  // Tasks completed in the run: the broker's count when it gave one, else the agents' (ended).
  uint64_t tasks_completed() const;
  // broker_cpu_s and process_cpu_s per completed task, in microseconds (us_per_task).
  std::optional<double> broker_cpu_us_per_task() const;
  std::optional<double> process_cpu_us_per_task() const;
};

// `cpu_s` seconds spread over `tasks`, in microseconds per task; nullopt when `cpu_s` is unknown
// or `tasks` is 0.
std::optional<double> us_per_task(std::optional<double> cpu_s, uint64_t tasks);

// Fills the counts, rates and percentiles of `result` from `recorder`. Tasks that never got
// that far (a run that timed out) are left out of each figure.
void compute_rates(const RunRecorder& recorder, BenchResult& result);

// The per-task submit->Running latencies in milliseconds, sorted (for --latency-out).
std::vector<double> running_latencies_ms(const RunRecorder& recorder);

// "25,310/s": a rate rounded to a whole number, with thousands separators.
std::string format_per_second(double value);
// "25,310": a count with thousands separators.
std::string format_thousands(uint64_t value);
// "85.3 µs" (two decimals below 10), or "n/a" when unknown.
std::string format_micros(std::optional<double> us);

// `value` with `decimals` decimals ("12.35").
std::string format_fixed(double value, int decimals);

// The value, or null when unknown.
template <typename T>
nlohmann::json optional_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// The setup as the "config" object of every report's JSON.
nlohmann::json config_json(const BenchConfig& config);
nlohmann::json to_json(const BenchResult& result);
// The human-readable report: a one-line setup and a table of metrics.
std::string to_table(const BenchResult& result);

}  // namespace cube::bench
