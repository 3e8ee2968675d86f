// BenchCluster: what every task-running cube-bench mode stands on: a broker (a BrokerLoop in this
// process, or the one --broker names), N sim agents in this process that report every task's
// start and end to an observer, and a watcher client for NODES and STATUS. bench_run.h (tasks)
// and service_run.h (services) measure on top of it.
//
// Thread-safety: create, use and destroy from one thread; the broker and the agents run on
// their own threads.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "agent/drivers/sim/sim_driver.h"
#include "bench/bench_report.h"
#include "bench/in_process_broker.h"
#include "bench/sim_fleet.h"
#include "client/client.h"
#include "common/clock.h"
#include "common/status.h"

namespace cube::bench {

class BenchCluster {
 public:
  // Starts the broker (unless config.broker names one) before any other thread, then the fleet
  // of config.agents sim agents with config.slots slots each, whose tasks report to `observer`
  // (which must outlive the cluster). Errors: Unavailable when the process cannot have the file
  // descriptors it needs, the broker cannot be started or reached, or the fleet cannot start;
  // Invalid for a bad store spec or scheduler.
  static Result<std::unique_ptr<BenchCluster>> start(const BenchConfig& config,
                                                     agent::SimObserver* observer,
                                                     const Clock& clock);
  // Stops the agents first (they would otherwise notice the broker going away), then the broker.
  ~BenchCluster();
  BenchCluster(const BenchCluster&) = delete;
  BenchCluster& operator=(const BenchCluster&) = delete;

  // Waits until the broker lists every agent of the fleet ready, asking NODES every 200 ms.
  // Returns an empty string then, else why not ("only 812 of 1000 agents registered before the
  // timeout", or the fleet's first error).
  std::string wait_until_ready(SteadyTime deadline);

  // The broker's client endpoint ("tcp://127.0.0.1:PORT").
  const std::string& endpoint() const { return endpoint_; }
  // A client of the broker for the run's own questions (NODES, STATUS).
  Client& watcher() { return *watcher_; }
  // The fleet's first error; empty while all is well.
  std::string fleet_error() const;

  // CPU seconds the broker used so far: in-process, its threads (in_process_broker.h); else the
  // --broker-pid process. nullopt when unknown.
  std::optional<double> broker_cpu_seconds() const;
  // In-process only: the loop thread alone; 0 otherwise.
  double broker_loop_cpu_seconds() const;
  // The process whose memory is the broker's (this one when in-process; 0 when unknown) and
  // what it covers: "process" or "broker" (BenchResult::rss_scope).
  pid_t rss_pid() const;
  std::string rss_scope() const { return broker_ ? "process" : "broker"; }

 private:
  BenchCluster(const BenchConfig& config, const Clock& clock) : config_(config), clock_(clock) {}

  BenchConfig config_;
  const Clock& clock_;
  std::unique_ptr<InProcessBroker> broker_;  // null with --broker
  std::string endpoint_;
  std::unique_ptr<SimFleet> fleet_;
  std::unique_ptr<Client> watcher_;
};

// The broker's count of tasks by state from STATUS ("Running" -> 25,352; states with none are
// absent); nullopt when STATUS fails.
using TaskCounts = std::map<std::string, uint64_t>;
std::optional<TaskCounts> broker_tasks_by_state(Client& client);
// counts[state], 0 when absent.
uint64_t count_of(const TaskCounts& counts, const std::string& state);

// CPU seconds of this whole process so far; nullopt when /proc cannot say.
std::optional<double> process_cpu_seconds_now();

// "  12.3 s": the time from `from` to `to`, for progress lines.
std::string seconds_between(SteadyTime from, SteadyTime to);

}  // namespace cube::bench
