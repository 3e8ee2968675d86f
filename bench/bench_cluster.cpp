#include "bench/bench_cluster.h"

#include <unistd.h>

#include <cstdio>
#include <set>
#include <utility>

#include "bench/process_stats.h"
#include "broker/options.h"
#include "broker/scheduler.h"
#include "common/fd_limit.h"
#include "common/ids.h"
#include "protocol/zmq_io.h"

namespace cube::bench {
namespace {

// Registration: NODES is asked this often while agents connect.
constexpr Millis kNodesInterval{200};

// A short random tag so that agent names of two runs against one broker never collide.
std::string run_tag() {
  return new_random_id().substr(0, 6);
}

}  // namespace

Result<std::unique_ptr<BenchCluster>> BenchCluster::start(const BenchConfig& config,
                                                          agent::SimObserver* observer,
                                                          const Clock& clock) {
  auto limit = raise_fd_limit();
  if (!limit.is_ok())
    return limit.status();
  uint64_t needed = fds_needed(config.agents, config.broker.empty());
  if (limit->now < needed) {
    return Status::unavailable(std::to_string(config.agents) + " agents need about " +
                               std::to_string(needed) + " file descriptors but the limit is " +
                               std::to_string(limit->now) +
                               " (raise the hard limit, ulimit -Hn, or use fewer agents)");
  }
  std::unique_ptr<BenchCluster> cluster(new BenchCluster(config, clock));

  // The broker first, before any other thread exists, so that its threads can be told apart.
  std::string address = config.broker;
  if (address.empty()) {
    broker::BrokerOptions broker_options;
    auto policy = broker::policy_from_name(config.scheduler);
    if (!policy)
      return Status::invalid("unknown scheduler " + config.scheduler);
    broker_options.policy = *policy;
    cluster->broker_ = std::make_unique<InProcessBroker>();
    CUBE_RETURN_IF_ERROR(cluster->broker_->start(broker_options, config.store, clock));
    address = cluster->broker_->address();
  }
  std::string host;
  int port = 0;
  CUBE_RETURN_IF_ERROR(protocol::parse_host_port(address, host, port));
  auto endpoint = broker_endpoint(address);
  if (!endpoint.is_ok())
    return endpoint.status();
  cluster->endpoint_ = *endpoint;

  SimFleetOptions fleet_options;
  fleet_options.broker_host = host;
  fleet_options.broker_port = port;
  fleet_options.agents = config.agents;
  fleet_options.slots = config.slots;
  fleet_options.name_prefix = "sim" + run_tag();
  fleet_options.threads = config.agent_threads;
  fleet_options.io_threads = config.io_threads;
  auto fleet = SimFleet::create(fleet_options, clock, observer);
  if (!fleet.is_ok())
    return fleet.status();
  cluster->fleet_ = std::move(*fleet);
  CUBE_RETURN_IF_ERROR(cluster->fleet_->start());

  ClientOptions watcher_options;
  watcher_options.endpoint = cluster->endpoint_;
  cluster->watcher_ = std::make_unique<Client>(watcher_options, clock);
  return cluster;
}

BenchCluster::~BenchCluster() {
  watcher_.reset();
  if (fleet_)
    fleet_->stop();
  fleet_.reset();
  broker_.reset();
}

std::string BenchCluster::fleet_error() const {
  auto errors = fleet_->errors();
  return errors.empty() ? "" : "the sim fleet stopped: " + errors.front();
}

std::string BenchCluster::wait_until_ready(SteadyTime deadline) {
  const std::set<std::string> names(fleet_->names().begin(), fleet_->names().end());
  size_t ready = 0;
  while (clock_.now() < deadline) {
    if (std::string error = fleet_error(); !error.empty())
      return error;
    ready = 0;
    if (auto nodes = watcher_->nodes(); nodes.is_ok()) {
      for (const auto& n : *nodes)
        ready += n.state == "ready" && names.contains(n.name);
    }
    if (ready >= config_.agents)
      return "";
    clock_.sleep_for(kNodesInterval);
  }
  return "only " + std::to_string(ready) + " of " + std::to_string(config_.agents) +
         " agents registered before the timeout";
}

std::optional<double> BenchCluster::broker_cpu_seconds() const {
  if (broker_)
    return broker_->cpu_seconds();
  if (config_.broker_pid) {
    if (auto cpu = process_cpu_seconds(*config_.broker_pid); cpu.is_ok())
      return *cpu;
  }
  return std::nullopt;
}

double BenchCluster::broker_loop_cpu_seconds() const {
  return broker_ ? broker_->loop_cpu_seconds() : 0;
}

pid_t BenchCluster::rss_pid() const {
  return broker_ ? ::getpid() : config_.broker_pid.value_or(0);
}

std::optional<TaskCounts> broker_tasks_by_state(Client& client) {
  auto status = client.status();
  if (!status.is_ok())
    return std::nullopt;
  return std::move(status->tasks_by_state);
}

uint64_t count_of(const TaskCounts& counts, const std::string& state) {
  auto it = counts.find(state);
  return it == counts.end() ? 0 : it->second;
}

std::optional<double> process_cpu_seconds_now() {
  if (auto cpu = this_process_cpu_seconds(); cpu.is_ok())
    return *cpu;
  return std::nullopt;
}

std::string seconds_between(SteadyTime from, SteadyTime to) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%6.1f s", std::chrono::duration<double>(to - from).count());
  return buf;
}

}  // namespace cube::bench
