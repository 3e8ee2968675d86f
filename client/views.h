// The human views of cube-client: task tables, the detail view of one task, node tables and the
// broker status. Pure functions from values to text, so tests can pin the output; `now` is the
// wall time ages are measured from (Clock::wall()). JSON output does not live here: it is
// protocol/task_json.h, shared with the HTTP gateway.
//
// Thread-safety: pure functions, except that local times read the process's time zone (TZ).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/client.h"
#include "common/clock.h"
#include "protocol/messages.h"
#include "protocol/task.h"

namespace cube {

// `list`: ID, NAME, STATE, NODE, AGE (then SERVICE and SLOT when a listed task is a service's
// replica), plus REASON (shortened) when a Pending or Failed task has
// one. `wide` adds IMAGE, DRIVER, CPU, MEMORY, RESTARTS, PORTS and shows every reason in full.
std::string render_task_table(const std::vector<Task>& tasks, SystemTime now, bool wide);

// `service ls`: NAME, REPLICAS (running of the current template / desired), IMAGE (or the
// command), VERSION, UPDATE ("-": rolling updates are not done yet).
std::string render_service_table(const std::vector<protocol::ServiceInfo>& services);
// A service's rollout in a few words: "-" before the first update, else "updating",
// "update paused: web.2 failed: ...", "rolled back: ..." and so on.
std::string update_summary(const Service& service);

// `service ps`: SLOT, NAME, ID, STATE, DESIRED, NODE, VERSION (the template version the task
// was made from), AGE, REASON; one row per task made for the service, by slot.
std::string render_service_tasks(const std::vector<Task>& tasks, SystemTime now);

// `service inspect`: the service's fields and update policy, then its tasks as
// render_service_tasks.
std::string render_service_details(const ServiceDetails& details, SystemTime now);

// `get`: the task's fields (only those that are set), ports, exit code, reason, its latest
// CPU and memory use when known ("Usage:  0.25 CPU, 48 MiB (3s ago)") and its event history in
// local time.
std::string render_task_details(const TaskDetails& details, SystemTime now);

// `nodes`: NAME, ID (first 8 characters), STATE, TASKS (running/slots), CPU (busy/total cores),
// MEMORY and DISK (used/total, human sizes), LOAD (1, 5 and 15 minutes), LABELS, LAST SEEN.
// CPU, MEMORY, DISK and LOAD are the host's live figures from the agent's latest NODE_STATS
// ("-" before the first). `wide` adds the full ID, DRIVERS, CAPACITY (what the scheduler places
// against: declared or detected), ALLOCATED (what the broker placed there) and VERSION.
std::string render_node_table(const std::vector<protocol::NodeInfo>& nodes, SystemTime now,
                              bool wide);

// `nodes NAME`: one agent's fields (state, drivers, labels, last seen, slots, capacity against
// allocation, the host's live CPU, memory, disk and load) and then the tasks whose current
// attempt is on it, as `list` shows them.
std::string render_node_details(const protocol::NodeInfo& node, const std::vector<Task>& tasks,
                                SystemTime now);

// `status`: a short summary: address and role (leader, standbys), version, uptime, store,
// scheduler policy, nodes by state, tasks by state, p99 of placement and store commit times,
// connections refused by the key allowlists, epoch. `with_counters` appends every raw counter
// (`status --counters`).
std::string render_broker_status(const protocol::BrokerStatus& status, const std::string& address,
                                 SystemTime now, bool with_counters = false);

// "2025-11-26 00:48:55" in the local time zone; with_millis adds ".123". "-" for 0.
std::string format_local_time(int64_t unix_ms, bool with_millis = false);

// "5m" since `unix_ms`; "-" for 0 (never happened).
std::string format_age_since(int64_t unix_ms, SystemTime now);

// "0.5", "2", "1.25": cores without trailing zeros.
std::string format_cpu(double cores);

// "0.52 0.48 0.4": load averages, two decimals at most.
std::string format_load(double one, double five, double fifteen);

// "1.5 CPU, 3 GiB, 100 GiB" for CPU, memory and disk; a dimension of 0 shows as "-" (not
// declared, or nothing allocated).
std::string format_resources(double cpu, int64_t memory_bytes, int64_t disk_bytes);

// "80/tcp -> 0.0.0.0:32768" per binding, or the bare port when it is not published yet.
std::vector<std::string> format_ports(const Task& task);

}  // namespace cube
