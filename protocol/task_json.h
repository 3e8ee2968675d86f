// The prior orchestrators' task JSON (go-cube, orc, Birdman...): PascalCase fields, numeric
// State, accepted bare or wrapped as their TaskEvent {ID, State, Timestamp, Task}. The CLI
// (`submit -f`, `-o json`) and the HTTP gateway both go through here, so a body means the same
// thing on either path.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

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

// The tasks of a file or request body that may hold several.
struct TaskList {
  enum class Form {
    Single,  // one task or TaskEvent
    Array,   // a JSON array of them
    Lines,   // one per line (NDJSON)
  };
  Form form = Form::Single;
  std::vector<Task> tasks;
  std::vector<size_t> lines;  // Lines: the line (from 1) of each task; empty otherwise

  // Where task `index` is, for messages: "task #3" (Array: its index, from 0, as jq's .[3]),
  // "line 7" (Lines), "the task" (Single).
  std::string where(size_t index) const;
};

// Parses a submission of one task or several: a task or TaskEvent (Form::Single, exactly as
// task_from_json_text), a JSON array of them (Array; it may be empty), or one per line (Lines:
// NDJSON, recognised by a first non-blank line that is a JSON value on its own followed by more;
// blank lines are skipped, "\r\n" endings accepted). Errors (Invalid) are task_from_json_text's,
// prefixed with where the item is: `task #3: field "Memory": expected a number`, `line 7: body
// is not valid JSON: ...`. Text that is none of these gets the error of parsing it as one task
// (with the byte where it breaks).
Result<TaskList> tasks_from_json_text(std::string_view text);

// A task as the prior orchestrators print it: PascalCase, numeric State, RFC 3339 times
// (StartTime/FinishTime), PortBindings in Docker's shape, plus Cube's own fields.
nlohmann::json task_to_json(const Task& task);
// Only what a user sets (the TaskSpec fields: ID, Name, Image, Cmd...), in task_to_json's shape:
// a task as it was submitted, with nothing about its state.
nlohmann::json task_spec_to_json(const TaskSpec& spec);
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

// A duration field: milliseconds as a number, or a string such as "500ms" or "10s" (null keeps
// `out`). Invalid naming `field` otherwise. Shared by the task and service JSON.
Status read_duration_ms(std::string_view field, const nlohmann::json& v, int64_t& out);

// "2025-11-23T10:00:00.123Z" from Unix milliseconds; "" for 0.
std::string format_rfc3339(int64_t unix_ms);

}  // namespace cube
