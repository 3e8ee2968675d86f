#include "bench/service_report.h"

#include "client/table.h"
#include "common/units.h"

namespace cube::bench {

std::optional<double> ServiceBenchResult::broker_cpu_us_per_replica() const {
  return us_per_task(broker_cpu_s, started);
}

std::optional<double> ServiceBenchResult::process_cpu_us_per_replica() const {
  return us_per_task(process_cpu_s, started);
}

nlohmann::json to_json(const ServiceBenchResult& r) {
  nlohmann::json config = config_json(r.config);
  for (const char* unused : {"tasks", "batch", "duration_ms", "rate", "mode"})
    config.erase(unused);
  config["services"] = r.services;
  config["replicas"] = r.replicas;
  return {
      {"config", config},
      {"complete", r.complete()},
      {"error", r.error},
      {"registration_s", r.registration_s},
      {"replicas_total", r.replicas_total()},
      {"created", r.created},
      {"create_errors", r.create_errors},
      {"create_s", r.create_s},
      {"started", r.started},
      {"scale_up_s", r.scale_up_s},
      {"placements_per_s", r.placements_per_s},
      {"running_at_broker", optional_json(r.running_at_broker)},
      {"broker_cpu_s", optional_json(r.broker_cpu_s)},
      {"broker_cpu_us_per_task", optional_json(r.broker_cpu_us_per_replica())},
      {"process_cpu_s", optional_json(r.process_cpu_s)},
      {"process_cpu_us_per_task", optional_json(r.process_cpu_us_per_replica())},
      {"broker_peak_rss_bytes", optional_json(r.broker_peak_rss_bytes)},
      {"rss_scope", r.rss_scope},
      {"rss_growth_per_replica_bytes", optional_json(r.rss_growth_per_replica_bytes)},
      {"removed", r.removed},
      {"stopped", r.stopped},
      {"remove_s", r.remove_s},
      {"stops_per_s", r.stops_per_s},
  };
}

std::string to_table(const ServiceBenchResult& r) {
  const BenchConfig& c = r.config;
  std::string out = "cube-bench --services: " + std::to_string(r.services) + " services x " +
                    std::to_string(r.replicas) + " replicas on " + std::to_string(c.agents) +
                    " sim agents x " + std::to_string(c.slots) + " slots, " +
                    std::to_string(c.clients) + " clients, store " + c.store + ", scheduler " +
                    c.scheduler + ", broker " + (c.broker.empty() ? "in-process" : c.broker) +
                    "\n\n";
  const std::string total = format_thousands(r.replicas_total());
  Table table({"metric", "value", "note"});
  table.add_row({"registration", format_fixed(r.registration_s, 2) + " s",
                 std::to_string(c.agents) + " agents listed ready"});
  table.add_row(
      {"services created", format_fixed(r.create_s, 2) + " s",
       std::to_string(r.created) + " of " + std::to_string(r.services) + " acknowledged"});
  table.add_row({"scale-up", format_fixed(r.scale_up_s, 2) + " s",
                 format_thousands(r.started) + " of " + total + " replicas started on agents"});
  table.add_row({"placements", format_per_second(r.placements_per_s),
                 "first create to the last replica's start"});
  std::string running = r.running_at_broker ? format_thousands(*r.running_at_broker) : "?";
  table.add_row({"Running at broker", running + " / " + total, ""});
  const std::string per_replica_note = "scale-up, over " + format_thousands(r.started) + " started";
  if (r.broker_cpu_s) {
    table.add_row({"broker CPU", format_fixed(*r.broker_cpu_s, 2) + " s",
                   c.broker.empty() ? "scale-up: loop, ZeroMQ and writer threads"
                                    : "scale-up: the broker process"});
    table.add_row(
        {"broker CPU per replica", format_micros(r.broker_cpu_us_per_replica()), per_replica_note});
  } else {
    table.add_row({"broker CPU", "n/a", "external broker: pass --broker-pid"});
  }
  if (r.process_cpu_s) {
    table.add_row({"process CPU per replica", format_micros(r.process_cpu_us_per_replica()),
                   per_replica_note});
  }
  if (r.broker_peak_rss_bytes) {
    table.add_row({"peak RSS", format_size(*r.broker_peak_rss_bytes),
                   r.rss_scope == "process" ? "whole bench process (broker, agents, clients)"
                                            : "broker process"});
  }
  if (r.rss_growth_per_replica_bytes) {
    table.add_row({"RSS growth per replica",
                   format_fixed(*r.rss_growth_per_replica_bytes, 0) + " B", r.rss_scope});
  }
  table.add_row({"removal", format_fixed(r.remove_s, 2) + " s",
                 std::to_string(r.removed) + " services removed, " + format_thousands(r.stopped) +
                     " replicas stopped"});
  table.add_row({"stops", format_per_second(r.stops_per_s), "first remove to the last stop"});
  out += table.render();
  out += r.complete() ? "" : "\nerror: " + r.error + "\n";
  return out;
}

}  // namespace cube::bench
