#include "bench/bench_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "client/table.h"
#include "common/units.h"

namespace cube::bench {
namespace {

double at_rank(const std::vector<double>& sorted, double fraction) {
  // Nearest rank: the smallest value with at least `fraction` of the values at or below it.
  auto rank = static_cast<size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

std::string millis(double ms) {
  return format_fixed(ms, ms < 10 ? 2 : 1) + " ms";
}

nlohmann::json percentiles_json(const Percentiles& p) {
  return {{"count", p.count}, {"p50", p.p50}, {"p90", p.p90},  {"p99", p.p99},
          {"p999", p.p999},   {"max", p.max}, {"mean", p.mean}};
}

}  // namespace

std::string format_fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

Percentiles percentiles(std::vector<double>& values) {
  Percentiles p;
  if (values.empty())
    return p;
  std::sort(values.begin(), values.end());
  p.count = values.size();
  p.p50 = at_rank(values, 0.50);
  p.p90 = at_rank(values, 0.90);
  p.p99 = at_rank(values, 0.99);
  p.p999 = at_rank(values, 0.999);
  p.max = values.back();
  double sum = 0;
  for (double v : values)
    sum += v;
  p.mean = sum / static_cast<double>(values.size());
  return p;
}

bool BenchResult::complete() const {
  if (!error.empty() || acked != config.tasks)
    return false;
  if (config.duration_ms == 0)
    return started == config.tasks;  // such tasks run until stopped: they never end
  return ended == config.tasks && completed_at_broker.value_or(0) == config.tasks;
}

uint64_t BenchResult::tasks_completed() const {
  return completed_at_broker.value_or(ended);
}

std::optional<double> BenchResult::broker_cpu_us_per_task() const {
  return us_per_task(broker_cpu_s, tasks_completed());
}

std::optional<double> BenchResult::process_cpu_us_per_task() const {
  return us_per_task(process_cpu_s, tasks_completed());
}

std::string format_per_second(double value) {
  return format_thousands(static_cast<uint64_t>(std::llround(value))) + "/s";
}

std::string format_thousands(uint64_t whole) {
  std::string digits = std::to_string(whole);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_micros(std::optional<double> us) {
  return us ? format_fixed(*us, *us < 10 ? 2 : 1) + " µs" : "n/a";
}

std::optional<double> us_per_task(std::optional<double> cpu_s, uint64_t tasks) {
  if (!cpu_s || tasks == 0)
    return std::nullopt;
  return *cpu_s * 1e6 / static_cast<double>(tasks);
}

std::vector<double> running_latencies_ms(const RunRecorder& recorder) {
  std::vector<double> out;
  out.reserve(recorder.tasks());
  for (size_t i = 0; i < recorder.tasks(); ++i) {
    int64_t sent = recorder.sent_ns(i);
    int64_t started = recorder.started_ns(i);
    if (sent != 0 && started != 0)
      out.push_back(static_cast<double>(started - sent) / 1e6);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void compute_rates(const RunRecorder& recorder, BenchResult& result) {
  int64_t first_sent = std::numeric_limits<int64_t>::max();
  int64_t last_ack = 0, last_start = 0, last_end = 0;
  std::vector<double> submit_ms;
  submit_ms.reserve(recorder.tasks());
  for (size_t i = 0; i < recorder.tasks(); ++i) {
    int64_t sent = recorder.sent_ns(i);
    if (sent == 0)
      continue;
    first_sent = std::min(first_sent, sent);
    if (int64_t acked = recorder.acked_ns(i); acked != 0) {
      last_ack = std::max(last_ack, acked);
      submit_ms.push_back(static_cast<double>(acked - sent) / 1e6);
    }
    last_start = std::max(last_start, recorder.started_ns(i));
    last_end = std::max(last_end, recorder.ended_ns(i));
  }
  result.acked = recorder.acked_count();
  result.submit_errors = recorder.failed_count();
  result.started = recorder.started_count();
  result.ended = recorder.ended_count();
  auto rate = [&](size_t count, int64_t last) {
    if (count == 0 || last <= first_sent)
      return 0.0;
    return static_cast<double>(count) / (static_cast<double>(last - first_sent) / 1e9);
  };
  result.submits_per_s = rate(result.acked, last_ack);
  result.placements_per_s = rate(result.started, last_start);
  result.completed_per_s = rate(result.ended, last_end);
  if (last_end > first_sent)
    result.elapsed_s = static_cast<double>(last_end - first_sent) / 1e9;
  std::vector<double> latencies = running_latencies_ms(recorder);
  result.latency_ms = percentiles(latencies);
  result.submit_ms = percentiles(submit_ms);
}

nlohmann::json config_json(const BenchConfig& c) {
  return {
      {"agents", c.agents},
      {"slots", c.slots},
      {"tasks", c.tasks},
      {"clients", c.clients},
      {"batch", c.batch},
      {"store", c.store},
      {"scheduler", c.scheduler},
      {"duration_ms", c.duration_ms},
      {"rate", c.rate},
      {"mode", c.rate > 0 ? "open" : "closed"},
      {"broker", c.broker.empty() ? "in-process" : c.broker},
      {"agent_threads", c.agent_threads},
      {"io_threads", c.io_threads},
      {"subscribers", c.subscribers},
  };
}

nlohmann::json to_json(const BenchResult& r) {
  const BenchConfig& c = r.config;
  return {
      {"config", config_json(c)},
      {"complete", r.complete()},
      {"error", r.error},
      {"registration_s", r.registration_s},
      {"tasks", c.tasks},
      {"acked", r.acked},
      {"submit_errors", r.submit_errors},
      {"started", r.started},
      {"completed", r.ended},
      {"completed_at_broker", optional_json(r.completed_at_broker)},
      {"failed_at_broker", optional_json(r.failed_at_broker)},
      {"elapsed_s", r.elapsed_s},
      {"submits_per_s", r.submits_per_s},
      {"placements_per_s", r.placements_per_s},
      {"completed_per_s", r.completed_per_s},
      {"latency_ms", percentiles_json(r.latency_ms)},
      {"submit_ms", percentiles_json(r.submit_ms)},
      {"broker_cpu_s", optional_json(r.broker_cpu_s)},
      {"subscriber_events", r.subscriber_events},
      {"broker_loop_cpu_s", optional_json(r.broker_loop_cpu_s)},
      {"broker_cpu_us_per_task", optional_json(r.broker_cpu_us_per_task())},
      {"process_cpu_s", optional_json(r.process_cpu_s)},
      {"process_cpu_us_per_task", optional_json(r.process_cpu_us_per_task())},
      {"broker_peak_rss_bytes", optional_json(r.broker_peak_rss_bytes)},
      {"rss_scope", r.rss_scope},
      {"rss_growth_per_task_bytes", optional_json(r.rss_growth_per_task_bytes)},
  };
}

std::string to_table(const BenchResult& r) {
  const BenchConfig& c = r.config;
  std::string out = "cube-bench: " + std::to_string(c.agents) + " sim agents x " +
                    std::to_string(c.slots) + " slots, " + std::to_string(c.tasks) + " tasks of " +
                    std::to_string(c.duration_ms) + " ms, " + std::to_string(c.clients) +
                    " clients, " +
                    (c.batch > 1 ? "batches of " + std::to_string(c.batch) + ", " : "") +
                    (c.rate > 0 ? "open loop at " + format_per_second(c.rate) : "closed loop") +
                    ", store " + c.store + ", scheduler " + c.scheduler + ", broker " +
                    (c.broker.empty() ? "in-process" : c.broker) + "\n\n";
  Table table({"metric", "value", "note"});
  table.add_row({"registration", format_fixed(r.registration_s, 2) + " s",
                 std::to_string(c.agents) + " agents listed ready"});
  table.add_row({"submits acknowledged", format_per_second(r.submits_per_s),
                 std::to_string(r.acked) + " of " + std::to_string(c.tasks)});
  table.add_row(
      {"placements", format_per_second(r.placements_per_s), "submit to start on an agent"});
  table.add_row({"completions", format_per_second(r.completed_per_s),
                 std::to_string(r.ended) + " ended on agents"});
  const Percentiles& l = r.latency_ms;
  table.add_row({"submit->Running p50", millis(l.p50),
                 c.rate > 0 ? "from the intended send time" : "from the send time"});
  table.add_row({"submit->Running p99", millis(l.p99), ""});
  table.add_row({"submit->Running p99.9", millis(l.p999), "max " + millis(l.max)});
  table.add_row(
      {"submit round trip p50", millis(r.submit_ms.p50), "p99 " + millis(r.submit_ms.p99)});
  const bool in_process = c.broker.empty();
  const std::string per_task_note = "over " + std::to_string(r.tasks_completed()) + " completed";
  if (r.broker_cpu_s) {
    std::string note = in_process ? "during the run: loop, ZeroMQ and writer threads"
                                  : "during the run: the broker process";
    if (r.broker_loop_cpu_s)
      note += "; loop thread " + format_fixed(*r.broker_loop_cpu_s, 2) + " s";
    table.add_row({"broker CPU", format_fixed(*r.broker_cpu_s, 2) + " s", note});
    table.add_row(
        {"broker CPU per task", format_micros(r.broker_cpu_us_per_task()), per_task_note});
  } else {
    table.add_row({"broker CPU", "n/a", "external broker: pass --broker-pid"});
  }
  if (r.process_cpu_s) {
    table.add_row({"process CPU", format_fixed(*r.process_cpu_s, 2) + " s",
                   in_process ? "whole bench process: broker, sim agents, clients"
                              : "whole bench process: sim agents, clients; excludes the broker"});
    table.add_row(
        {"process CPU per task", format_micros(r.process_cpu_us_per_task()), per_task_note});
  }
  if (r.broker_peak_rss_bytes) {
    table.add_row({"peak RSS", format_size(*r.broker_peak_rss_bytes),
                   r.rss_scope == "process" ? "whole bench process (broker, agents, clients)"
                                            : "broker process"});
  }
  if (r.rss_growth_per_task_bytes) {
    table.add_row(
        {"RSS growth per task", format_fixed(*r.rss_growth_per_task_bytes, 0) + " B", r.rss_scope});
  }
  std::string completed = r.completed_at_broker ? std::to_string(*r.completed_at_broker) : "?";
  table.add_row({"completed at broker", completed + " / " + std::to_string(c.tasks),
                 r.complete() ? "ok" : "INCOMPLETE"});
  out += table.render();
  if (!r.error.empty())
    out += "\nerror: " + r.error + "\n";
  return out;
}

}  // namespace cube::bench
