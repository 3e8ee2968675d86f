// What one cube-bench --idle run measured, and how it is printed (a table, or one JSON object).
//
// The run: N sim agents, split over fleet processes (bench/fleet_split.h), register with a broker
// in another process and then only heartbeat; no task is submitted. Once the broker lists them
// all ready and a settling time has passed, the broker process is measured over a window:
//   broker_cpu_s           CPU (user + system, every thread) the broker process used in the
//                          window, from /proc/PID/stat (10 ms ticks)
//   broker_cpu_percent     broker_cpu_s / window_s, in percent of one core
//   heartbeats             AGENT_HEARTBEATs the broker received in the window (its STATUS counter
//                          "events.received.AGENT_HEARTBEAT"); nullopt when it has none
//   heartbeat_period_ms    the period the agents actually kept: window / (heartbeats per agent)
//   broker_cpu_us_per_heartbeat
//                          broker_cpu_s in microseconds / heartbeats (or, without the counter,
//                          / the heartbeats expected from the configured period): what one agent
//                          costs the broker per heartbeat, everything else the idle broker does
//                          (beacons, ZMTP pings, its timers) included
//   broker_rss_bytes, broker_peak_rss_bytes   VmRSS at the end of the window, VmHWM
//   broker_fds, broker_fd_limit               entries of /proc/PID/fd, its soft RLIMIT_NOFILE
//   fleet_cpu_s            CPU of the fleet processes over the same window (the agents' side)
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"

namespace cube::bench {

// The setup of an idle run (cube-bench --idle ...).
struct IdleConfig {
  size_t agents = 1000;
  std::string broker;             // HOST:PORT of a running broker; empty: the bench starts one
  std::optional<int> broker_pid;  // that broker's pid (required with --broker)
  std::string broker_bin;         // the cube-broker to start; empty: found next to cube-bench
  Millis heartbeat{1000};         // --heartbeat of the broker the bench starts
  Millis window{10000};           // how long the broker is measured
  size_t agents_per_process = 0;  // at most this many agents per fleet process; 0: the fd limit
  size_t agent_threads = 1;       // host threads per fleet process
  int io_threads = 1;             // ZeroMQ I/O threads per fleet process
};

struct IdleResult {
  IdleConfig config;
  std::string broker_address;
  bool broker_started = false;             // by the bench (cube-broker --store memory)
  std::optional<int> broker_pid;           // the process measured
  std::optional<Millis> heartbeat;         // the broker's period, when the bench set it
  std::vector<size_t> agents_per_process;  // one entry per fleet process
  uint64_t fleet_fd_limit = 0;             // each fleet process's soft RLIMIT_NOFILE
  double registration_s = 0;               // until the broker listed every agent ready
  size_t ready_after = 0;                  // agents listed ready after the window
  double window_s = 0;                     // measured length of the window
  std::optional<double> broker_cpu_s;
  std::optional<uint64_t> heartbeats;
  std::optional<int64_t> broker_rss_bytes;
  std::optional<int64_t> broker_peak_rss_bytes;
  std::optional<uint64_t> broker_fds;
  std::optional<uint64_t> broker_fd_limit;
  std::optional<double> fleet_cpu_s;
  std::string error;  // why the run is incomplete; empty when all went well

  bool complete() const { return error.empty(); }
  std::optional<double> broker_cpu_percent() const;
  std::optional<double> heartbeats_per_s() const;
  std::optional<double> heartbeat_period_ms() const;
  std::optional<double> broker_cpu_us_per_heartbeat() const;
  std::optional<double> fleet_cpu_percent() const;
};

nlohmann::json to_json(const IdleResult& result);
// A one-line setup and a table of the figures.
std::string to_table(const IdleResult& result);

}  // namespace cube::bench
