#include "bench/bench_run.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "bench/in_process_broker.h"
#include "bench/load_generator.h"
#include "bench/process_stats.h"
#include "bench/run_recorder.h"
#include "bench/sim_fleet.h"
#include "broker/options.h"
#include "broker/scheduler.h"
#include "client/client.h"
#include "common/fd_limit.h"
#include "common/ids.h"
#include "protocol/zmq_io.h"

namespace cube::bench {
namespace {

// How often the waiting thread looks at progress, and how many looks make a progress line.
constexpr Millis kTick{50};
constexpr int kTicksPerLine = 20;
// How long a --subscribers thread's EVENTS request waits at the broker: the longest it takes
// to notice the run is over.
constexpr Millis kSubscriberWait{1000};
// Registration: NODES is asked this often while agents connect.
constexpr Millis kNodesInterval{200};
// After the agents ended every task, how long the broker may take to have applied it all.
constexpr Millis kBrokerSettle{15000};

// What the broker's STATUS says about task states, for the completion check.
struct Counts {
  uint64_t completed = 0;
  uint64_t failed = 0;
};

std::optional<Counts> broker_counts(Client& client) {
  auto status = client.status();
  if (!status.is_ok())
    return std::nullopt;
  Counts c;
  auto get = [&](const char* name) -> uint64_t {
    auto it = status->tasks_by_state.find(name);
    return it == status->tasks_by_state.end() ? 0 : it->second;
  };
  c.completed = get("Completed");
  c.failed = get("Failed");
  return c;
}

// Nodes whose name is one of the fleet's and that the broker sees as ready.
size_t ready_agents(Client& client, const std::set<std::string>& names) {
  auto nodes = client.nodes();
  if (!nodes.is_ok())
    return 0;
  size_t ready = 0;
  for (const auto& n : *nodes)
    ready += n.state == "ready" && names.contains(n.name);
  return ready;
}

std::string seconds(SteadyTime from, SteadyTime to) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%6.1f s", std::chrono::duration<double>(to - from).count());
  return buf;
}

// A short random tag so that agent names of two runs against one broker never collide.
std::string run_tag() {
  return new_random_id().substr(0, 6);
}

}  // namespace

Status write_latency_distribution(const std::string& path, const std::vector<double>& latencies) {
  std::ofstream out(path, std::ios::trunc);
  if (!out)
    return Status::unavailable("cannot write " + path);
  out << "# quantile latency_ms (submit -> Running), " << latencies.size() << " tasks\n";
  if (!latencies.empty()) {
    for (int k = 0; k <= 400; ++k) {
      double q = 1.0 - std::pow(10.0, -k / 100.0);
      auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(latencies.size())));
      rank = std::clamp<size_t>(rank, 1, latencies.size());
      out << q << " " << latencies[rank - 1] << "\n";
    }
    out << 1.0 << " " << latencies.back() << "\n";
  }
  out.flush();
  if (!out)
    return Status::unavailable("cannot write " + path);
  return Status::ok();
}

Result<BenchResult> run_bench(const BenchRunOptions& options, const Clock& clock) {
  const BenchConfig& config = options.config;
  BenchResult result;
  result.config = config;
  const SteadyTime began = clock.now();
  const SteadyTime deadline = began + options.timeout;
  auto say = [&](const std::string& line) {
    if (options.progress)
      options.progress(line);
  };

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

  // The broker first, before any other thread exists, so that its threads can be told apart.
  std::unique_ptr<InProcessBroker> broker;
  std::string address = config.broker;
  if (address.empty()) {
    broker::BrokerOptions broker_options;
    auto policy = broker::policy_from_name(config.scheduler);
    if (!policy)
      return Status::invalid("unknown scheduler " + config.scheduler);
    broker_options.policy = *policy;
    broker = std::make_unique<InProcessBroker>();
    CUBE_RETURN_IF_ERROR(broker->start(broker_options, config.store, clock));
    address = broker->address();
  }
  std::string host;
  int port = 0;
  CUBE_RETURN_IF_ERROR(protocol::parse_host_port(address, host, port));
  auto endpoint = broker_endpoint(address);
  if (!endpoint.is_ok())
    return endpoint.status();

  // The recorder's slots are allocated and touched before any memory reading.
  RunRecorder recorder(config.tasks, RunRecorder::make_id_prefix(clock.wall()));

  SimFleetOptions fleet_options;
  fleet_options.broker_host = host;
  fleet_options.broker_port = port;
  fleet_options.agents = config.agents;
  fleet_options.slots = config.slots;
  fleet_options.name_prefix = "sim" + run_tag();
  fleet_options.threads = config.agent_threads;
  fleet_options.io_threads = config.io_threads;
  auto fleet = SimFleet::create(fleet_options, clock, &recorder);
  if (!fleet.is_ok())
    return fleet.status();
  CUBE_RETURN_IF_ERROR((*fleet)->start());

  ClientOptions watcher_options;
  watcher_options.endpoint = *endpoint;
  Client watcher(watcher_options, clock);

  // --- registration ---
  const std::set<std::string> names((*fleet)->names().begin(), (*fleet)->names().end());
  size_t ready = 0;
  while ((ready = ready_agents(watcher, names)) < config.agents && clock.now() < deadline) {
    if (auto errors = (*fleet)->errors(); !errors.empty())
      return Status::unavailable("the sim fleet stopped: " + errors.front());
    clock.sleep_for(kNodesInterval);
  }
  result.registration_s = std::chrono::duration<double>(clock.now() - began).count();
  if (ready < config.agents) {
    result.error = "only " + std::to_string(ready) + " of " + std::to_string(config.agents) +
                   " agents registered before the timeout";
    return result;
  }
  say("cube-bench: " + std::to_string(config.agents) + " agents registered in " +
      seconds(began, clock.now()));

  // --- baseline ---
  std::optional<Counts> before = broker_counts(watcher);
  pid_t rss_pid = broker ? ::getpid() : config.broker_pid.value_or(0);
  result.rss_scope = broker ? "process" : "broker";
  std::optional<int64_t> rss_before;
  if (rss_pid != 0) {
    if (auto rss = status_bytes(rss_pid, "VmRSS"); rss.is_ok())
      rss_before = *rss;
  }
  auto broker_cpu = [&]() -> std::optional<double> {
    if (broker)
      return broker->cpu_seconds();
    if (config.broker_pid) {
      if (auto cpu = process_cpu_seconds(*config.broker_pid); cpu.is_ok())
        return *cpu;
    }
    return std::nullopt;
  };
  auto process_cpu = []() -> std::optional<double> {
    if (auto cpu = this_process_cpu_seconds(); cpu.is_ok())
      return *cpu;
    return std::nullopt;
  };
  std::optional<double> cpu_before = broker_cpu();
  double loop_cpu_before = broker ? broker->loop_cpu_seconds() : 0;
  std::optional<double> process_cpu_before = process_cpu();

  // --- event feed subscribers ---
  std::atomic<bool> subscribers_stop{false};
  std::atomic<uint64_t> subscriber_events{0};
  std::vector<std::thread> subscriber_threads;
  for (size_t i = 0; i < config.subscribers; ++i) {
    subscriber_threads.emplace_back([&] {
      Client client(watcher_options, clock);
      uint64_t since = 0;
      while (!subscribers_stop.load()) {
        auto page = client.events(since, {}, kSubscriberWait);
        if (!page)
          continue;  // retried: the next call waits again
        subscriber_events += page->events.size();
        since = page->next_index;
      }
    });
  }

  // --- load ---
  LoadOptions load_options;
  load_options.endpoint = *endpoint;
  load_options.clients = config.clients;
  load_options.rate = config.rate;
  load_options.batch = config.batch;
  load_options.duration_ms = config.duration_ms;
  LoadGenerator load(load_options, recorder, clock);
  const SteadyTime start = clock.now();
  std::thread load_thread([&] { load.run(start); });

  int ticks = 0;
  auto all_ended = [&] { return recorder.ended_count() + recorder.failed_count() >= config.tasks; };
  bool load_done = false;
  while (clock.now() < deadline) {
    load_done = recorder.acked_count() + recorder.failed_count() >= config.tasks;
    if (load_done && all_ended())
      break;
    if (auto errors = (*fleet)->errors(); !errors.empty()) {
      result.error = "the sim fleet stopped: " + errors.front();
      break;
    }
    if (config.duration_ms == 0 && load_done &&
        recorder.started_count() + recorder.failed_count() >= config.tasks) {
      break;  // tasks that run until stopped never end: started is as far as they go
    }
    clock.sleep_for(kTick);
    if (++ticks % kTicksPerLine == 0) {
      say("cube-bench: " + seconds(start, clock.now()) + "  sent " +
          std::to_string(recorder.sent_count()) + "  acked " +
          std::to_string(recorder.acked_count()) + "  started " +
          std::to_string(recorder.started_count()) + "  ended " +
          std::to_string(recorder.ended_count()) + " of " + std::to_string(config.tasks));
    }
  }
  // The clients give up on their own (cube::Client tries), so this join is bounded.
  load_thread.join();
  subscribers_stop = true;  // each ends within kSubscriberWait
  for (auto& t : subscriber_threads)
    t.join();
  result.subscriber_events = subscriber_events.load();

  // --- the broker's view ---
  if (before && result.error.empty() && config.duration_ms > 0) {
    SteadyTime settle = clock.now() + kBrokerSettle;
    while (true) {
      auto now_counts = broker_counts(watcher);
      if (now_counts) {
        result.completed_at_broker = now_counts->completed - before->completed;
        result.failed_at_broker = now_counts->failed - before->failed;
        if (*result.completed_at_broker + *result.failed_at_broker >= recorder.ended_count())
          break;
      }
      if (clock.now() >= settle)
        break;
      clock.sleep_for(kTick);
    }
  }
  if (auto cpu = broker_cpu(); cpu && cpu_before)
    result.broker_cpu_s = *cpu - *cpu_before;
  if (auto cpu = process_cpu(); cpu && process_cpu_before)
    result.process_cpu_s = *cpu - *process_cpu_before;
  if (broker)
    result.broker_loop_cpu_s = broker->loop_cpu_seconds() - loop_cpu_before;
  if (rss_pid != 0) {
    if (auto hwm = status_bytes(rss_pid, "VmHWM"); hwm.is_ok())
      result.broker_peak_rss_bytes = *hwm;
    if (auto rss = status_bytes(rss_pid, "VmRSS"); rss.is_ok() && rss_before)
      result.rss_growth_per_task_bytes =
          static_cast<double>(*rss - *rss_before) / static_cast<double>(config.tasks);
  }

  compute_rates(recorder, result);
  if (result.error.empty()) {
    if (!load.first_error().empty()) {
      result.error =
          std::to_string(result.submit_errors) + " submits failed; first: " + load.first_error();
    } else if (result.ended < config.tasks && config.duration_ms > 0) {
      result.error = "timed out: " + std::to_string(result.ended) + " of " +
                     std::to_string(config.tasks) + " tasks ended on the agents";
    } else if (result.completed_at_broker.value_or(0) < config.tasks && config.duration_ms > 0) {
      result.error = "the broker counts " + std::to_string(result.completed_at_broker.value_or(0)) +
                     " of " + std::to_string(config.tasks) + " tasks completed";
    }
  }
  if (!options.latency_out.empty()) {
    Status written =
        write_latency_distribution(options.latency_out, running_latencies_ms(recorder));
    if (!written.is_ok())
      spdlog::warn("--latency-out: {}", written.message());
  }

  // Agents first (they would otherwise notice the broker going away), then the broker.
  (*fleet)->stop();
  fleet->reset();
  broker.reset();
  return result;
}

}  // namespace cube::bench
