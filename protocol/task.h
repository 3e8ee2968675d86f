// The task model shared by broker, agent and client: what a user submits, what the broker stores
// and what an agent runs. Field names mirror the prior orchestrators' PascalCase JSON (see
// protocol/task_json.h); on the wire they are snake_case MessagePack keys (protocol/codec.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"

namespace cube {

// Numbers are the prior orchestrators' and are frozen on the wire and in JSON.
enum class TaskState : uint8_t {
  Pending = 0,
  Scheduled = 1,
  Running = 2,
  Completed = 3,
  Failed = 4,
};
inline constexpr int kTaskStateCount = 5;

// "Pending", "Scheduled", ... for tables and logs.
std::string_view task_state_name(TaskState state);
// Parses a wire/JSON integer; nullopt when outside 0..4.
std::optional<TaskState> task_state_from_int(int64_t value);
// Accepts "Pending"... (any case); nullopt otherwise.
std::optional<TaskState> task_state_from_name(std::string_view name);

// The architecture's transition table: Pending->Scheduled; Scheduled->{Scheduled, Running,
// Failed}; Running->{Running, Completed, Failed, Scheduled}; Failed->Scheduled; Completed is
// terminal. Additionally Pending and Scheduled may go to Completed when a user stops the task
// (reason "stopped"); Running->Completed covers the same for running tasks.
bool is_valid_transition(TaskState from, TaskState to);

// True for Completed and Failed: nothing runs and nothing is owed.
inline bool is_terminal(TaskState s) {
  return s == TaskState::Completed || s == TaskState::Failed;
}

inline constexpr std::string_view kDriverDocker = "docker";
inline constexpr std::string_view kDriverExec = "exec";
inline constexpr std::string_view kDriverSim = "sim";

// The driver a task runs with: its Driver field, or docker when empty. The one place that says
// what the default is; the broker stores every task with its driver resolved at submit, so
// the scheduler and the agents see it set (they still read it through this for tasks stored
// before that).
inline std::string_view effective_driver(std::string_view driver) {
  return driver.empty() ? kDriverDocker : driver;
}

struct PortBinding {
  std::string host_ip;
  std::string host_port;
  friend bool operator==(const PortBinding&, const PortBinding&) = default;
};

// One entry of a task's history: every state change is recorded with a timestamp.
struct TaskEvent {
  TaskState state = TaskState::Pending;
  int64_t timestamp_ms = 0;  // Unix epoch milliseconds
  std::string reason;
  std::string node;
  friend bool operator==(const TaskEvent&, const TaskEvent&) = default;
};

// What the user asks for: everything a submit may set. The broker keeps it as submitted (with
// the default driver resolved) and never changes it.
struct TaskSpec {
  std::string id;  // UUID; cube::Client chooses a UUIDv7 when the user gives none
  std::string name;
  std::string image;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "K=V"
  double cpu = 0;                // cores
  int64_t memory_bytes = 0;
  int64_t disk_bytes = 0;
  std::vector<std::string> exposed_ports;  // "80/tcp"
  std::string restart_policy;              // "", "no", "on-failure", "always"
  std::string health_check;                // HTTP path, e.g. "/health"
  std::string driver;                      // "docker" (default), "exec", "sim"
  std::vector<std::string> constraints;    // "key=value" matched against node labels
  std::map<std::string, std::string> labels;
  int64_t duration_ms = 0;  // sim driver: how long the task "runs"; 0 = until stopped
  // Health check settings (agent/health_check.h); 0 = the agent's default (--health-interval,
  // --health-timeout, --health-retries). Only used when health_check is set.
  int64_t health_interval_ms = 0;  // time between probes; also the grace before the first
  int64_t health_timeout_ms = 0;   // a probe not answered within this fails
  int32_t health_retries = 0;      // consecutive failed probes that fail the task

  friend bool operator==(const TaskSpec&, const TaskSpec&) = default;
};

// What happened to the task: written by the broker (TaskLifecycle) from its own decisions and
// the agents' reports; a submit's values here are ignored.
struct TaskStatus {
  TaskState state = TaskState::Pending;
  // Desired state: Running, or Completed once the user asked to stop the task.
  TaskState desired_state = TaskState::Running;
  uint32_t attempt = 0;  // bumped on every (re)placement; ASSIGN/ACCEPT/events carry it
  int32_t restart_count = 0;
  // A service's replica (protocol/service.h; set by the broker when it makes the task, never
  // changed): the service's name, the task's slot 1..N and the service's template_version it
  // was made from. "" and 0 for a task submitted on its own. (The slot sits up here, in what
  // would be padding: the broker holds a Task for every task it knows, 8 bytes less each.)
  uint32_t slot = 0;
  std::string node_id;  // agent ID the current attempt is placed on
  std::string node;     // that agent's name, for display
  std::string reason;   // why it is in its state ("stopped", "node lost", "no node has ...")
  std::optional<int32_t> exit_code;
  std::string container_id;
  std::map<std::string, std::vector<PortBinding>> port_bindings;
  int64_t start_time_ms = 0;
  int64_t finish_time_ms = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::string service;           // see slot
  uint64_t service_version = 0;  // see slot

  friend bool operator==(const TaskStatus&, const TaskStatus&) = default;
};

// A task as the broker stores it and the wire carries it (one flat map: protocol/wire_fields.h
// lists which key belongs to which part). Its fields read as task.image or task.state; the
// spec alone is `static_cast<const TaskSpec&>(task)`.
struct Task : TaskSpec, TaskStatus {
  friend bool operator==(const Task&, const Task&) = default;
};

// What an agent knows and reports about one task attempt (in HELLO, SNAPSHOT and TASK_STATE).
// Gives `task` a UUIDv7 made at `wall` when it has no ID and is not a stop by State 3 (which
// names the task it stops). The ID is chosen before the first send and every retry carries it,
// so a retry whose first try was stored (reply lost, broker restarted) is a no-op at the broker
// instead of a second task. cube::Client's submits do this; a caller that must name the IDs even
// when the broker does not answer (the HTTP gateway's 503, cube-client's report) calls it first.
void choose_task_id(Task& task, SystemTime wall);

struct AttemptStatus {
  std::string task_id;
  uint32_t attempt = 0;
  TaskState state = TaskState::Running;
  std::optional<int32_t> exit_code;
  std::string reason;
  std::string container_id;
  std::map<std::string, std::vector<PortBinding>> port_bindings;
  int64_t start_time_ms = 0;
  int64_t finish_time_ms = 0;
  friend bool operator==(const AttemptStatus&, const AttemptStatus&) = default;
};

}  // namespace cube
