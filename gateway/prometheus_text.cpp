#include "gateway/prometheus_text.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <map>
#include <string_view>

#include "protocol/latency_histogram.h"
#include "protocol/task.h"

namespace cube::gateway {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Registry;

constexpr std::array<std::string_view, 3> kNodeStates = {"ready", "suspect", "lost"};
constexpr std::array<std::string_view, 3> kSockets = {"client", "work", "events"};

uint64_t counter(const std::map<std::string, uint64_t>& counters, const std::string& key) {
  auto it = counters.find(key);
  return it == counters.end() ? 0 : it->second;
}

// True for the keys of protocol/latency_histogram.h; they are exported as histograms instead.
bool is_histogram_key(std::string_view key) {
  return key.find(".le_us.") != std::string_view::npos || key.ends_with(".sum_us");
}

void add_plain_counter(Registry& registry, const char* name, const char* help, uint64_t value) {
  BuildCounter().Name(name).Help(help).Register(registry).Add({}).Increment(
      static_cast<double>(value));
}

void add_histogram(Registry& registry, const char* name, const char* help,
                   std::string_view status_name, const std::map<std::string, uint64_t>& counters) {
  auto imported = protocol::LatencyHistogram::import_from(status_name, counters);
  // An older broker without the histogram: still export the family with the default buckets,
  // empty, so dashboards do not break on a missing series.
  protocol::LatencyHistogram h = imported ? *imported : protocol::LatencyHistogram();
  prometheus::Histogram::BucketBoundaries bounds;
  for (int64_t us : h.bounds_us())
    bounds.push_back(static_cast<double>(us) / 1e6);
  std::vector<double> increments;
  for (uint64_t c : h.counts())
    increments.push_back(static_cast<double>(c));
  auto& family = BuildHistogram().Name(name).Help(help).Register(registry);
  family.Add({}, bounds).ObserveMultiple(increments, static_cast<double>(h.sum_us()) / 1e6);
}

}  // namespace

std::string render_metrics(const protocol::BrokerStatus& status,
                           const std::vector<protocol::NodeInfo>& nodes) {
  const auto& counters = status.counters;
  Registry registry;

  BuildGauge()
      .Name("cube_broker_info")
      .Help("Cube broker version and epoch (random per start); always 1")
      .Register(registry)
      .Add({{"version", status.version}, {"epoch", status.epoch}})
      .Set(1);
  BuildGauge()
      .Name("cube_broker_start_time_seconds")
      .Help("When the broker started, Unix seconds")
      .Register(registry)
      .Add({})
      .Set(static_cast<double>(status.started_ms) / 1000.0);

  auto& tasks = BuildGauge().Name("cube_tasks").Help("Tasks by state").Register(registry);
  for (int i = 0; i < kTaskStateCount; ++i) {
    std::string name(task_state_name(static_cast<TaskState>(i)));
    auto it = status.tasks_by_state.find(name);
    uint64_t n = it == status.tasks_by_state.end() ? 0 : it->second;
    tasks.Add({{"state", name}}).Set(static_cast<double>(n));
  }

  std::map<std::string, uint64_t> by_state;
  for (auto s : kNodeStates)
    by_state[std::string(s)] = 0;
  uint64_t slots_total = 0;
  uint64_t slots_free = 0;
  for (const auto& n : nodes) {
    ++by_state[n.state];
    slots_total += n.capacity.slots;
    slots_free += n.free_slots;
  }
  auto& node_gauge = BuildGauge().Name("cube_nodes").Help("Agents by state").Register(registry);
  for (const auto& [state, n] : by_state)
    node_gauge.Add({{"state", state}}).Set(static_cast<double>(n));
  auto& slots = BuildGauge()
                    .Name("cube_node_slots")
                    .Help("Task slots over all agents: total capacity, and free credit")
                    .Register(registry);
  slots.Add({{"kind", "total"}}).Set(static_cast<double>(slots_total));
  slots.Add({{"kind", "free"}}).Set(static_cast<double>(slots_free));

  add_plain_counter(registry, "cube_task_submits_total", "New tasks accepted by the broker",
                    counter(counters, "client.submits"));
  add_plain_counter(registry, "cube_task_submit_duplicates_total",
                    "Submits of an ID the broker already had (answered with the stored task)",
                    counter(counters, "client.submit_duplicates"));
  add_plain_counter(registry, "cube_task_stops_total", "Stop requests accepted",
                    counter(counters, "client.stops"));
  add_plain_counter(registry, "cube_task_placements_total",
                    "Task placements (ASSIGN messages sent to agents)",
                    counter(counters, "tasks.placed"));
  add_plain_counter(registry, "cube_nodes_lost_total", "Agents declared lost",
                    counter(counters, "agents.lost"));
  add_plain_counter(registry, "cube_store_commits_total", "Successful store group commits",
                    counter(counters, "store.commits"));
  add_plain_counter(registry, "cube_store_commit_failures_total", "Failed store commits",
                    counter(counters, "store.commit_failed"));

  // Under CURVE: connections the broker's ZAP handler refused (a key not on the allowlist of
  // that socket's domain), exported at 0 otherwise so alerts need no special case.
  auto& refused = BuildCounter()
                      .Name("cube_connections_refused_total")
                      .Help(
                          "Connections refused by the CURVE allowlists, by domain (agents: "
                          "--authorized-agents, clients: --authorized-clients)")
                      .Register(registry);
  for (const char* domain : {"agents", "clients"}) {
    refused.Add({{"domain", domain}})
        .Increment(static_cast<double>(counter(counters, std::string("zap.refused.") + domain)));
  }

  add_histogram(registry, "cube_scheduling_latency_seconds",
                "Time from a task being accepted to its first placement on an agent",
                protocol::kSchedulingLatency, counters);
  add_histogram(registry, "cube_store_commit_duration_seconds", "Time one store group commit took",
                protocol::kStoreCommitLatency, counters);

  auto& received = BuildCounter()
                       .Name("cube_messages_received_total")
                       .Help("Messages the broker received, per socket and message type")
                       .Register(registry);
  auto& sent = BuildCounter()
                   .Name("cube_messages_sent_total")
                   .Help("Messages the broker sent, per socket and message type")
                   .Register(registry);
  auto& decode_errors = BuildCounter()
                            .Name("cube_decode_errors_total")
                            .Help(
                                "Messages the broker could not decode, per socket and message type "
                                "(type=\"envelope\": not a CUBE1 frame at all)")
                            .Register(registry);
  auto& raw = BuildCounter()
                  .Name("cube_broker_counter_total")
                  .Help("Every broker counter, named as cube-client status shows it")
                  .Register(registry);
  for (const auto& [key, value] : counters) {
    if (is_histogram_key(key))
      continue;
    raw.Add({{"name", key}}).Increment(static_cast<double>(value));
    for (auto socket : kSockets) {
      std::string prefix = std::string(socket) + ".";
      if (!key.starts_with(prefix))
        continue;
      std::string_view rest = std::string_view(key).substr(prefix.size());
      if (rest.starts_with("received.")) {
        received.Add({{"socket", std::string(socket)}, {"type", std::string(rest.substr(9))}})
            .Increment(static_cast<double>(value));
      } else if (rest.starts_with("sent.")) {
        sent.Add({{"socket", std::string(socket)}, {"type", std::string(rest.substr(5))}})
            .Increment(static_cast<double>(value));
      } else if (rest.starts_with("malformed.")) {
        decode_errors.Add({{"socket", std::string(socket)}, {"type", std::string(rest.substr(10))}})
            .Increment(static_cast<double>(value));
      } else if (rest == "bad_envelope") {
        decode_errors.Add({{"socket", std::string(socket)}, {"type", "envelope"}})
            .Increment(static_cast<double>(value));
      }
    }
  }

  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace cube::gateway
