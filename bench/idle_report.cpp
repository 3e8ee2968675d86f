#include "bench/idle_report.h"

#include "bench/bench_report.h"
#include "client/table.h"
#include "common/units.h"

namespace cube::bench {
namespace {

std::string split_description(const std::vector<size_t>& per_process) {
  std::string out;
  for (size_t k = 0; k < per_process.size(); ++k)
    out += (k == 0 ? "" : " + ") + std::to_string(per_process[k]);
  return out;
}

}  // namespace

std::optional<double> IdleResult::broker_cpu_percent() const {
  if (!broker_cpu_s || window_s <= 0)
    return std::nullopt;
  return *broker_cpu_s / window_s * 100.0;
}

std::optional<double> IdleResult::fleet_cpu_percent() const {
  if (!fleet_cpu_s || window_s <= 0)
    return std::nullopt;
  return *fleet_cpu_s / window_s * 100.0;
}

std::optional<double> IdleResult::heartbeats_per_s() const {
  if (!heartbeats || window_s <= 0)
    return std::nullopt;
  return static_cast<double>(*heartbeats) / window_s;
}

std::optional<double> IdleResult::heartbeat_period_ms() const {
  auto per_s = heartbeats_per_s();
  if (!per_s || *per_s <= 0 || config.agents == 0)
    return std::nullopt;
  return static_cast<double>(config.agents) / *per_s * 1000.0;
}

std::optional<double> IdleResult::broker_cpu_us_per_heartbeat() const {
  if (!broker_cpu_s)
    return std::nullopt;
  double beats = 0;
  if (heartbeats) {
    beats = static_cast<double>(*heartbeats);
  } else if (heartbeat && heartbeat->count() > 0) {
    beats = static_cast<double>(config.agents) * window_s * 1000.0 /
            static_cast<double>(heartbeat->count());
  }
  if (beats <= 0)
    return std::nullopt;
  return *broker_cpu_s * 1e6 / beats;
}

nlohmann::json to_json(const IdleResult& r) {
  const IdleConfig& c = r.config;
  nlohmann::json config = {
      {"mode", "idle"},
      {"agents", c.agents},
      {"broker", r.broker_address},
      {"broker_started", r.broker_started},
      {"broker_pid", optional_json(r.broker_pid)},
      {"heartbeat_ms",
       r.heartbeat ? nlohmann::json(r.heartbeat->count()) : nlohmann::json(nullptr)},
      {"window_s", static_cast<double>(c.window.count()) / 1000.0},
      {"agents_per_process", r.agents_per_process},
      {"fleet_fd_limit", r.fleet_fd_limit},
      {"agent_threads", c.agent_threads},
      {"io_threads", c.io_threads},
  };
  return {
      {"config", config},
      {"complete", r.complete()},
      {"error", r.error},
      {"agents", c.agents},
      {"registration_s", r.registration_s},
      {"ready_after", r.ready_after},
      {"window_s", r.window_s},
      {"broker_cpu_s", optional_json(r.broker_cpu_s)},
      {"broker_cpu_percent", optional_json(r.broker_cpu_percent())},
      {"heartbeats", optional_json(r.heartbeats)},
      {"heartbeats_per_s", optional_json(r.heartbeats_per_s())},
      {"heartbeat_period_ms", optional_json(r.heartbeat_period_ms())},
      {"broker_cpu_us_per_heartbeat", optional_json(r.broker_cpu_us_per_heartbeat())},
      {"broker_rss_bytes", optional_json(r.broker_rss_bytes)},
      {"broker_peak_rss_bytes", optional_json(r.broker_peak_rss_bytes)},
      {"broker_fds", optional_json(r.broker_fds)},
      {"broker_fd_limit", optional_json(r.broker_fd_limit)},
      {"fleet_cpu_s", optional_json(r.fleet_cpu_s)},
      {"fleet_cpu_percent", optional_json(r.fleet_cpu_percent())},
  };
}

std::string to_table(const IdleResult& r) {
  const IdleConfig& c = r.config;
  std::string out =
      "cube-bench --idle: " + std::to_string(c.agents) + " sim agents in " +
      std::to_string(r.agents_per_process.size()) + " fleet process" +
      (r.agents_per_process.size() == 1 ? "" : "es") + " (" +
      split_description(r.agents_per_process) + "), no tasks, broker " + r.broker_address +
      (r.broker_started ? " (started by the bench: cube-broker --store memory --heartbeat " +
                              std::to_string(r.heartbeat ? r.heartbeat->count() : 0) + "ms)"
                        : "") +
      ", window " + format_fixed(r.window_s, 1) + " s\n\n";
  Table table({"metric", "value", "note"});
  table.add_row({"registration", format_fixed(r.registration_s, 2) + " s",
                 std::to_string(c.agents) + " agents listed ready"});
  auto or_na = [](const std::optional<double>& v, int decimals, const std::string& unit) {
    return v ? format_fixed(*v, decimals) + unit : std::string("n/a");
  };
  table.add_row({"broker CPU", or_na(r.broker_cpu_percent(), 1, " % of a core"),
                 r.broker_cpu_s ? format_fixed(*r.broker_cpu_s, 2) + " s in the window"
                                : "pass --broker-pid"});
  table.add_row({"per agent per heartbeat", format_micros(r.broker_cpu_us_per_heartbeat()),
                 r.heartbeats ? "over " + format_thousands(*r.heartbeats) + " heartbeats counted"
                              : "over the heartbeats expected"});
  table.add_row({"heartbeat period", or_na(r.heartbeat_period_ms(), 0, " ms"),
                 "measured" + (r.heartbeat ? "; the broker's --heartbeat " +
                                                 std::to_string(r.heartbeat->count()) + " ms"
                                           : std::string())});
  table.add_row({"broker RSS", r.broker_rss_bytes ? format_size(*r.broker_rss_bytes) : "n/a",
                 r.broker_peak_rss_bytes ? "peak " + format_size(*r.broker_peak_rss_bytes) : ""});
  table.add_row({"broker fds", r.broker_fds ? format_thousands(*r.broker_fds) : "n/a",
                 r.broker_fd_limit ? "limit " + format_thousands(*r.broker_fd_limit) : ""});
  table.add_row({"fleet CPU", or_na(r.fleet_cpu_percent(), 1, " % of a core"),
                 "the sim agents' processes, same window"});
  table.add_row({"ready after", std::to_string(r.ready_after) + " / " + std::to_string(c.agents),
                 r.complete() ? "ok" : "INCOMPLETE"});
  out += table.render();
  if (!r.error.empty())
    out += "\nerror: " + r.error + "\n";
  return out;
}

}  // namespace cube::bench
