// The gateway's GET /metrics: the broker's STATUS and NODES answers rendered in the Prometheus
// text exposition format (version 0.0.4) with prometheus-cpp. Nothing is cached: each scrape
// asks the broker, so the values are as fresh as the scrape.
//
//   cube_broker_info{version,epoch} 1            cube_broker_start_time_seconds
//   cube_tasks{state}                            tasks by state (Pending..Failed)
//   cube_nodes{state}                            agents by state (ready, suspect, lost)
//   cube_node_slots{kind="total"|"free"}         slots over all agents
//   cube_task_submits_total                      accepted new tasks (client.submits)
//   cube_task_submit_duplicates_total            submits of an existing ID
//   cube_task_stops_total                        stop requests
//   cube_task_placements_total                   ASSIGNs sent (tasks.placed)
//   cube_nodes_lost_total                        agents declared lost
//   cube_scheduling_latency_seconds              histogram: submit -> first ASSIGN
//   cube_store_commits_total, cube_store_commit_failures_total
//   cube_store_commit_duration_seconds           histogram: one group commit
//   cube_messages_received_total{socket,type}    per broker socket and message type
//   cube_decode_errors_total{socket,type}        malformed bodies per type; type="envelope" for
//                                                frames that are not CUBE1 at all
//   cube_broker_counter_total{name}              every broker counter as STATUS names it
//
// Thread-safety: pure (builds a private registry per call).
#pragma once

#include <string>
#include <vector>

#include "protocol/messages.h"

namespace cube::gateway {

// The Content-Type of the text format.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string render_metrics(const protocol::BrokerStatus& status,
                           const std::vector<protocol::NodeInfo>& nodes);

}  // namespace cube::gateway
