#include "bench/service_run.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/bench_cluster.h"
#include "bench/process_stats.h"
#include "bench/run_recorder.h"
#include "common/ids.h"

namespace cube::bench {
namespace {

// How often the waiting thread looks at progress, and how many looks make a progress line.
constexpr Millis kTick{50};
constexpr int kTicksPerLine = 20;
// After the agents started every replica, how long the broker's Running count may stay put
// before the run gives up on it.
constexpr Millis kBrokerSettle{15000};

// Counts sim task starts and ends on the fleet, whatever their IDs (the broker names a
// service's tasks), with the time of the latest of each.
class StartStopCounter final : public agent::SimObserver {
 public:
  void task_started(std::string_view, uint32_t, SteadyTime at) override {
    raise(last_start_ns_, to_ns(at));
    started_.fetch_add(1, std::memory_order_relaxed);
  }
  void task_ended(std::string_view, uint32_t, SteadyTime at) override {
    raise(last_end_ns_, to_ns(at));
    ended_.fetch_add(1, std::memory_order_relaxed);
  }

  size_t started() const { return started_.load(std::memory_order_relaxed); }
  size_t ended() const { return ended_.load(std::memory_order_relaxed); }
  int64_t last_start_ns() const { return last_start_ns_.load(std::memory_order_relaxed); }
  int64_t last_end_ns() const { return last_end_ns_.load(std::memory_order_relaxed); }

 private:
  static void raise(std::atomic<int64_t>& slot, int64_t value) {
    int64_t seen = slot.load(std::memory_order_relaxed);
    while (seen < value && !slot.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
    }
  }

  std::atomic<size_t> started_{0};
  std::atomic<size_t> ended_{0};
  std::atomic<int64_t> last_start_ns_{0};
  std::atomic<int64_t> last_end_ns_{0};
};

// What a round of per-service requests (creates or removals) from K client threads did.
struct RequestRound {
  size_t ok = 0;
  size_t errors = 0;
  std::string first_error;
  SteadyTime last_ok{};
};

// Sends `request(client, i)` for every service index i, spread over `clients` threads (thread k
// takes k, k + K, ...), one request in flight per thread.
RequestRound for_each_service(size_t services, size_t clients, const std::string& endpoint,
                              const Clock& clock,
                              const std::function<Status(Client&, size_t)>& request) {
  RequestRound round;
  std::mutex mu;
  std::vector<std::thread> threads;
  const size_t count = std::clamp<size_t>(clients, 1, services);
  for (size_t k = 0; k < count; ++k) {
    threads.emplace_back([&, k] {
      ::pthread_setname_np(::pthread_self(), "bench-client");
      ClientOptions client_options;
      client_options.endpoint = endpoint;
      Client client(client_options, clock);
      for (size_t i = k; i < services; i += count) {
        Status s = request(client, i);
        std::lock_guard lock(mu);
        if (s.is_ok()) {
          ++round.ok;
          round.last_ok = std::max(round.last_ok, clock.now());
        } else if (round.errors++ == 0) {
          round.first_error = s.to_string();
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  return round;
}

double seconds_since(SteadyTime from, int64_t to_ns_value) {
  return std::max<double>(0, static_cast<double>(to_ns_value - to_ns(from)) / 1e9);
}

std::optional<uint64_t> running_at_broker(Client& client) {
  auto counts = broker_tasks_by_state(client);
  if (!counts)
    return std::nullopt;
  return count_of(*counts, "Running");
}

// "; tasks by state: Running 25,352, Scheduled 74,648" from STATUS, for an error message.
std::string tasks_by_state(Client& client) {
  auto counts = broker_tasks_by_state(client);
  if (!counts || counts->empty())
    return "";
  std::string out = "; tasks by state:";
  for (const auto& [state, count] : *counts)
    out += " " + state + " " + format_thousands(count) + ",";
  out.pop_back();
  return out;
}

}  // namespace

Result<ServiceBenchResult> run_services(const ServiceRunOptions& options, const Clock& clock) {
  const BenchConfig& config = options.config;
  ServiceBenchResult result;
  result.config = config;
  result.services = options.services;
  result.replicas = options.replicas;
  const uint64_t total = result.replicas_total();
  const SteadyTime began = clock.now();
  const SteadyTime deadline = began + options.timeout;
  auto say = [&](const std::string& line) {
    if (options.progress)
      options.progress(line);
  };

  StartStopCounter counter;
  auto started_cluster = BenchCluster::start(config, &counter, clock);
  if (!started_cluster.is_ok())
    return started_cluster.status();
  BenchCluster& cluster = **started_cluster;
  result.error = cluster.wait_until_ready(deadline);
  result.registration_s = std::chrono::duration<double>(clock.now() - began).count();
  if (!result.error.empty())
    return result;
  say("cube-bench: " + std::to_string(config.agents) + " agents registered in " +
      seconds_between(began, clock.now()));

  // Waits until `count()` reaches `target`, with a progress line a second; false on the
  // deadline or a fleet error (result.error says which).
  auto wait_for = [&](const char* what, SteadyTime from, const std::function<size_t()>& count,
                      uint64_t target) {
    for (int ticks = 1; count() < target; ++ticks) {
      if (std::string error = cluster.fleet_error(); !error.empty()) {
        result.error = error;
        return false;
      }
      if (clock.now() >= deadline) {
        result.error = "timed out: " + format_thousands(count()) + " of " +
                       format_thousands(target) + " replicas " + what;
        return false;
      }
      clock.sleep_for(kTick);
      if (ticks % kTicksPerLine == 0) {
        say("cube-bench: " + seconds_between(from, clock.now()) + "  " + what + " " +
            format_thousands(count()) + " of " + format_thousands(target));
      }
    }
    return true;
  };

  // --- scale-up ---
  const std::optional<uint64_t> running_before = running_at_broker(cluster.watcher());
  const pid_t rss_pid = cluster.rss_pid();
  result.rss_scope = cluster.rss_scope();
  std::optional<int64_t> rss_before;
  if (rss_pid != 0) {
    if (auto rss = status_bytes(rss_pid, "VmRSS"); rss.is_ok())
      rss_before = *rss;
  }
  const std::optional<double> cpu_before = cluster.broker_cpu_seconds();
  const std::optional<double> process_cpu_before = process_cpu_seconds_now();
  const std::string prefix = "bench-" + new_random_id().substr(0, 6) + "-";
  auto service_name = [&](size_t i) { return prefix + std::to_string(i + 1); };

  const SteadyTime create_start = clock.now();
  RequestRound created = for_each_service(
      options.services, config.clients, cluster.endpoint(), clock, [&](Client& client, size_t i) {
        Service service;
        service.name = service_name(i);
        service.replicas = options.replicas;
        service.task_template.driver = std::string(kDriverSim);
        service.task_template.duration_ms = 0;  // runs until stopped
        return client.service_create(service).status();
      });
  result.created = created.ok;
  result.create_errors = created.errors;
  result.first_create_error = created.first_error;
  result.create_s = std::chrono::duration<double>(created.last_ok - create_start).count();
  if (created.errors > 0) {
    result.error =
        std::to_string(created.errors) + " service creates failed; first: " + created.first_error;
  }
  const uint64_t expected = static_cast<uint64_t>(created.ok) * options.replicas;
  bool all_started = wait_for(
      "started", create_start, [&] { return counter.started(); }, expected);
  result.started = counter.started();
  result.scale_up_s = seconds_since(create_start, counter.last_start_ns());
  if (result.scale_up_s > 0)
    result.placements_per_s = static_cast<double>(result.started) / result.scale_up_s;
  if (auto cpu = cluster.broker_cpu_seconds(); cpu && cpu_before)
    result.broker_cpu_s = *cpu - *cpu_before;
  if (auto cpu = process_cpu_seconds_now(); cpu && process_cpu_before)
    result.process_cpu_s = *cpu - *process_cpu_before;
  if (rss_pid != 0) {
    if (auto hwm = status_bytes(rss_pid, "VmHWM"); hwm.is_ok())
      result.broker_peak_rss_bytes = *hwm;
    if (auto rss = status_bytes(rss_pid, "VmRSS"); rss.is_ok() && rss_before && total > 0)
      result.rss_growth_per_replica_bytes =
          static_cast<double>(*rss - *rss_before) / static_cast<double>(total);
  }
  if (all_started && running_before) {
    // The broker may lag the agents on a loaded machine: wait while its count still rises.
    SteadyTime settle = clock.now() + kBrokerSettle;
    while (clock.now() < settle && clock.now() < deadline) {
      if (auto running = running_at_broker(cluster.watcher())) {
        uint64_t now_running = *running - std::min(*running, *running_before);
        if (now_running > result.running_at_broker.value_or(0))
          settle = clock.now() + kBrokerSettle;
        result.running_at_broker = now_running;
        if (now_running >= expected)
          break;
      }
      clock.sleep_for(kTick);
    }
    if (result.error.empty() && result.running_at_broker.value_or(0) < expected) {
      result.error = "the broker counts " + format_thousands(result.running_at_broker.value_or(0)) +
                     " of " + format_thousands(expected) + " replicas Running" +
                     tasks_by_state(cluster.watcher());
      if (auto status = cluster.watcher().status(); status.is_ok()) {
        for (const auto& [name, count] : status->counters)
          say("cube-bench: broker counter " + name + " " + std::to_string(count));
      }
    }
  }

  // --- removal (also leaves a broker that outlives the run as it was) ---
  const size_t ended_before = counter.ended();
  const SteadyTime remove_start = clock.now();
  RequestRound removed = for_each_service(
      options.services, config.clients, cluster.endpoint(), clock,
      [&](Client& client, size_t i) { return client.service_remove(service_name(i)).status(); });
  result.removed = removed.ok;
  // Every start ends: a replica the broker placed twice (its first ASSIGN timed out while the
  // agent ran it) was stopped on one agent before, or is stopped now.
  const uint64_t to_stop = counter.started() - std::min(counter.started(), ended_before);
  wait_for(
      "stopped", remove_start, [&] { return counter.ended() - ended_before; }, to_stop);
  result.stopped = counter.ended() - ended_before;
  result.remove_s = seconds_since(remove_start, counter.last_end_ns());
  if (result.remove_s > 0)
    result.stops_per_s = static_cast<double>(result.stopped) / result.remove_s;
  if (result.error.empty() && removed.ok < created.ok) {
    result.error =
        std::to_string(removed.errors) + " service removals failed; first: " + removed.first_error;
  }
  return result;
}

}  // namespace cube::bench
