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

// `list`: ID, NAME, STATE, NODE, AGE, plus REASON (shortened) when a Pending or Failed task has
// one. `wide` adds IMAGE, DRIVER, CPU, MEMORY, RESTARTS, PORTS and shows every reason in full.
std::string render_task_table(const std::vector<Task>& tasks, SystemTime now, bool wide);

// `get`: the task's fields (only those that are set), ports, exit code, reason and its event
// history in local time.
std::string render_task_details(const TaskDetails& details, SystemTime now);

// `nodes`: NAME, ID (first 8 characters), STATE, SLOTS (running/total), CPU, MEMORY, LAST SEEN.
// `wide` adds the full ID, DRIVERS, DISK, VERSION and LABELS.
std::string render_node_table(const std::vector<protocol::NodeInfo>& nodes, SystemTime now,
                              bool wide);

// `status`: address, version, epoch, uptime, nodes ready/total, tasks by state, counters.
std::string render_broker_status(const protocol::BrokerStatus& status, const std::string& address,
                                 SystemTime now);

// "2025-11-26 00:48:55" in the local time zone; with_millis adds ".123". "-" for 0.
std::string format_local_time(int64_t unix_ms, bool with_millis = false);

// "5m" since `unix_ms`; "-" for 0 (never happened).
std::string format_age_since(int64_t unix_ms, SystemTime now);

// "0.5", "2", "1.25": cores without trailing zeros.
std::string format_cpu(double cores);

// "80/tcp -> 0.0.0.0:32768" per binding, or the bare port when it is not published yet.
std::vector<std::string> format_ports(const Task& task);

}  // namespace cube
