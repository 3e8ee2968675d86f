// The field tables: every CUBE1 struct's MessagePack keys, written once, in wire order. The
// codec (protocol/codec.cpp) encodes and decodes every struct from its table; the task JSON
// (protocol/task_json.cpp) reads and writes a Task from the same table's JSON columns; the
// memory store's compact form (encode_task_compact) drops the fields that hold their default.
// Adding a field to a struct means adding one line here (at the end of its table: keys are
// frozen and messages only grow), and the golden file of each message that carries it.
//
// A table is what wire_fields(static_cast<const S*>(nullptr)) returns: a tuple of field
// descriptors, each naming the key and the member. The pointer argument only picks the
// overload; nothing is dereferenced.
//
// Thread-safety: constants.
#pragma once

#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "protocol/messages.h"
#include "protocol/task.h"

namespace cube::protocol {

// One member of S under a MessagePack key. A field added to a struct after its first release
// is written only when it holds a value (`omitted_when_default`), so that peers which do not set
// it keep sending the very bytes they always sent (and the golden files stay as they are).
template <typename S, typename T>
struct Field {
  std::string_view key;
  T S::*member;
  bool omitted_when_default = false;
};

// A string member that travels as MessagePack bin (bytes that need not be UTF-8: log data).
template <typename S>
struct BinField {
  std::string_view key;
  std::string S::*member;
};

template <typename S, typename T>
constexpr Field<S, T> field(std::string_view key, T S::*member) {
  return {key, member, false};
}

// A field added after the struct's first release: written only when not the default.
template <typename S, typename T>
constexpr Field<S, T> later_field(std::string_view key, T S::*member) {
  return {key, member, true};
}

// --- Task: the wire key and the prior orchestrators' JSON for each field ---

// Which part of the task a field is in (protocol/task.h): the user's TaskSpec (read from
// submitted JSON) or Cube's TaskStatus (printed in JSON, and accepted but ignored on input so
// that the output of `get -o json` can be submitted again). Follows from the member's struct.
enum class FieldRole : uint8_t { Spec, Status };

// How a Task field looks in JSON.
enum class JsonForm : uint8_t {
  Text,      // a string
  TextList,  // an array of strings
  Cores,     // a number of CPU cores
  Size,      // bytes as a number, or a string such as "512MiB"
  Ports,     // {"80/tcp": {}} (an array of port strings is accepted too)
  Duration,  // milliseconds as a number, or a string such as "10s"
  Count,     // a whole number 0..2^31-1
  Labels,    // an object of strings
  State,     // 0..4 (a state's name is accepted on input)
  Number,    // a number, output only
  ExitCode,  // a number, or null when the attempt has not ended
  Time,      // RFC 3339 from Unix milliseconds ("" for 0), output only
  Bindings,  // Docker's {"80/tcp": [{"HostIp": "", "HostPort": "32768"}]}, output only
};

template <typename T>
struct TaskField {
  std::string_view key;
  T Task::*member;
  std::string_view json;  // PascalCase name in the prior orchestrators' task JSON
  FieldRole role;
  JsonForm form;
  bool json_omits_default = false;  // printed only when set (Cube's own optional settings)
  // Added after the task map grew its health fields: written only when set (protocol/codec.cpp
  // is_written), so a task that is no service's replica keeps the bytes it always had.
  bool omitted_when_default = false;
};

// `member` is a member of TaskSpec or TaskStatus; the role follows from which.
template <typename Part, typename T>
constexpr TaskField<T> task_field(std::string_view key, T Part::*member, std::string_view json,
                                  JsonForm form, bool json_omits_default = false,
                                  bool omitted_when_default = false) {
  static_assert(std::is_same_v<Part, TaskSpec> || std::is_same_v<Part, TaskStatus>);
  FieldRole role = std::is_same_v<Part, TaskSpec> ? FieldRole::Spec : FieldRole::Status;
  return {key,
          static_cast<T Task::*>(member),
          json,
          role,
          form,
          json_omits_default,
          omitted_when_default};
}

constexpr auto wire_fields(const Task*) {
  using J = JsonForm;
  return std::make_tuple(
      task_field("id", &Task::id, "ID", J::Text), task_field("name", &Task::name, "Name", J::Text),
      task_field("image", &Task::image, "Image", J::Text),
      task_field("cmd", &Task::cmd, "Cmd", J::TextList),
      task_field("env", &Task::env, "Env", J::TextList),
      task_field("cpu", &Task::cpu, "CPU", J::Cores),
      task_field("memory_bytes", &Task::memory_bytes, "Memory", J::Size),
      task_field("disk_bytes", &Task::disk_bytes, "Disk", J::Size),
      task_field("exposed_ports", &Task::exposed_ports, "ExposedPorts", J::Ports),
      task_field("restart_policy", &Task::restart_policy, "RestartPolicy", J::Text),
      task_field("health_check", &Task::health_check, "HealthCheck", J::Text),
      task_field("driver", &Task::driver, "Driver", J::Text),
      task_field("constraints", &Task::constraints, "Constraints", J::TextList),
      task_field("labels", &Task::labels, "Labels", J::Labels),
      task_field("duration_ms", &Task::duration_ms, "Duration", J::Duration, true),
      task_field("state", &Task::state, "State", J::State),
      task_field("desired_state", &Task::desired_state, "DesiredState", J::State),
      task_field("attempt", &Task::attempt, "Attempt", J::Number),
      task_field("restart_count", &Task::restart_count, "RestartCount", J::Number),
      task_field("node_id", &Task::node_id, "NodeID", J::Text),
      task_field("node", &Task::node, "Node", J::Text),
      task_field("reason", &Task::reason, "Reason", J::Text),
      task_field("exit_code", &Task::exit_code, "ExitCode", J::ExitCode),
      task_field("container_id", &Task::container_id, "ContainerID", J::Text),
      task_field("port_bindings", &Task::port_bindings, "PortBindings", J::Bindings),
      task_field("start_time_ms", &Task::start_time_ms, "StartTime", J::Time),
      task_field("finish_time_ms", &Task::finish_time_ms, "FinishTime", J::Time),
      task_field("created_ms", &Task::created_ms, "CreatedAt", J::Time),
      task_field("updated_ms", &Task::updated_ms, "UpdatedAt", J::Time),
      // Added after the first release: a decoder that misses them reads 0, the agent's default.
      task_field("health_interval_ms", &Task::health_interval_ms, "HealthCheckInterval",
                 J::Duration, true),
      task_field("health_timeout_ms", &Task::health_timeout_ms, "HealthCheckTimeout", J::Duration,
                 true),
      task_field("health_retries", &Task::health_retries, "HealthCheckRetries", J::Count, true),
      // A service's replica (protocol/service.h): written and printed only when set.
      task_field("service", &Task::service, "Service", J::Text, true, true),
      task_field("slot", &Task::slot, "Slot", J::Number, true, true),
      task_field("service_version", &Task::service_version, "ServiceVersion", J::Number, true,
                 true));
}

// JSON keys the prior orchestrators print and their users may send back that are no Task field
// of Cube's: accepted and ignored on input.
inline constexpr std::string_view kForeignJsonFields[] = {"HostPorts", "StartsAt", "FinishedAt",
                                                          "Events"};

// --- Everything else, one table per struct ---

constexpr auto wire_fields(const PortBinding*) {
  return std::make_tuple(field("host_ip", &PortBinding::host_ip),
                         field("host_port", &PortBinding::host_port));
}

constexpr auto wire_fields(const TaskEvent*) {
  return std::make_tuple(field("state", &TaskEvent::state),
                         field("timestamp_ms", &TaskEvent::timestamp_ms),
                         field("reason", &TaskEvent::reason), field("node", &TaskEvent::node));
}

constexpr auto wire_fields(const AttemptStatus*) {
  using S = AttemptStatus;
  return std::make_tuple(
      field("task_id", &S::task_id), field("attempt", &S::attempt), field("state", &S::state),
      field("exit_code", &S::exit_code), field("reason", &S::reason),
      field("container_id", &S::container_id), field("port_bindings", &S::port_bindings),
      field("start_time_ms", &S::start_time_ms), field("finish_time_ms", &S::finish_time_ms));
}

constexpr auto wire_fields(const Capacity*) {
  return std::make_tuple(
      field("cpu", &Capacity::cpu), field("memory_bytes", &Capacity::memory_bytes),
      field("disk_bytes", &Capacity::disk_bytes), field("slots", &Capacity::slots));
}

constexpr auto wire_fields(const NodeUsage*) {
  using S = NodeUsage;
  return std::make_tuple(
      field("sampled_ms", &S::sampled_ms), field("cpu_used", &S::cpu_used),
      field("cpu_total", &S::cpu_total), field("memory_used_bytes", &S::memory_used_bytes),
      field("memory_total_bytes", &S::memory_total_bytes),
      field("disk_used_bytes", &S::disk_used_bytes),
      field("disk_total_bytes", &S::disk_total_bytes), field("load_1", &S::load_1),
      field("load_5", &S::load_5), field("load_15", &S::load_15), field("running", &S::running));
}

constexpr auto wire_fields(const TaskStats*) {
  using S = TaskStats;
  return std::make_tuple(field("task_id", &S::task_id), field("attempt", &S::attempt),
                         field("sampled_ms", &S::sampled_ms), field("cpu_used", &S::cpu_used),
                         field("memory_bytes", &S::memory_bytes));
}

constexpr auto wire_fields(const NodeInfo*) {
  using S = NodeInfo;
  return std::make_tuple(field("id", &S::id), field("name", &S::name), field("state", &S::state),
                         field("version", &S::version), field("drivers", &S::drivers),
                         field("capacity", &S::capacity), field("labels", &S::labels),
                         field("running", &S::running), field("free_slots", &S::free_slots),
                         field("last_seen_ms", &S::last_seen_ms), field("allocated", &S::allocated),
                         field("usage", &S::usage));
}

constexpr auto wire_fields(const BrokerStatus*) {
  using S = BrokerStatus;
  return std::make_tuple(
      field("version", &S::version), field("epoch", &S::epoch), field("started_ms", &S::started_ms),
      field("tasks_by_state", &S::tasks_by_state), field("nodes_ready", &S::nodes_ready),
      field("nodes_total", &S::nodes_total), field("counters", &S::counters),
      field("scheduler", &S::scheduler), later_field("role", &S::role),
      later_field("leader", &S::leader), later_field("standbys", &S::standbys),
      later_field("nodes_by_state", &S::nodes_by_state), later_field("store", &S::store));
}

constexpr auto wire_fields(const LogsChunk*) {
  return std::make_tuple(BinField<LogsChunk>{"data", &LogsChunk::data},
                         field("next_offset", &LogsChunk::next_offset),
                         field("eof", &LogsChunk::eof));
}

constexpr auto wire_fields(const Hello*) {
  using S = Hello;
  return std::make_tuple(
      field("agent_id", &S::agent_id), field("name", &S::name), field("version", &S::version),
      field("drivers", &S::drivers), field("capacity", &S::capacity), field("labels", &S::labels),
      field("seq", &S::seq), field("tasks", &S::tasks), later_field("features", &S::features));
}

constexpr auto wire_fields(const Welcome*) {
  using S = Welcome;
  return std::make_tuple(
      field("session_id", &S::session_id), field("broker_epoch", &S::broker_epoch),
      field("heartbeat_ms", &S::heartbeat_ms), later_field("features", &S::features));
}

constexpr auto wire_fields(const Credit*) {
  return std::make_tuple(field("session_id", &Credit::session_id),
                         field("free_slots", &Credit::free_slots));
}

constexpr auto wire_fields(const Assign*) {
  return std::make_tuple(field("task", &Assign::task));
}

constexpr auto wire_fields(const Accept*) {
  return std::make_tuple(field("session_id", &Accept::session_id),
                         field("task_id", &Accept::task_id), field("attempt", &Accept::attempt));
}

constexpr auto wire_fields(const Reject*) {
  return std::make_tuple(field("session_id", &Reject::session_id),
                         field("task_id", &Reject::task_id), field("attempt", &Reject::attempt),
                         field("reason", &Reject::reason));
}

constexpr auto wire_fields(const Stop*) {
  return std::make_tuple(field("task_id", &Stop::task_id), field("attempt", &Stop::attempt),
                         field("grace_ms", &Stop::grace_ms), field("reason", &Stop::reason));
}

constexpr auto wire_fields(const Sync*) {
  return std::make_tuple(field("reason", &Sync::reason));
}

constexpr auto wire_fields(const Snapshot*) {
  return std::make_tuple(field("session_id", &Snapshot::session_id), field("seq", &Snapshot::seq),
                         field("tasks", &Snapshot::tasks));
}

constexpr auto wire_fields(const ErrorMessage*) {
  return std::make_tuple(field("code", &ErrorMessage::code),
                         field("message", &ErrorMessage::message));
}

constexpr auto wire_fields(const LogsFetch*) {
  using S = LogsFetch;
  return std::make_tuple(field("fetch_id", &S::fetch_id), field("task_id", &S::task_id),
                         field("attempt", &S::attempt), field("offset", &S::offset),
                         field("max_bytes", &S::max_bytes), field("tail_lines", &S::tail_lines));
}

constexpr auto wire_fields(const LogsData*) {
  using S = LogsData;
  return std::make_tuple(field("fetch_id", &S::fetch_id), BinField<S>{"data", &S::data},
                         field("next_offset", &S::next_offset), field("eof", &S::eof),
                         field("error_code", &S::error_code),
                         field("error_message", &S::error_message));
}

constexpr auto wire_fields(const AgentHeartbeat*) {
  using S = AgentHeartbeat;
  return std::make_tuple(field("agent_id", &S::agent_id), field("session_id", &S::session_id),
                         field("seq", &S::seq), field("running", &S::running),
                         field("free_slots", &S::free_slots));
}

constexpr auto wire_fields(const TaskStateEvent*) {
  using S = TaskStateEvent;
  return std::make_tuple(field("agent_id", &S::agent_id), field("session_id", &S::session_id),
                         field("seq", &S::seq), field("status", &S::status));
}

constexpr auto wire_fields(const NodeStats*) {
  using S = NodeStats;
  return std::make_tuple(field("agent_id", &S::agent_id), field("session_id", &S::session_id),
                         field("seq", &S::seq), field("usage", &S::usage),
                         field("tasks", &S::tasks));
}

constexpr auto wire_fields(const Beacon*) {
  return std::make_tuple(field("broker_epoch", &Beacon::broker_epoch),
                         field("heartbeat_ms", &Beacon::heartbeat_ms));
}

constexpr auto wire_fields(const SubmitRequest*) {
  return std::make_tuple(field("request_id", &SubmitRequest::request_id),
                         field("task", &SubmitRequest::task));
}

constexpr auto wire_fields(const ListRequest*) {
  return std::make_tuple(field("request_id", &ListRequest::request_id));
}

constexpr auto wire_fields(const GetRequest*) {
  return std::make_tuple(field("request_id", &GetRequest::request_id),
                         field("task_id", &GetRequest::task_id));
}

constexpr auto wire_fields(const StopRequest*) {
  return std::make_tuple(field("request_id", &StopRequest::request_id),
                         field("task_id", &StopRequest::task_id));
}

constexpr auto wire_fields(const NodesRequest*) {
  return std::make_tuple(field("request_id", &NodesRequest::request_id));
}

constexpr auto wire_fields(const StatusRequest*) {
  return std::make_tuple(field("request_id", &StatusRequest::request_id));
}

constexpr auto wire_fields(const LogsRequest*) {
  using S = LogsRequest;
  return std::make_tuple(field("request_id", &S::request_id), field("task_id", &S::task_id),
                         field("offset", &S::offset), field("max_bytes", &S::max_bytes),
                         field("tail_lines", &S::tail_lines));
}

// Reply's error is one Status in the struct but two keys on the wire ("error_code",
// "error_message", after "request_id"), so that a successful reply stays small; the codec
// writes those two itself (protocol/codec.cpp) around this table.
constexpr auto wire_fields(const Reply*) {
  using S = Reply;
  return std::make_tuple(
      field("task", &S::task), field("events", &S::events), field("tasks", &S::tasks),
      field("nodes", &S::nodes), field("broker", &S::broker), field("logs", &S::logs),
      field("task_stats", &S::task_stats), later_field("submitted", &S::submitted),
      later_field("services", &S::services), later_field("feed", &S::feed),
      later_field("next_index", &S::next_index));
}

constexpr auto wire_fields(const EventFilter*) {
  using S = EventFilter;
  return std::make_tuple(field("task", &S::task), field("node", &S::node), field("type", &S::type),
                         field("service", &S::service));
}

constexpr auto wire_fields(const EventsRequest*) {
  using S = EventsRequest;
  return std::make_tuple(field("request_id", &S::request_id), field("since", &S::since),
                         field("filter", &S::filter), field("wait_ms", &S::wait_ms),
                         field("max", &S::max));
}

constexpr auto wire_fields(const FeedEvent*) {
  using S = FeedEvent;
  return std::make_tuple(field("index", &S::index), field("type", &S::type),
                         field("time_ms", &S::time_ms), field("id", &S::id),
                         field("name", &S::name), field("state", &S::state),
                         field("previous_state", &S::previous_state), field("node", &S::node),
                         field("reason", &S::reason), field("service", &S::service),
                         field("slot", &S::slot), field("version", &S::version));
}

constexpr auto wire_fields(const SubmitOutcome*) {
  using S = SubmitOutcome;
  return std::make_tuple(field("task_id", &S::task_id), field("error_code", &S::error_code),
                         field("error_message", &S::error_message));
}

constexpr auto wire_fields(const AssignBatch*) {
  return std::make_tuple(field("tasks", &AssignBatch::tasks));
}

constexpr auto wire_fields(const AttemptRef*) {
  return std::make_tuple(field("task_id", &AttemptRef::task_id),
                         field("attempt", &AttemptRef::attempt));
}

constexpr auto wire_fields(const AcceptBatch*) {
  return std::make_tuple(field("session_id", &AcceptBatch::session_id),
                         field("attempts", &AcceptBatch::attempts));
}

constexpr auto wire_fields(const TaskStateBatch*) {
  using S = TaskStateBatch;
  return std::make_tuple(field("agent_id", &S::agent_id), field("session_id", &S::session_id),
                         field("seq", &S::seq), field("statuses", &S::statuses));
}

constexpr auto wire_fields(const SubmitBatchRequest*) {
  return std::make_tuple(field("request_id", &SubmitBatchRequest::request_id),
                         field("tasks", &SubmitBatchRequest::tasks));
}

constexpr auto wire_fields(const UpdatePolicy*) {
  using S = UpdatePolicy;
  return std::make_tuple(field("parallelism", &S::parallelism), field("delay_ms", &S::delay_ms),
                         field("failure_action", &S::failure_action),
                         field("monitor_ms", &S::monitor_ms), field("order", &S::order));
}

constexpr auto wire_fields(const Service*) {
  using S = Service;
  return std::make_tuple(
      field("name", &S::name), field("template", &S::task_template),
      field("replicas", &S::replicas), field("update", &S::update), field("version", &S::version),
      field("template_version", &S::template_version), field("created_ms", &S::created_ms),
      field("updated_ms", &S::updated_ms), later_field("previous_template", &S::previous_template),
      later_field("previous_template_version", &S::previous_template_version),
      later_field("update_state", &S::update_state),
      later_field("update_message", &S::update_message),
      later_field("update_started_ms", &S::update_started_ms),
      later_field("update_completed_ms", &S::update_completed_ms));
}

constexpr auto wire_fields(const ServiceInfo*) {
  using S = ServiceInfo;
  return std::make_tuple(field("service", &S::service), field("running", &S::running),
                         field("tasks", &S::tasks));
}

constexpr auto wire_fields(const ServiceCreateRequest*) {
  return std::make_tuple(field("request_id", &ServiceCreateRequest::request_id),
                         field("service", &ServiceCreateRequest::service));
}

constexpr auto wire_fields(const ServiceListRequest*) {
  return std::make_tuple(field("request_id", &ServiceListRequest::request_id));
}

constexpr auto wire_fields(const ServiceInspectRequest*) {
  return std::make_tuple(field("request_id", &ServiceInspectRequest::request_id),
                         field("name", &ServiceInspectRequest::name));
}

constexpr auto wire_fields(const ServiceScaleRequest*) {
  using S = ServiceScaleRequest;
  return std::make_tuple(field("request_id", &S::request_id), field("name", &S::name),
                         field("replicas", &S::replicas));
}

constexpr auto wire_fields(const ServiceUpdateRequest*) {
  using S = ServiceUpdateRequest;
  return std::make_tuple(field("request_id", &S::request_id), field("service", &S::service),
                         field("expected_version", &S::expected_version));
}

constexpr auto wire_fields(const ServiceRollbackRequest*) {
  return std::make_tuple(field("request_id", &ServiceRollbackRequest::request_id),
                         field("name", &ServiceRollbackRequest::name));
}

constexpr auto wire_fields(const ServiceRestartRequest*) {
  return std::make_tuple(field("request_id", &ServiceRestartRequest::request_id),
                         field("name", &ServiceRestartRequest::name));
}

constexpr auto wire_fields(const ServiceRemoveRequest*) {
  return std::make_tuple(field("request_id", &ServiceRemoveRequest::request_id),
                         field("name", &ServiceRemoveRequest::name));
}

// Structs that have a table.
template <typename S>
concept HasWireFields = requires {
  wire_fields(static_cast<const S*>(nullptr));
};

// S's table as a constant: built once at compile time. (Calling wire_fields() where it is
// used builds the tuple at run time, dozens of descriptors per decoded map key.)
template <HasWireFields S>
inline constexpr auto kWireFields = wire_fields(static_cast<const S*>(nullptr));

// Calls fn(descriptor) for each field of S, in wire order.
template <HasWireFields S, typename Fn>
constexpr void for_each_field(Fn&& fn) {
  std::apply([&](const auto&... f) { (fn(f), ...); }, kWireFields<S>);
}

template <HasWireFields S>
inline constexpr uint32_t kFieldCount = std::tuple_size_v<decltype(kWireFields<S>)>;

}  // namespace cube::protocol
