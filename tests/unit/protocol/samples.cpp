#include "tests/unit/protocol/samples.h"

#include <cctype>
#include <cstdint>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "protocol/codec.h"

namespace cube::test {
namespace {

// 2025-11-23T10:00:00Z, the go-cube README's timestamp, in Unix milliseconds.
constexpr int64_t kT0 = 1763892000000;

const char* const kTaskId = "0192f3a4-5b6c-7d8e-9f01-23456789abcd";
const char* const kAgentId = "a3c1e6f0-2b4d-4e8a-9c7f-0d1e2f3a4b5c";
const char* const kSessionId = "5e551010-0000-4000-8000-00000000c0de";
const char* const kEpoch = "e90c0000-1111-4222-8333-444455556666";

}  // namespace

Task sample_task() {
  Task t;
  t.id = kTaskId;
  t.name = "web";
  t.image = "cube/busybox:latest";
  t.cmd = {"httpd", "-f", "-p", "8080"};
  t.env = {"MODE=production", "EMPTY="};
  t.cpu = 1.5;
  t.memory_bytes = 512ll << 20;
  t.disk_bytes = 1ll << 30;
  t.exposed_ports = {"8080/tcp", "53/udp"};
  t.restart_policy = "on-failure";
  t.health_check = "/health";
  t.health_interval_ms = 10000;
  t.health_timeout_ms = 2000;
  t.health_retries = 3;
  t.driver = "docker";
  t.constraints = {"zone=eu-1"};
  t.labels = {{"team", "infra"}, {"tier", "front"}};
  t.duration_ms = 30000;
  t.state = TaskState::Failed;
  t.desired_state = TaskState::Completed;
  t.attempt = 3;
  t.restart_count = 2;
  t.node_id = kAgentId;
  t.node = "agent-1";
  t.reason = "exited with code 137";
  t.exit_code = 137;
  t.container_id = "4f1c2d3e4f5a6b7c";
  t.port_bindings = {{"8080/tcp", {{"0.0.0.0", "32768"}, {"::", "32769"}}}};
  t.start_time_ms = kT0;
  t.finish_time_ms = kT0 + 60500;
  t.created_ms = kT0 - 1000;
  t.updated_ms = kT0 + 60501;
  return t;
}

Task sample_task_no_exit() {
  Task t = sample_task();
  t.id = "0192f3a4-5b6c-7d8e-9f01-000000000002";
  t.name = "worker";
  t.state = TaskState::Running;
  t.desired_state = TaskState::Running;
  t.exit_code.reset();
  t.reason = "";
  t.port_bindings.clear();
  t.finish_time_ms = 0;
  return t;
}

AttemptStatus sample_status_exited() {
  AttemptStatus s;
  s.task_id = kTaskId;
  s.attempt = 3;
  s.state = TaskState::Completed;
  s.exit_code = 0;
  s.reason = "exited with code 0";
  s.container_id = "4f1c2d3e4f5a6b7c";
  s.port_bindings = {{"8080/tcp", {{"0.0.0.0", "32768"}}}};
  s.start_time_ms = kT0;
  s.finish_time_ms = kT0 + 5000;
  return s;
}

AttemptStatus sample_status_running() {
  AttemptStatus s;
  s.task_id = "0192f3a4-5b6c-7d8e-9f01-000000000002";
  s.attempt = 1;
  s.state = TaskState::Running;
  s.exit_code.reset();
  s.reason = "";
  s.container_id = "9a8b7c6d5e4f";
  s.start_time_ms = kT0 + 10;
  return s;
}

AttemptStatus sample_status_killed() {
  AttemptStatus s = sample_status_exited();
  s.task_id = "0192f3a4-5b6c-7d8e-9f01-000000000003";
  s.state = TaskState::Failed;
  s.exit_code = -15;
  s.reason = "killed by signal 15";
  return s;
}

NodeInfo sample_node() {
  NodeInfo n;
  n.id = kAgentId;
  n.name = "agent-1";
  n.state = "ready";
  n.version = "0.1.0";
  n.drivers = {"docker", "exec"};
  n.capacity = {2.0, 4ll << 30, 100ll << 30, 8};
  n.labels = {{"zone", "eu-1"}};
  n.running = 3;
  n.free_slots = 5;
  n.last_seen_ms = kT0 + 999;
  n.allocated = {1.5, 1536ll << 20, 2ll << 30, 3};
  n.usage = sample_node_usage();
  return n;
}

NodeUsage sample_node_usage() {
  NodeUsage u;
  u.sampled_ms = kT0 + 500;
  u.cpu_used = 0.75;
  u.cpu_total = 2.0;
  u.memory_used_bytes = 1536ll << 20;
  u.memory_total_bytes = 4ll << 30;
  u.disk_used_bytes = 40ll << 30;
  u.disk_total_bytes = 100ll << 30;
  u.load_1 = 0.5;
  u.load_5 = 0.25;
  u.load_15 = 1.125;
  u.running = 3;
  return u;
}

TaskStats sample_task_stats() {
  TaskStats t;
  t.task_id = kTaskId;
  t.attempt = 3;
  t.sampled_ms = kT0 + 500;
  t.cpu_used = 0.25;
  t.memory_bytes = 48ll << 20;
  return t;
}

BrokerStatus sample_broker_status() {
  BrokerStatus b;
  b.version = "0.1.0";
  b.epoch = kEpoch;
  b.started_ms = kT0 - 3600000;
  b.tasks_by_state = {{"Pending", 1}, {"Running", 3}};
  b.nodes_ready = 1;
  b.nodes_total = 2;
  b.counters = {{"decode_errors", 4}, {"submits", 1234567}};
  b.scheduler = "binpack";
  return b;
}

template <>
Hello sample<Hello>() {
  Hello m;
  m.agent_id = kAgentId;
  m.name = "agent-1";
  m.version = "0.1.0";
  m.drivers = {"docker", "exec", "sim"};
  m.capacity = {2.0, 4ll << 30, 100ll << 30, 8};
  m.labels = {{"arch", "amd64"}, {"zone", "eu-1"}};
  m.seq = 41;
  m.tasks = {sample_status_exited(), sample_status_running()};
  return m;
}
template <>
std::string sample_description<Hello>() {
  return "agent-1 with 3 drivers, 2 cores, 4 GiB, 8 slots, two tasks (exit_code 0 and nil)";
}

template <>
Welcome sample<Welcome>() {
  return {kSessionId, kEpoch, 1000};
}
template <>
std::string sample_description<Welcome>() {
  return "a session with a 1 s heartbeat";
}

template <>
Credit sample<Credit>() {
  return {kSessionId, 5};
}
template <>
std::string sample_description<Credit>() {
  return "5 free slots";
}

template <>
Assign sample<Assign>() {
  return {sample_task()};
}
template <>
std::string sample_description<Assign>() {
  return "a task with every field set (failed, exit_code 137, port bindings)";
}

template <>
Accept sample<Accept>() {
  return {kSessionId, kTaskId, 3};
}
template <>
std::string sample_description<Accept>() {
  return "attempt 3 accepted";
}

template <>
Reject sample<Reject>() {
  return {kSessionId, kTaskId, 3, "no free slot"};
}
template <>
std::string sample_description<Reject>() {
  return "attempt 3 rejected: no free slot";
}

template <>
Stop sample<Stop>() {
  return {kTaskId, 3, 10000, "stopped"};
}
template <>
std::string sample_description<Stop>() {
  return "stop attempt 3 with a 10 s grace";
}

template <>
Sync sample<Sync>() {
  return {"gap in seq: expected 42, got 44"};
}
template <>
std::string sample_description<Sync>() {
  return "the broker missed events";
}

template <>
Snapshot sample<Snapshot>() {
  return {
      kSessionId, 44, {sample_status_exited(), sample_status_running(), sample_status_killed()}};
}
template <>
std::string sample_description<Snapshot>() {
  return "three tasks as of seq 44 (exit_code 0, nil and -15)";
}

template <>
ErrorMessage sample<ErrorMessage>() {
  return {ErrorCode::Unauthorized, "no session: send HELLO"};
}
template <>
std::string sample_description<ErrorMessage>() {
  return "unauthorized (5): no session";
}

template <>
LogsFetch sample<LogsFetch>() {
  return {0x1000000002a, kTaskId, 3, 4096, 65536, 20};
}
template <>
std::string sample_description<LogsFetch>() {
  return "fetch 0x1000000002a: 64 KiB of attempt 3 from byte 4096, last 20 lines";
}

template <>
LogsData sample<LogsData>() {
  // Not a realistic answer (an error with data), but it pins every key. The data is not UTF-8.
  return {0x1000000002a,
          std::string("hello from cube\n\xff\x00", 18),
          4114,
          true,
          ErrorCode::NotFound,
          "no task 0192f3a4 on this agent"};
}
template <>
std::string sample_description<LogsData>() {
  return "18 bytes (bin, not UTF-8), next offset 4114, eof, error not_found";
}

template <>
AssignBatch sample<AssignBatch>() {
  return {{sample_task(), sample_task_no_exit()}};
}
template <>
std::string sample_description<AssignBatch>() {
  return "two tasks placed in one pass (every field set)";
}

template <>
AcceptBatch sample<AcceptBatch>() {
  return {kSessionId, {{kTaskId, 3}, {"0192f3a4-5b6c-7d8e-9f01-000000000002", 1}}};
}
template <>
std::string sample_description<AcceptBatch>() {
  return "two attempts accepted in one iteration";
}

template <>
AgentHeartbeat sample<AgentHeartbeat>() {
  return {kAgentId, kSessionId, 44, 3, 5};
}
template <>
std::string sample_description<AgentHeartbeat>() {
  return "seq 44, 3 running, 5 free";
}

template <>
TaskStateEvent sample<TaskStateEvent>() {
  return {kAgentId, kSessionId, 45, sample_status_exited()};
}
template <>
std::string sample_description<TaskStateEvent>() {
  return "seq 45: the task completed with exit_code 0";
}

template <>
NodeStats sample<NodeStats>() {
  TaskStats second = sample_task_stats();
  second.task_id = "0192f3a4-5b6c-7d8e-9f01-000000000002";
  second.attempt = 1;
  second.cpu_used = 1.5;
  second.memory_bytes = 0;
  return {kAgentId, kSessionId, 45, sample_node_usage(), {sample_task_stats(), second}};
}
template <>
std::string sample_description<NodeStats>() {
  return "seq 45: 0.75 of 2 cores busy, 1.5 of 4 GiB memory, 40 of 100 GiB disk, two tasks";
}

template <>
TaskStateBatch sample<TaskStateBatch>() {
  return {kAgentId,
          kSessionId,
          47,
          {sample_status_running(), sample_status_exited(), sample_status_killed()}};
}
template <>
std::string sample_description<TaskStateBatch>() {
  return "seq 45..47: three changes of one iteration (exit_code nil, 0 and -15)";
}

template <>
Beacon sample<Beacon>() {
  return {kEpoch, 1000};
}
template <>
std::string sample_description<Beacon>() {
  return "broker epoch and 1 s heartbeat";
}

template <>
SubmitRequest sample<SubmitRequest>() {
  return {7, sample_task()};
}
template <>
std::string sample_description<SubmitRequest>() {
  return "request 7 submitting a task with every field set";
}

template <>
ListRequest sample<ListRequest>() {
  return {8};
}
template <>
std::string sample_description<ListRequest>() {
  return "request 8";
}

template <>
GetRequest sample<GetRequest>() {
  return {9, kTaskId};
}
template <>
std::string sample_description<GetRequest>() {
  return "request 9 for one task";
}

template <>
StopRequest sample<StopRequest>() {
  return {10, kTaskId};
}
template <>
std::string sample_description<StopRequest>() {
  return "request 10 to stop one task";
}

template <>
NodesRequest sample<NodesRequest>() {
  return {0x123456789a};
}
template <>
std::string sample_description<NodesRequest>() {
  return "request 0x123456789a (a 64-bit id)";
}

template <>
StatusRequest sample<StatusRequest>() {
  return {std::numeric_limits<uint64_t>::max()};
}
template <>
std::string sample_description<StatusRequest>() {
  return "request 2^64-1 (the largest id)";
}

template <>
LogsRequest sample<LogsRequest>() {
  return {11, kTaskId, 4096, 65536, 20};
}
template <>
std::string sample_description<LogsRequest>() {
  return "request 11: 64 KiB of a task's logs from byte 4096, last 20 lines";
}

template <>
SubmitBatchRequest sample<SubmitBatchRequest>() {
  return {13, {sample_task(), sample_task_no_exit()}};
}
template <>
std::string sample_description<SubmitBatchRequest>() {
  return "request 13 submitting two tasks";
}

Service sample_service() {
  Service s;
  s.name = "web";
  s.task_template = sample_task();
  s.replicas = 3;
  s.update = UpdatePolicy{2, 10000, "rollback", 30000, "start-first"};
  s.version = 4;
  s.template_version = 2;
  s.created_ms = kT0 - 5000;
  s.updated_ms = kT0;
  return s;
}

template <>
ServiceCreateRequest sample<ServiceCreateRequest>() {
  return {21, sample_service()};
}
template <>
std::string sample_description<ServiceCreateRequest>() {
  return "request 21 creating service web: 3 replicas, every update setting set";
}

template <>
ServiceListRequest sample<ServiceListRequest>() {
  return {22};
}
template <>
std::string sample_description<ServiceListRequest>() {
  return "request 22";
}

template <>
ServiceInspectRequest sample<ServiceInspectRequest>() {
  return {23, "web"};
}
template <>
std::string sample_description<ServiceInspectRequest>() {
  return "request 23 for service web";
}

template <>
ServiceScaleRequest sample<ServiceScaleRequest>() {
  return {24, "web", 5};
}
template <>
std::string sample_description<ServiceScaleRequest>() {
  return "request 24 scaling service web to 5 replicas";
}

template <>
ServiceRemoveRequest sample<ServiceRemoveRequest>() {
  return {25, "web"};
}
template <>
std::string sample_description<ServiceRemoveRequest>() {
  return "request 25 removing service web";
}

template <>
ServiceUpdateRequest sample<ServiceUpdateRequest>() {
  return {26, sample_service(), 4};
}
template <>
std::string sample_description<ServiceUpdateRequest>() {
  return "request 26 updating service web, expecting version 4";
}

template <>
ServiceRollbackRequest sample<ServiceRollbackRequest>() {
  return {27, "web"};
}
template <>
std::string sample_description<ServiceRollbackRequest>() {
  return "request 27 rolling back service web";
}

template <>
ServiceRestartRequest sample<ServiceRestartRequest>() {
  return {28, "web"};
}
template <>
std::string sample_description<ServiceRestartRequest>() {
  return "request 28 restarting service web";
}

template <>
EventsRequest sample<EventsRequest>() {
  return {29, 41, {"0192f3a4-task", "agent-1", "task", "web"}, 10000, 100};
}
template <>
std::string sample_description<EventsRequest>() {
  return "request 29: events after 41 of task 0192f3a4-task on agent-1 of service web, wait "
         "10 s, at most 100";
}

template <>
Reply sample<Reply>() {
  Reply r;
  r.request_id = 9;
  // Not a realistic reply (an error with a payload), but it pins every key.
  r.status = Status::not_found("task 0192f3a4 not found: list tasks with `cube-client list`");
  r.task = sample_task();
  r.events = {{TaskState::Pending, kT0 - 1000, "", ""},
              {TaskState::Scheduled, kT0 - 500, "placed", "agent-1"},
              {TaskState::Failed, kT0 + 60500, "exited with code 137", "agent-1"}};
  r.tasks = {sample_task(), sample_task_no_exit()};
  r.nodes = {sample_node()};
  r.broker = sample_broker_status();
  r.logs = LogsChunk{"hello from cube\n", 16, true};
  r.task_stats = sample_task_stats();
  return r;
}
template <>
std::string sample_description<Reply>() {
  return "every field set: error not_found, task, 3 events, 2 tasks, 1 node, broker status, "
         "logs, task stats";
}

Hello sample_hello_with_features() {
  Hello h = sample<Hello>();
  h.features = {"batches"};
  return h;
}

Welcome sample_welcome_with_features() {
  Welcome w = sample<Welcome>();
  w.features = {"batches"};
  return w;
}

Reply sample_reply_submit_batch() {
  Reply r;
  r.request_id = 13;
  r.submitted = {{kTaskId, ErrorCode::Ok, ""},
                 {"", ErrorCode::Invalid, "field \"Memory\": \"12XB\" is not a size"}};
  return r;
}

Reply sample_reply_services() {
  Reply r;
  r.request_id = 23;
  r.services = {ServiceInfo{sample_service(), 2, 3}};
  return r;
}

Reply sample_reply_events() {
  Reply r;
  r.request_id = 29;
  r.feed = {{42, "task", kT0, "0192f3a4-task", "web.1", "Running", "Scheduled", "agent-1", "",
             "web", 1, 0},
            {43, "node", kT0 + 5, "", "agent-2", "lost", "suspect", "", "", "", 0, 0},
            {44, "service", kT0 + 9, "", "web", "scaled", "", "", "2 -> 3", "", 0, 4}};
  r.next_index = 44;
  return r;
}

Assign sample_assign_replica() {
  Assign a{sample_task_no_exit()};
  a.task.name = "web.2";
  a.task.service = "web";
  a.task.slot = 2;
  a.task.service_version = 7;
  return a;
}

Reply sample_reply_error() {
  Reply r;
  r.request_id = 12;
  r.status = Status::invalid("field \"seq\": expected an unsigned integer, got a negative one");
  return r;
}

std::string golden_name(MessageType type) {
  std::string name = protocol::message_type_name(static_cast<uint8_t>(type));
  for (char& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// ---------------------------------------------------------------- field cases

namespace {

template <typename S>
using KeyResets = std::vector<std::pair<std::string, std::function<void(S&)>>>;

// The reset of one member: back to the value a default-constructed struct has, which is what a
// decoder keeps for a missing key.
#define CUBE_KEY(Struct, key, member)                  \
  {                                                    \
    key, [](Struct& s) { s.member = Struct{}.member; } \
  }

KeyResets<PortBinding> port_binding_keys() {
  return {CUBE_KEY(PortBinding, "host_ip", host_ip), CUBE_KEY(PortBinding, "host_port", host_port)};
}

KeyResets<Task> task_keys() {
  return {
      CUBE_KEY(Task, "id", id),
      CUBE_KEY(Task, "name", name),
      CUBE_KEY(Task, "image", image),
      CUBE_KEY(Task, "cmd", cmd),
      CUBE_KEY(Task, "env", env),
      CUBE_KEY(Task, "cpu", cpu),
      CUBE_KEY(Task, "memory_bytes", memory_bytes),
      CUBE_KEY(Task, "disk_bytes", disk_bytes),
      CUBE_KEY(Task, "exposed_ports", exposed_ports),
      CUBE_KEY(Task, "restart_policy", restart_policy),
      CUBE_KEY(Task, "health_check", health_check),
      CUBE_KEY(Task, "driver", driver),
      CUBE_KEY(Task, "constraints", constraints),
      CUBE_KEY(Task, "labels", labels),
      CUBE_KEY(Task, "duration_ms", duration_ms),
      CUBE_KEY(Task, "state", state),
      CUBE_KEY(Task, "desired_state", desired_state),
      CUBE_KEY(Task, "attempt", attempt),
      CUBE_KEY(Task, "restart_count", restart_count),
      CUBE_KEY(Task, "node_id", node_id),
      CUBE_KEY(Task, "node", node),
      CUBE_KEY(Task, "reason", reason),
      CUBE_KEY(Task, "exit_code", exit_code),
      CUBE_KEY(Task, "container_id", container_id),
      CUBE_KEY(Task, "port_bindings", port_bindings),
      CUBE_KEY(Task, "start_time_ms", start_time_ms),
      CUBE_KEY(Task, "finish_time_ms", finish_time_ms),
      CUBE_KEY(Task, "created_ms", created_ms),
      CUBE_KEY(Task, "updated_ms", updated_ms),
      CUBE_KEY(Task, "health_interval_ms", health_interval_ms),
      CUBE_KEY(Task, "health_timeout_ms", health_timeout_ms),
      CUBE_KEY(Task, "health_retries", health_retries),
  };
}

KeyResets<AttemptStatus> task_status_keys() {
  return {
      CUBE_KEY(AttemptStatus, "task_id", task_id),
      CUBE_KEY(AttemptStatus, "attempt", attempt),
      CUBE_KEY(AttemptStatus, "state", state),
      CUBE_KEY(AttemptStatus, "exit_code", exit_code),
      CUBE_KEY(AttemptStatus, "reason", reason),
      CUBE_KEY(AttemptStatus, "container_id", container_id),
      CUBE_KEY(AttemptStatus, "port_bindings", port_bindings),
      CUBE_KEY(AttemptStatus, "start_time_ms", start_time_ms),
      CUBE_KEY(AttemptStatus, "finish_time_ms", finish_time_ms),
  };
}

KeyResets<TaskEvent> task_event_keys() {
  return {
      CUBE_KEY(TaskEvent, "state", state),
      CUBE_KEY(TaskEvent, "timestamp_ms", timestamp_ms),
      CUBE_KEY(TaskEvent, "reason", reason),
      CUBE_KEY(TaskEvent, "node", node),
  };
}

KeyResets<Capacity> capacity_keys() {
  return {
      CUBE_KEY(Capacity, "cpu", cpu),
      CUBE_KEY(Capacity, "memory_bytes", memory_bytes),
      CUBE_KEY(Capacity, "disk_bytes", disk_bytes),
      CUBE_KEY(Capacity, "slots", slots),
  };
}

KeyResets<NodeInfo> node_keys() {
  return {
      CUBE_KEY(NodeInfo, "id", id),
      CUBE_KEY(NodeInfo, "name", name),
      CUBE_KEY(NodeInfo, "state", state),
      CUBE_KEY(NodeInfo, "version", version),
      CUBE_KEY(NodeInfo, "drivers", drivers),
      CUBE_KEY(NodeInfo, "capacity", capacity),
      CUBE_KEY(NodeInfo, "labels", labels),
      CUBE_KEY(NodeInfo, "running", running),
      CUBE_KEY(NodeInfo, "free_slots", free_slots),
      CUBE_KEY(NodeInfo, "last_seen_ms", last_seen_ms),
      CUBE_KEY(NodeInfo, "allocated", allocated),
      CUBE_KEY(NodeInfo, "usage", usage),
  };
}

KeyResets<NodeUsage> node_usage_keys() {
  return {
      CUBE_KEY(NodeUsage, "sampled_ms", sampled_ms),
      CUBE_KEY(NodeUsage, "cpu_used", cpu_used),
      CUBE_KEY(NodeUsage, "cpu_total", cpu_total),
      CUBE_KEY(NodeUsage, "memory_used_bytes", memory_used_bytes),
      CUBE_KEY(NodeUsage, "memory_total_bytes", memory_total_bytes),
      CUBE_KEY(NodeUsage, "disk_used_bytes", disk_used_bytes),
      CUBE_KEY(NodeUsage, "disk_total_bytes", disk_total_bytes),
      CUBE_KEY(NodeUsage, "load_1", load_1),
      CUBE_KEY(NodeUsage, "load_5", load_5),
      CUBE_KEY(NodeUsage, "load_15", load_15),
      CUBE_KEY(NodeUsage, "running", running),
  };
}

KeyResets<TaskStats> task_stats_keys() {
  return {
      CUBE_KEY(TaskStats, "task_id", task_id),           CUBE_KEY(TaskStats, "attempt", attempt),
      CUBE_KEY(TaskStats, "sampled_ms", sampled_ms),     CUBE_KEY(TaskStats, "cpu_used", cpu_used),
      CUBE_KEY(TaskStats, "memory_bytes", memory_bytes),
  };
}

KeyResets<LogsChunk> logs_chunk_keys() {
  return {
      CUBE_KEY(LogsChunk, "data", data),
      CUBE_KEY(LogsChunk, "next_offset", next_offset),
      CUBE_KEY(LogsChunk, "eof", eof),
  };
}

KeyResets<BrokerStatus> broker_status_keys() {
  return {
      CUBE_KEY(BrokerStatus, "version", version),
      CUBE_KEY(BrokerStatus, "epoch", epoch),
      CUBE_KEY(BrokerStatus, "started_ms", started_ms),
      CUBE_KEY(BrokerStatus, "tasks_by_state", tasks_by_state),
      CUBE_KEY(BrokerStatus, "nodes_ready", nodes_ready),
      CUBE_KEY(BrokerStatus, "nodes_total", nodes_total),
      CUBE_KEY(BrokerStatus, "counters", counters),
      CUBE_KEY(BrokerStatus, "scheduler", scheduler),
  };
}

// Adds the cases of a nested struct S found at `at` in M through `get`.
template <typename M, typename S>
void lift(std::vector<FieldCase<M>>& cases, const Path& at, std::function<S&(M&)> get,
          const KeyResets<S>& keys) {
  for (const auto& [key, reset] : keys) {
    cases.push_back({at, key, [get, reset = reset](M& m) { reset(get(m)); }});
  }
}

template <typename M>
std::vector<FieldCase<M>> top(const KeyResets<M>& keys) {
  std::vector<FieldCase<M>> cases;
  for (const auto& [key, reset] : keys)
    cases.push_back({Path{}, key, reset});
  return cases;
}

Path join(Path base, std::initializer_list<PathItem> more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

template <typename M>
void lift_task(std::vector<FieldCase<M>>& cases, const Path& at, std::function<Task&(M&)> get) {
  lift<M, Task>(cases, at, get, task_keys());
  lift<M, PortBinding>(
      cases, join(at, {std::string("port_bindings"), std::string("8080/tcp"), size_t{0}}),
      [get](M& m) -> PortBinding& { return get(m).port_bindings.at("8080/tcp").at(0); },
      port_binding_keys());
}

template <typename M>
void lift_status(std::vector<FieldCase<M>>& cases, const Path& at,
                 std::function<AttemptStatus&(M&)> get) {
  lift<M, AttemptStatus>(cases, at, get, task_status_keys());
  lift<M, PortBinding>(
      cases, join(at, {std::string("port_bindings"), std::string("8080/tcp"), size_t{0}}),
      [get](M& m) -> PortBinding& { return get(m).port_bindings.at("8080/tcp").at(0); },
      port_binding_keys());
}

}  // namespace

template <>
std::vector<FieldCase<Hello>> field_cases<Hello>() {
  auto c = top<Hello>({
      CUBE_KEY(Hello, "agent_id", agent_id),
      CUBE_KEY(Hello, "name", name),
      CUBE_KEY(Hello, "version", version),
      CUBE_KEY(Hello, "drivers", drivers),
      CUBE_KEY(Hello, "capacity", capacity),
      CUBE_KEY(Hello, "labels", labels),
      CUBE_KEY(Hello, "seq", seq),
      CUBE_KEY(Hello, "tasks", tasks),
  });
  lift<Hello, Capacity>(
      c, {std::string("capacity")}, [](Hello& m) -> Capacity& { return m.capacity; },
      capacity_keys());
  lift_status<Hello>(c, {std::string("tasks"), size_t{0}},
                     [](Hello& m) -> AttemptStatus& { return m.tasks.at(0); });
  return c;
}

template <>
std::vector<FieldCase<Welcome>> field_cases<Welcome>() {
  return top<Welcome>({CUBE_KEY(Welcome, "session_id", session_id),
                       CUBE_KEY(Welcome, "broker_epoch", broker_epoch),
                       CUBE_KEY(Welcome, "heartbeat_ms", heartbeat_ms)});
}

template <>
std::vector<FieldCase<Credit>> field_cases<Credit>() {
  return top<Credit>(
      {CUBE_KEY(Credit, "session_id", session_id), CUBE_KEY(Credit, "free_slots", free_slots)});
}

template <>
std::vector<FieldCase<Assign>> field_cases<Assign>() {
  auto c = top<Assign>({CUBE_KEY(Assign, "task", task)});
  lift_task<Assign>(c, {std::string("task")}, [](Assign& m) -> Task& { return m.task; });
  return c;
}

template <>
std::vector<FieldCase<Accept>> field_cases<Accept>() {
  return top<Accept>({CUBE_KEY(Accept, "session_id", session_id),
                      CUBE_KEY(Accept, "task_id", task_id), CUBE_KEY(Accept, "attempt", attempt)});
}

template <>
std::vector<FieldCase<Reject>> field_cases<Reject>() {
  return top<Reject>({CUBE_KEY(Reject, "session_id", session_id),
                      CUBE_KEY(Reject, "task_id", task_id), CUBE_KEY(Reject, "attempt", attempt),
                      CUBE_KEY(Reject, "reason", reason)});
}

template <>
std::vector<FieldCase<Stop>> field_cases<Stop>() {
  return top<Stop>({CUBE_KEY(Stop, "task_id", task_id), CUBE_KEY(Stop, "attempt", attempt),
                    CUBE_KEY(Stop, "grace_ms", grace_ms), CUBE_KEY(Stop, "reason", reason)});
}

template <>
std::vector<FieldCase<Sync>> field_cases<Sync>() {
  return top<Sync>({CUBE_KEY(Sync, "reason", reason)});
}

template <>
std::vector<FieldCase<Snapshot>> field_cases<Snapshot>() {
  auto c = top<Snapshot>({CUBE_KEY(Snapshot, "session_id", session_id),
                          CUBE_KEY(Snapshot, "seq", seq), CUBE_KEY(Snapshot, "tasks", tasks)});
  lift_status<Snapshot>(c, {std::string("tasks"), size_t{0}},
                        [](Snapshot& m) -> AttemptStatus& { return m.tasks.at(0); });
  return c;
}

template <>
std::vector<FieldCase<ErrorMessage>> field_cases<ErrorMessage>() {
  // A missing code decodes as the struct's default, Internal: never mistaken for success.
  return top<ErrorMessage>(
      {CUBE_KEY(ErrorMessage, "code", code), CUBE_KEY(ErrorMessage, "message", message)});
}

template <>
std::vector<FieldCase<AgentHeartbeat>> field_cases<AgentHeartbeat>() {
  return top<AgentHeartbeat>({CUBE_KEY(AgentHeartbeat, "agent_id", agent_id),
                              CUBE_KEY(AgentHeartbeat, "session_id", session_id),
                              CUBE_KEY(AgentHeartbeat, "seq", seq),
                              CUBE_KEY(AgentHeartbeat, "running", running),
                              CUBE_KEY(AgentHeartbeat, "free_slots", free_slots)});
}

template <>
std::vector<FieldCase<TaskStateEvent>> field_cases<TaskStateEvent>() {
  auto c = top<TaskStateEvent>({CUBE_KEY(TaskStateEvent, "agent_id", agent_id),
                                CUBE_KEY(TaskStateEvent, "session_id", session_id),
                                CUBE_KEY(TaskStateEvent, "seq", seq),
                                CUBE_KEY(TaskStateEvent, "status", status)});
  lift_status<TaskStateEvent>(c, {std::string("status")},
                              [](TaskStateEvent& m) -> AttemptStatus& { return m.status; });
  return c;
}

template <>
std::vector<FieldCase<LogsFetch>> field_cases<LogsFetch>() {
  return top<LogsFetch>({
      CUBE_KEY(LogsFetch, "fetch_id", fetch_id),
      CUBE_KEY(LogsFetch, "task_id", task_id),
      CUBE_KEY(LogsFetch, "attempt", attempt),
      CUBE_KEY(LogsFetch, "offset", offset),
      CUBE_KEY(LogsFetch, "max_bytes", max_bytes),
      CUBE_KEY(LogsFetch, "tail_lines", tail_lines),
  });
}

template <>
std::vector<FieldCase<LogsData>> field_cases<LogsData>() {
  return top<LogsData>({
      CUBE_KEY(LogsData, "fetch_id", fetch_id),
      CUBE_KEY(LogsData, "data", data),
      CUBE_KEY(LogsData, "next_offset", next_offset),
      CUBE_KEY(LogsData, "eof", eof),
      CUBE_KEY(LogsData, "error_code", error_code),
      CUBE_KEY(LogsData, "error_message", error_message),
  });
}

template <>
std::vector<FieldCase<NodeStats>> field_cases<NodeStats>() {
  auto c = top<NodeStats>({CUBE_KEY(NodeStats, "agent_id", agent_id),
                           CUBE_KEY(NodeStats, "session_id", session_id),
                           CUBE_KEY(NodeStats, "seq", seq), CUBE_KEY(NodeStats, "usage", usage),
                           CUBE_KEY(NodeStats, "tasks", tasks)});
  lift<NodeStats, NodeUsage>(
      c, {std::string("usage")}, [](NodeStats& m) -> NodeUsage& { return m.usage; },
      node_usage_keys());
  lift<NodeStats, TaskStats>(
      c, {std::string("tasks"), size_t{0}},
      [](NodeStats& m) -> TaskStats& { return m.tasks.at(0); }, task_stats_keys());
  return c;
}

template <>
std::vector<FieldCase<Beacon>> field_cases<Beacon>() {
  return top<Beacon>({CUBE_KEY(Beacon, "broker_epoch", broker_epoch),
                      CUBE_KEY(Beacon, "heartbeat_ms", heartbeat_ms)});
}

template <>
std::vector<FieldCase<SubmitRequest>> field_cases<SubmitRequest>() {
  auto c = top<SubmitRequest>(
      {CUBE_KEY(SubmitRequest, "request_id", request_id), CUBE_KEY(SubmitRequest, "task", task)});
  lift_task<SubmitRequest>(c, {std::string("task")},
                           [](SubmitRequest& m) -> Task& { return m.task; });
  return c;
}

template <>
std::vector<FieldCase<ListRequest>> field_cases<ListRequest>() {
  return top<ListRequest>({CUBE_KEY(ListRequest, "request_id", request_id)});
}

template <>
std::vector<FieldCase<GetRequest>> field_cases<GetRequest>() {
  return top<GetRequest>(
      {CUBE_KEY(GetRequest, "request_id", request_id), CUBE_KEY(GetRequest, "task_id", task_id)});
}

template <>
std::vector<FieldCase<StopRequest>> field_cases<StopRequest>() {
  return top<StopRequest>(
      {CUBE_KEY(StopRequest, "request_id", request_id), CUBE_KEY(StopRequest, "task_id", task_id)});
}

template <>
std::vector<FieldCase<NodesRequest>> field_cases<NodesRequest>() {
  return top<NodesRequest>({CUBE_KEY(NodesRequest, "request_id", request_id)});
}

template <>
std::vector<FieldCase<StatusRequest>> field_cases<StatusRequest>() {
  return top<StatusRequest>({CUBE_KEY(StatusRequest, "request_id", request_id)});
}

template <>
std::vector<FieldCase<AssignBatch>> field_cases<AssignBatch>() {
  auto c = top<AssignBatch>({CUBE_KEY(AssignBatch, "tasks", tasks)});
  lift_task<AssignBatch>(c, {std::string("tasks"), size_t{0}},
                         [](AssignBatch& m) -> Task& { return m.tasks.at(0); });
  return c;
}

template <>
std::vector<FieldCase<AcceptBatch>> field_cases<AcceptBatch>() {
  auto c = top<AcceptBatch>({CUBE_KEY(AcceptBatch, "session_id", session_id),
                             CUBE_KEY(AcceptBatch, "attempts", attempts)});
  lift<AcceptBatch, AttemptRef>(
      c, {std::string("attempts"), size_t{0}},
      [](AcceptBatch& m) -> AttemptRef& { return m.attempts.at(0); },
      {CUBE_KEY(AttemptRef, "task_id", task_id), CUBE_KEY(AttemptRef, "attempt", attempt)});
  return c;
}

template <>
std::vector<FieldCase<TaskStateBatch>> field_cases<TaskStateBatch>() {
  auto c = top<TaskStateBatch>({CUBE_KEY(TaskStateBatch, "agent_id", agent_id),
                                CUBE_KEY(TaskStateBatch, "session_id", session_id),
                                CUBE_KEY(TaskStateBatch, "seq", seq),
                                CUBE_KEY(TaskStateBatch, "statuses", statuses)});
  lift_status<TaskStateBatch>(c, {std::string("statuses"), size_t{1}},
                              [](TaskStateBatch& m) -> AttemptStatus& { return m.statuses.at(1); });
  return c;
}

namespace {

KeyResets<Service> service_keys() {
  return {CUBE_KEY(Service, "name", name),
          CUBE_KEY(Service, "template", task_template),
          CUBE_KEY(Service, "replicas", replicas),
          CUBE_KEY(Service, "update", update),
          CUBE_KEY(Service, "version", version),
          CUBE_KEY(Service, "template_version", template_version),
          CUBE_KEY(Service, "created_ms", created_ms),
          CUBE_KEY(Service, "updated_ms", updated_ms)};
}

KeyResets<UpdatePolicy> update_policy_keys() {
  return {CUBE_KEY(UpdatePolicy, "parallelism", parallelism),
          CUBE_KEY(UpdatePolicy, "delay_ms", delay_ms),
          CUBE_KEY(UpdatePolicy, "failure_action", failure_action),
          CUBE_KEY(UpdatePolicy, "monitor_ms", monitor_ms), CUBE_KEY(UpdatePolicy, "order", order)};
}

}  // namespace

template <>
std::vector<FieldCase<ServiceCreateRequest>> field_cases<ServiceCreateRequest>() {
  using M = ServiceCreateRequest;
  auto c = top<M>({CUBE_KEY(M, "request_id", request_id), CUBE_KEY(M, "service", service)});
  lift<M, Service>(
      c, {std::string("service")}, [](M& m) -> Service& { return m.service; }, service_keys());
  lift<M, UpdatePolicy>(
      c, {std::string("service"), std::string("update")},
      [](M& m) -> UpdatePolicy& { return m.service.update; }, update_policy_keys());
  lift_task<M>(c, {std::string("service"), std::string("template")},
               [](M& m) -> Task& { return m.service.task_template; });
  return c;
}

template <>
std::vector<FieldCase<ServiceListRequest>> field_cases<ServiceListRequest>() {
  return top<ServiceListRequest>({CUBE_KEY(ServiceListRequest, "request_id", request_id)});
}

template <>
std::vector<FieldCase<ServiceInspectRequest>> field_cases<ServiceInspectRequest>() {
  return top<ServiceInspectRequest>({CUBE_KEY(ServiceInspectRequest, "request_id", request_id),
                                     CUBE_KEY(ServiceInspectRequest, "name", name)});
}

template <>
std::vector<FieldCase<ServiceScaleRequest>> field_cases<ServiceScaleRequest>() {
  return top<ServiceScaleRequest>({CUBE_KEY(ServiceScaleRequest, "request_id", request_id),
                                   CUBE_KEY(ServiceScaleRequest, "name", name),
                                   CUBE_KEY(ServiceScaleRequest, "replicas", replicas)});
}

template <>
std::vector<FieldCase<ServiceRemoveRequest>> field_cases<ServiceRemoveRequest>() {
  return top<ServiceRemoveRequest>({CUBE_KEY(ServiceRemoveRequest, "request_id", request_id),
                                    CUBE_KEY(ServiceRemoveRequest, "name", name)});
}

template <>
std::vector<FieldCase<ServiceUpdateRequest>> field_cases<ServiceUpdateRequest>() {
  using M = ServiceUpdateRequest;
  auto c = top<M>({CUBE_KEY(M, "request_id", request_id), CUBE_KEY(M, "service", service),
                   CUBE_KEY(M, "expected_version", expected_version)});
  lift<M, Service>(
      c, {std::string("service")}, [](M& m) -> Service& { return m.service; }, service_keys());
  lift<M, UpdatePolicy>(
      c, {std::string("service"), std::string("update")},
      [](M& m) -> UpdatePolicy& { return m.service.update; }, update_policy_keys());
  lift_task<M>(c, {std::string("service"), std::string("template")},
               [](M& m) -> Task& { return m.service.task_template; });
  return c;
}

template <>
std::vector<FieldCase<ServiceRollbackRequest>> field_cases<ServiceRollbackRequest>() {
  return top<ServiceRollbackRequest>({CUBE_KEY(ServiceRollbackRequest, "request_id", request_id),
                                      CUBE_KEY(ServiceRollbackRequest, "name", name)});
}

template <>
std::vector<FieldCase<ServiceRestartRequest>> field_cases<ServiceRestartRequest>() {
  return top<ServiceRestartRequest>({CUBE_KEY(ServiceRestartRequest, "request_id", request_id),
                                     CUBE_KEY(ServiceRestartRequest, "name", name)});
}

template <>
std::vector<FieldCase<EventsRequest>> field_cases<EventsRequest>() {
  auto c = top<EventsRequest>(
      {CUBE_KEY(EventsRequest, "request_id", request_id), CUBE_KEY(EventsRequest, "since", since),
       CUBE_KEY(EventsRequest, "filter", filter), CUBE_KEY(EventsRequest, "wait_ms", wait_ms),
       CUBE_KEY(EventsRequest, "max", max)});
  lift<EventsRequest, EventFilter>(
      c, {std::string("filter")}, [](EventsRequest& m) -> EventFilter& { return m.filter; },
      {CUBE_KEY(EventFilter, "task", task), CUBE_KEY(EventFilter, "node", node),
       CUBE_KEY(EventFilter, "type", type), CUBE_KEY(EventFilter, "service", service)});
  return c;
}

template <>
std::vector<FieldCase<SubmitBatchRequest>> field_cases<SubmitBatchRequest>() {
  auto c = top<SubmitBatchRequest>({CUBE_KEY(SubmitBatchRequest, "request_id", request_id),
                                    CUBE_KEY(SubmitBatchRequest, "tasks", tasks)});
  lift_task<SubmitBatchRequest>(c, {std::string("tasks"), size_t{0}},
                                [](SubmitBatchRequest& m) -> Task& { return m.tasks.at(0); });
  return c;
}

template <>
std::vector<FieldCase<LogsRequest>> field_cases<LogsRequest>() {
  return top<LogsRequest>({
      CUBE_KEY(LogsRequest, "request_id", request_id),
      CUBE_KEY(LogsRequest, "task_id", task_id),
      CUBE_KEY(LogsRequest, "offset", offset),
      CUBE_KEY(LogsRequest, "max_bytes", max_bytes),
      CUBE_KEY(LogsRequest, "tail_lines", tail_lines),
  });
}

template <>
std::vector<FieldCase<Reply>> field_cases<Reply>() {
  auto c = top<Reply>({
      CUBE_KEY(Reply, "request_id", request_id),
      // Without error_code the reply is a success; the message alone means nothing.
      {"error_code", [](Reply& r) { r.status = Status::ok(); }},
      // Without error_message the code stays, with an empty message.
      {"error_message", [](Reply& r) { r.status = Status(r.status.code(), ""); }},
      CUBE_KEY(Reply, "task", task),
      CUBE_KEY(Reply, "events", events),
      CUBE_KEY(Reply, "tasks", tasks),
      CUBE_KEY(Reply, "nodes", nodes),
      CUBE_KEY(Reply, "broker", broker),
      CUBE_KEY(Reply, "logs", logs),
      CUBE_KEY(Reply, "task_stats", task_stats),
  });
  lift_task<Reply>(c, {std::string("task")}, [](Reply& m) -> Task& { return *m.task; });
  lift<Reply, TaskEvent>(
      c, {std::string("events"), size_t{1}}, [](Reply& m) -> TaskEvent& { return m.events.at(1); },
      task_event_keys());
  lift_task<Reply>(c, {std::string("tasks"), size_t{0}},
                   [](Reply& m) -> Task& { return m.tasks.at(0); });
  lift<Reply, NodeInfo>(
      c, {std::string("nodes"), size_t{0}}, [](Reply& m) -> NodeInfo& { return m.nodes.at(0); },
      node_keys());
  lift<Reply, Capacity>(
      c, {std::string("nodes"), size_t{0}, std::string("capacity")},
      [](Reply& m) -> Capacity& { return m.nodes.at(0).capacity; }, capacity_keys());
  lift<Reply, Capacity>(
      c, {std::string("nodes"), size_t{0}, std::string("allocated")},
      [](Reply& m) -> Capacity& { return m.nodes.at(0).allocated; }, capacity_keys());
  lift<Reply, NodeUsage>(
      c, {std::string("nodes"), size_t{0}, std::string("usage")},
      [](Reply& m) -> NodeUsage& { return *m.nodes.at(0).usage; }, node_usage_keys());
  lift<Reply, TaskStats>(
      c, {std::string("task_stats")}, [](Reply& m) -> TaskStats& { return *m.task_stats; },
      task_stats_keys());
  lift<Reply, BrokerStatus>(
      c, {std::string("broker")}, [](Reply& m) -> BrokerStatus& { return *m.broker; },
      broker_status_keys());
  lift<Reply, LogsChunk>(
      c, {std::string("logs")}, [](Reply& m) -> LogsChunk& { return *m.logs; }, logs_chunk_keys());
  return c;
}

#undef CUBE_KEY

}  // namespace cube::test

namespace cube {
namespace {

nlohmann::json body_as_json(const std::string& body) {
  try {
    return nlohmann::json::from_msgpack(body);
  } catch (const nlohmann::json::exception& e) {
    return std::string("<not printable: ") + e.what() + ">";
  }
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void PrintTo(const Task& task, std::ostream* os) {
  *os << dump(body_as_json(protocol::encode_body(protocol::Assign{task}))["task"]);
}

void PrintTo(const AttemptStatus& status, std::ostream* os) {
  protocol::TaskStateEvent event;
  event.status = status;
  *os << dump(body_as_json(protocol::encode_body(event))["status"]);
}

}  // namespace cube

namespace cube::protocol {
#define CUBE_DEFINE_PRINT(Struct)                               \
  void PrintTo(const Struct& message, std::ostream* os) {       \
    *os << #Struct << dump(body_as_json(encode_body(message))); \
  }
CUBE_DEFINE_PRINT(Hello)
CUBE_DEFINE_PRINT(Welcome)
CUBE_DEFINE_PRINT(Credit)
CUBE_DEFINE_PRINT(Assign)
CUBE_DEFINE_PRINT(Accept)
CUBE_DEFINE_PRINT(Reject)
CUBE_DEFINE_PRINT(Stop)
CUBE_DEFINE_PRINT(Sync)
CUBE_DEFINE_PRINT(Snapshot)
CUBE_DEFINE_PRINT(ErrorMessage)
CUBE_DEFINE_PRINT(LogsFetch)
CUBE_DEFINE_PRINT(LogsData)
CUBE_DEFINE_PRINT(AssignBatch)
CUBE_DEFINE_PRINT(AcceptBatch)
CUBE_DEFINE_PRINT(AgentHeartbeat)
CUBE_DEFINE_PRINT(TaskStateEvent)
CUBE_DEFINE_PRINT(NodeStats)
CUBE_DEFINE_PRINT(TaskStateBatch)
CUBE_DEFINE_PRINT(Beacon)
CUBE_DEFINE_PRINT(SubmitRequest)
CUBE_DEFINE_PRINT(ListRequest)
CUBE_DEFINE_PRINT(GetRequest)
CUBE_DEFINE_PRINT(StopRequest)
CUBE_DEFINE_PRINT(NodesRequest)
CUBE_DEFINE_PRINT(StatusRequest)
CUBE_DEFINE_PRINT(LogsRequest)
CUBE_DEFINE_PRINT(SubmitBatchRequest)
CUBE_DEFINE_PRINT(ServiceCreateRequest)
CUBE_DEFINE_PRINT(ServiceListRequest)
CUBE_DEFINE_PRINT(ServiceInspectRequest)
CUBE_DEFINE_PRINT(ServiceScaleRequest)
CUBE_DEFINE_PRINT(ServiceRemoveRequest)
CUBE_DEFINE_PRINT(ServiceUpdateRequest)
CUBE_DEFINE_PRINT(ServiceRollbackRequest)
CUBE_DEFINE_PRINT(ServiceRestartRequest)
CUBE_DEFINE_PRINT(EventsRequest)
CUBE_DEFINE_PRINT(Reply)
#undef CUBE_DEFINE_PRINT
}  // namespace cube::protocol
