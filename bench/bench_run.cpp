#include "bench/bench_run.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "bench/bench_cluster.h"
#include "bench/load_generator.h"
#include "bench/process_stats.h"
#include "bench/run_recorder.h"
#include "client/client.h"

namespace cube::bench {
namespace {

// How often the waiting thread looks at progress, and how many looks make a progress line.
constexpr Millis kTick{50};
constexpr int kTicksPerLine = 20;
// How long a --subscribers thread's EVENTS request waits at the broker: the longest it takes
// to notice the run is over.
constexpr Millis kSubscriberWait{1000};
// After the agents ended every task, how long the broker may take to have applied it all.
constexpr Millis kBrokerSettle{15000};

// What the broker's STATUS says about task states, for the completion check.
struct Counts {
  uint64_t completed = 0;
  uint64_t failed = 0;
};

std::optional<Counts> broker_counts(Client& client) {
  auto counts = broker_tasks_by_state(client);
  if (!counts)
    return std::nullopt;
  return Counts{count_of(*counts, "Completed"), count_of(*counts, "Failed")};
}

// Writes what `write` puts into a stream to `path` (replacing it); Unavailable naming the path
// when it cannot be opened or written.
Status write_text_file(const std::string& path, const std::function<void(std::ostream&)>& write) {
  std::ofstream out(path, std::ios::trunc);
  if (!out)
    return Status::unavailable("cannot write " + path);
  write(out);
  out.flush();
  if (!out)
    return Status::unavailable("cannot write " + path);
  return Status::ok();
}

}  // namespace

Status write_latency_distribution(const std::string& path, const std::vector<double>& latencies) {
  return write_text_file(path, [&](std::ostream& out) {
    out << "# quantile latency_ms (submit -> Running), " << latencies.size() << " tasks\n";
    if (latencies.empty())
      return;
    for (int k = 0; k <= 400; ++k) {
      double q = 1.0 - std::pow(10.0, -k / 100.0);
      auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(latencies.size())));
      rank = std::clamp<size_t>(rank, 1, latencies.size());
      out << q << " " << latencies[rank - 1] << "\n";
    }
    out << 1.0 << " " << latencies.back() << "\n";
  });
}

Status write_latency_timeline(const std::string& path, const RunRecorder& recorder) {
  std::vector<std::pair<int64_t, int64_t>> sent_started;  // ns
  sent_started.reserve(recorder.tasks());
  for (size_t i = 0; i < recorder.tasks(); ++i) {
    if (recorder.sent_ns(i) != 0 && recorder.started_ns(i) != 0)
      sent_started.emplace_back(recorder.sent_ns(i), recorder.started_ns(i));
  }
  std::sort(sent_started.begin(), sent_started.end());
  return write_text_file(path, [&](std::ostream& out) {
    out << "# sent_ms latency_ms (submit -> Running), " << sent_started.size() << " tasks\n";
    for (const auto& [sent, started] : sent_started) {
      out << static_cast<double>(sent - sent_started.front().first) / 1e6 << " "
          << static_cast<double>(started - sent) / 1e6 << "\n";
    }
  });
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

  // The recorder's slots are allocated and touched before any memory reading.
  RunRecorder recorder(config.tasks, RunRecorder::make_id_prefix(clock.wall()));
  auto cluster = BenchCluster::start(config, &recorder, clock);
  if (!cluster.is_ok())
    return cluster.status();
  Client& watcher = (*cluster)->watcher();

  // --- registration ---
  result.error = (*cluster)->wait_until_ready(deadline);
  result.registration_s = std::chrono::duration<double>(clock.now() - began).count();
  if (!result.error.empty())
    return result;
  say("cube-bench: " + std::to_string(config.agents) + " agents registered in " +
      seconds_between(began, clock.now()));

  // --- baseline ---
  std::optional<Counts> before = broker_counts(watcher);
  const pid_t rss_pid = (*cluster)->rss_pid();
  result.rss_scope = (*cluster)->rss_scope();
  std::optional<int64_t> rss_before;
  if (rss_pid != 0) {
    if (auto rss = status_bytes(rss_pid, "VmRSS"); rss.is_ok())
      rss_before = *rss;
  }
  std::optional<double> cpu_before = (*cluster)->broker_cpu_seconds();
  double loop_cpu_before = (*cluster)->broker_loop_cpu_seconds();
  std::optional<double> process_cpu_before = process_cpu_seconds_now();

  // --- event feed subscribers ---
  std::atomic<bool> subscribers_stop{false};
  std::atomic<uint64_t> subscriber_events{0};
  std::vector<std::thread> subscriber_threads;
  ClientOptions subscriber_options;
  subscriber_options.endpoint = (*cluster)->endpoint();
  for (size_t i = 0; i < config.subscribers; ++i) {
    subscriber_threads.emplace_back([&] {
      Client client(subscriber_options, clock);
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
  load_options.endpoint = (*cluster)->endpoint();
  load_options.clients = config.clients;
  load_options.rate = config.rate;
  load_options.batch = config.batch;
  load_options.duration_ms = config.duration_ms;
  LoadGenerator load(load_options, recorder, clock);
  load.connect();
  const SteadyTime start = clock.now();
  std::thread load_thread([&] { load.run(start); });

  int ticks = 0;
  auto all_ended = [&] { return recorder.ended_count() + recorder.failed_count() >= config.tasks; };
  bool load_done = false;
  while (clock.now() < deadline) {
    load_done = recorder.acked_count() + recorder.failed_count() >= config.tasks;
    if (load_done && all_ended())
      break;
    if (std::string error = (*cluster)->fleet_error(); !error.empty()) {
      result.error = error;
      break;
    }
    if (config.duration_ms == 0 && load_done &&
        recorder.started_count() + recorder.failed_count() >= config.tasks) {
      break;  // tasks that run until stopped never end: started is as far as they go
    }
    clock.sleep_for(kTick);
    if (++ticks % kTicksPerLine == 0) {
      say("cube-bench: " + seconds_between(start, clock.now()) + "  sent " +
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
  if (auto cpu = (*cluster)->broker_cpu_seconds(); cpu && cpu_before)
    result.broker_cpu_s = *cpu - *cpu_before;
  if (auto cpu = process_cpu_seconds_now(); cpu && process_cpu_before)
    result.process_cpu_s = *cpu - *process_cpu_before;
  if (config.broker.empty())
    result.broker_loop_cpu_s = (*cluster)->broker_loop_cpu_seconds() - loop_cpu_before;
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
  if (!options.timeline_out.empty()) {
    if (Status written = write_latency_timeline(options.timeline_out, recorder); !written.is_ok())
      spdlog::warn("--timeline-out: {}", written.message());
  }
  return result;
}

}  // namespace cube::bench
