// The prior orchestrators' task JSON (go-cube, orc, Birdman...): PascalCase fields, numeric
// State, accepted bare or wrapped as their TaskEvent {ID, State, Timestamp, Task}. The CLI
// (`submit -f`, `-o json`) and the HTTP gateway both go through here, so a body means the same
// thing on either path.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"
#include "protocol/messages.h"
#include "protocol/task.h"

namespace cube {

// Parses a submission. Accepts a bare task or a TaskEvent wrapper; a submitted State is the
// desired state (3 Completed = stop the task with that ID, anything else = run it), stored in
// Task::desired_state. Errors (Invalid), each naming what to fix:
//   - text that is not JSON: the byte offset and the parser's message
//   - an unknown field: its name (`unknown field "Imagee"`)
//   - a known field of the wrong type: `field "Memory": expected a number`
// Fields the prior orchestrators emit and users send back (HostPorts, StartsAt, FinishedAt,
// CreatedAt, UpdatedAt, ContainerID, StartTime, FinishTime, ...) are accepted and ignored.
// Sizes may be numbers of bytes or strings such as "512MiB". Does not validate semantics: see
// validate_task_spec.
Result<Task> task_from_json_text(std::string_view text);
Result<Task> task_from_json(const nlohmann::json& body);

// A task as the prior orchestrators print it: PascalCase, numeric State, RFC 3339 times
// (StartTime/FinishTime), PortBindings in Docker's shape, plus Cube's own fields.
nlohmann::json task_to_json(const Task& task);
nlohmann::json task_event_to_json(const TaskEvent& event);
// Numbers in bytes and cores: ID, Name, State, Slots, Running, FreeSlots, CPU, Memory, Disk
// (the declared capacity), Allocated {CPU, Memory, Disk, Tasks} (what the broker placed there)
// and Stats (node_usage_to_json; null before the agent's first NODE_STATS).
nlohmann::json node_to_json(const protocol::NodeInfo& node);
// A node's live usage: SampledAt (RFC 3339), CPUUsed/CPUTotal (cores), MemoryUsed/MemoryTotal,
// DiskUsed/DiskTotal (bytes), Load1/Load5/Load15, Running.
nlohmann::json node_usage_to_json(const protocol::NodeUsage& usage);
// A task's live usage: SampledAt, Attempt, CPUUsed (cores), Memory (bytes).
nlohmann::json task_stats_to_json(const protocol::TaskStats& stats);

// "2025-11-23T10:00:00.123Z" from Unix milliseconds; "" for 0.
std::string format_rfc3339(int64_t unix_ms);

}  // namespace cube
