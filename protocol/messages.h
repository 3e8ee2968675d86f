// Every message of protocol CUBE1 as a plain struct. The type numbers below and the map keys
// used by protocol/codec.cpp are frozen once released: messages only grow, decoders ignore
// unknown keys and fill defaults for missing ones. docs/protocol.md describes each message;
// tests/golden/ pins their bytes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "protocol/service.h"
#include "protocol/task.h"

namespace cube::protocol {

enum class MessageType : uint8_t {
  // agent <-> broker, work ROUTER/DEALER
  Hello = 1,         // agent -> broker
  Welcome = 2,       // broker -> agent
  Credit = 3,        // agent -> broker
  Assign = 4,        // broker -> agent
  Accept = 5,        // agent -> broker
  Reject = 6,        // agent -> broker
  Stop = 7,          // broker -> agent
  Sync = 8,          // broker -> agent: send a Snapshot
  Snapshot = 9,      // agent -> broker
  Error = 10,        // either way: the peer's last message was refused
  LogsFetch = 11,    // broker -> agent: read a task's logs (proxied client LOGS)
  LogsData = 12,     // agent -> broker: the answer to LogsFetch
  AssignBatch = 13,  // broker -> agent: the tasks placed on it in one pass (feature "batches")
  AcceptBatch = 14,  // agent -> broker: the ACCEPTs of one poll iteration (feature "batches")
  // agent -> broker, events PUB/SUB
  AgentHeartbeat = 20,
  TaskStateEvent = 21,
  NodeStats = 22,       // agent -> broker: node and per-task resource usage
  TaskStateBatch = 23,  // agent -> broker: the task state changes of one iteration ("batches")
  // broker -> agents, beacon PUB/SUB
  Beacon = 30,
  // client -> broker, client ROUTER/REQ
  SubmitRequest = 40,
  ListRequest = 41,
  GetRequest = 42,
  StopRequest = 43,
  NodesRequest = 44,
  StatusRequest = 45,
  LogsRequest = 46,
  SubmitBatchRequest = 47,  // many tasks in one request; each acknowledged on its own
  // services (docs/services.md)
  ServiceCreateRequest = 48,
  ServiceListRequest = 49,
  ServiceInspectRequest = 50,
  ServiceScaleRequest = 51,
  ServiceRemoveRequest = 52,
  ServiceUpdateRequest = 53,
  ServiceRollbackRequest = 54,
  ServiceRestartRequest = 55,
  EventsRequest = 56,  // the event feed: a long poll (docs/events.md)
  // broker -> client
  Reply = 60,
};

// "HELLO", "CREDIT", ... for logs and counters; "UNKNOWN" for numbers not listed above.
const char* message_type_name(uint8_t type);

// Optional protocol features a peer announces (HELLO and WELCOME `features`). A peer uses a
// feature's messages only when the other side announced it, so agents and brokers of different
// versions keep talking with the messages both know.
//   "batches": ASSIGN_BATCH, ACCEPT_BATCH and TASK_STATE_BATCH
inline constexpr std::string_view kFeatureBatches = "batches";

// The most tasks one SUBMIT_BATCH may carry: 1,000 typical tasks (300-500 bytes each) stay
// well inside the 1 MiB frame limit of the client socket (kMaxInboundMessageBytes).
inline constexpr size_t kMaxSubmitBatch = 1000;

struct Capacity {
  double cpu = 0;  // cores
  int64_t memory_bytes = 0;
  int64_t disk_bytes = 0;
  uint32_t slots = 0;  // how many tasks the agent runs at once
  friend bool operator==(const Capacity&, const Capacity&) = default;
};

// Agent -> broker, first message of every session (and after every reconnect). Carries the
// agent's full state so the broker can reconcile: the tasks it runs and the seq of its last
// event (the snapshot reflects every event up to and including `seq`).
struct Hello {
  std::string agent_id;  // stable across restarts of the agent (kept in its data dir)
  std::string name;
  std::string version;
  std::vector<std::string> drivers;
  Capacity capacity;
  std::map<std::string, std::string> labels;
  uint64_t seq = 0;
  std::vector<AttemptStatus> tasks;
  std::vector<std::string> features{};  // what this agent understands (kFeatureBatches...)
  friend bool operator==(const Hello&, const Hello&) = default;
};

struct Welcome {
  std::string session_id;
  std::string broker_epoch;  // random per broker start; the beacon repeats it
  int64_t heartbeat_ms = 0;
  std::vector<std::string> features{};  // what this broker understands
  friend bool operator==(const Welcome&, const Welcome&) = default;
};

// The agent has `free_slots` free slots right now (absolute, so duplicates are harmless). The
// broker subtracts the assignments this agent has not yet answered.
struct Credit {
  std::string session_id;
  uint32_t free_slots = 0;
  friend bool operator==(const Credit&, const Credit&) = default;
};

struct Assign {
  Task task;  // task.attempt identifies the assignment; (task.id, attempt) is idempotent
  friend bool operator==(const Assign&, const Assign&) = default;
};

// Broker -> agent (feature "batches"): every task placed on this agent in one scheduling pass,
// at most its credit. Each is answered as its own ASSIGN would be.
struct AssignBatch {
  std::vector<Task> tasks;
  friend bool operator==(const AssignBatch&, const AssignBatch&) = default;
};

// One attempt of a task.
struct AttemptRef {
  std::string task_id;
  uint32_t attempt = 0;
  friend bool operator==(const AttemptRef&, const AttemptRef&) = default;
};

// Agent -> broker (feature "batches"): the ACCEPTs of one poll iteration, in the order the
// agent accepted them. REJECT stays one message per task (rare, and carries a reason).
struct AcceptBatch {
  std::string session_id;
  std::vector<AttemptRef> attempts;
  friend bool operator==(const AcceptBatch&, const AcceptBatch&) = default;
};

struct Accept {
  std::string session_id;
  std::string task_id;
  uint32_t attempt = 0;
  friend bool operator==(const Accept&, const Accept&) = default;
};

struct Reject {
  std::string session_id;
  std::string task_id;
  uint32_t attempt = 0;
  std::string reason;
  friend bool operator==(const Reject&, const Reject&) = default;
};

// Broker -> agent: stop this attempt (attempt 0 = whatever attempt runs) within grace_ms, then
// kill, and report the final state.
struct Stop {
  std::string task_id;
  uint32_t attempt = 0;
  int64_t grace_ms = 0;
  std::string reason;
  friend bool operator==(const Stop&, const Stop&) = default;
};

struct Sync {
  std::string reason;
  friend bool operator==(const Sync&, const Sync&) = default;
};

// Agent -> broker in answer to Sync: every task it knows, as of event `seq`.
struct Snapshot {
  std::string session_id;
  uint64_t seq = 0;
  std::vector<AttemptStatus> tasks;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

struct ErrorMessage {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
  friend bool operator==(const ErrorMessage&, const ErrorMessage&) = default;
};

// The most log bytes one LOGS_DATA (and so one LOGS reply) carries: half of the 1 MiB
// ZMQ_MAXMSGSIZE of the broker's work socket, leaving room for the envelope and the other keys.
inline constexpr int64_t kMaxLogChunkBytes = 512 << 10;

// Broker -> agent: a client's LOGS for a task this agent runs or ran. The agent reads the logs on
// a worker thread and answers LogsData with the same fetch_id (docs/protocol.md, Logs).
struct LogsFetch {
  uint64_t fetch_id = 0;  // chosen by the broker, unique among its fetches in flight
  std::string task_id;
  uint32_t attempt = 0;    // the attempt the broker placed here (informational)
  int64_t offset = 0;      // byte offset in the task's combined stdout/stderr
  int64_t max_bytes = 0;   // at most this many bytes (0 or above kMaxLogChunkBytes: that limit)
  int64_t tail_lines = 0;  // > 0: start at the last tail_lines lines instead of `offset`
  friend bool operator==(const LogsFetch&, const LogsFetch&) = default;
};

// Agent -> broker: the answer to LogsFetch. `data` travels as MessagePack bin (logs are bytes,
// not necessarily UTF-8). error_code Ok: data from the requested position, next_offset to ask
// for next, eof once the task ended and everything was returned; otherwise the error for the
// client (not_found: the agent has no such task any more).
struct LogsData {
  uint64_t fetch_id = 0;
  std::string data;
  int64_t next_offset = 0;
  bool eof = false;
  ErrorCode error_code = ErrorCode::Ok;
  std::string error_message;
  friend bool operator==(const LogsData&, const LogsData&) = default;
};

// Events carry the agent's ID and a per-agent sequence number. A heartbeat does not consume a
// number: it repeats the last one so that the broker sees a gap even when events stop.
struct AgentHeartbeat {
  std::string agent_id;
  std::string session_id;
  uint64_t seq = 0;
  uint32_t running = 0;
  uint32_t free_slots = 0;
  friend bool operator==(const AgentHeartbeat&, const AgentHeartbeat&) = default;
};

struct TaskStateEvent {
  std::string agent_id;
  std::string session_id;
  uint64_t seq = 0;
  AttemptStatus status;
  friend bool operator==(const TaskStateEvent&, const TaskStateEvent&) = default;
};

// Agent -> broker events (feature "batches"): the task state changes of one poll iteration, in
// order. They carry the sequence numbers seq - n + 1 .. seq (n = statuses.size(), at least 1),
// so the broker's gap detection sees every change as if each had been a TASK_STATE.
struct TaskStateBatch {
  std::string agent_id;
  std::string session_id;
  uint64_t seq = 0;  // the number of the last status
  std::vector<AttemptStatus> statuses;
  friend bool operator==(const TaskStateBatch&, const TaskStateBatch&) = default;
};

// What an agent's host is using, sampled by the agent every stats interval (host-wide figures,
// not the declared capacity the scheduler places against).
struct NodeUsage {
  int64_t sampled_ms = 0;          // wall time of the sample
  double cpu_used = 0;             // cores busy, averaged since the previous sample (/proc/stat)
  double cpu_total = 0;            // cores online
  int64_t memory_used_bytes = 0;   // MemTotal - MemAvailable (/proc/meminfo)
  int64_t memory_total_bytes = 0;  // MemTotal
  int64_t disk_used_bytes = 0;     // of the file system holding the agent's data dir (statvfs)
  int64_t disk_total_bytes = 0;
  double load_1 = 0;  // load averages over 1, 5 and 15 minutes (/proc/loadavg)
  double load_5 = 0;
  double load_15 = 0;
  uint32_t running = 0;  // task attempts the agent runs
  friend bool operator==(const NodeUsage&, const NodeUsage&) = default;
};

// What one running task attempt uses, as its driver reports it (Driver::stats).
struct TaskStats {
  std::string task_id;
  uint32_t attempt = 0;
  int64_t sampled_ms = 0;
  double cpu_used = 0;  // cores, averaged over the driver's last interval
  int64_t memory_bytes = 0;
  friend bool operator==(const TaskStats&, const TaskStats&) = default;
};

// Agent -> broker every stats interval. Like AGENT_HEARTBEAT it does not consume a sequence
// number (seq repeats the last one) and the broker never asks for SYNC because of it: stats are
// lossy, and the next sample replaces a lost one. `tasks` lists only tasks whose driver could
// say (exec reports none).
struct NodeStats {
  std::string agent_id;
  std::string session_id;
  uint64_t seq = 0;
  NodeUsage usage;
  std::vector<TaskStats> tasks;
  friend bool operator==(const NodeStats&, const NodeStats&) = default;
};

struct Beacon {
  std::string broker_epoch;
  int64_t heartbeat_ms = 0;
  friend bool operator==(const Beacon&, const Beacon&) = default;
};

// --- client requests; each carries a request id that the reply echoes ---

struct SubmitRequest {
  uint64_t request_id = 0;
  Task task;
  friend bool operator==(const SubmitRequest&, const SubmitRequest&) = default;
};

struct ListRequest {
  uint64_t request_id = 0;
  friend bool operator==(const ListRequest&, const ListRequest&) = default;
};

struct GetRequest {
  uint64_t request_id = 0;
  std::string task_id;
  friend bool operator==(const GetRequest&, const GetRequest&) = default;
};

struct StopRequest {
  uint64_t request_id = 0;
  std::string task_id;
  friend bool operator==(const StopRequest&, const StopRequest&) = default;
};

struct NodesRequest {
  uint64_t request_id = 0;
  friend bool operator==(const NodesRequest&, const NodesRequest&) = default;
};

struct StatusRequest {
  uint64_t request_id = 0;
  friend bool operator==(const StatusRequest&, const StatusRequest&) = default;
};

// Many tasks in one request (at most kMaxSubmitBatch). Each is validated, admitted and stored on
// its own, as a SUBMIT of it would be: one bad task does not fail the others. The reply's
// `submitted` has one outcome per task, in the request's order.
struct SubmitBatchRequest {
  uint64_t request_id = 0;
  std::vector<Task> tasks;
  friend bool operator==(const SubmitBatchRequest&, const SubmitBatchRequest&) = default;
};

// A task's logs, proxied by the broker to the agent that runs (or last ran) the task over that
// agent's own connection. The reply carries `logs`.
struct LogsRequest {
  uint64_t request_id = 0;
  std::string task_id;
  int64_t offset = 0;      // byte offset in the task's combined stdout/stderr
  int64_t max_bytes = 0;   // 0 or above kMaxLogChunkBytes: kMaxLogChunkBytes
  int64_t tail_lines = 0;  // > 0: the last N lines (offset is ignored)
  friend bool operator==(const LogsRequest&, const LogsRequest&) = default;
};

// One piece of a task's logs, in a LOGS reply. Ask again from next_offset to follow; eof: the
// task has ended and nothing more will come.
struct LogsChunk {
  std::string data;  // MessagePack bin on the wire
  int64_t next_offset = 0;
  bool eof = false;
  friend bool operator==(const LogsChunk&, const LogsChunk&) = default;
};

// What the broker knows of one agent, for `cube-client nodes`.
struct NodeInfo {
  std::string id;
  std::string name;
  std::string state;  // "ready", "suspect", "lost"
  std::string version;
  std::vector<std::string> drivers;
  Capacity capacity;
  std::map<std::string, std::string> labels;
  uint32_t running = 0;     // tasks Scheduled or Running there
  uint32_t free_slots = 0;  // credit the broker may still use
  int64_t last_seen_ms = 0;
  // What the broker has placed there (tasks Scheduled or Running): CPU, memory and disk they
  // ask for, and in `slots` how many they are. The scheduler fits tasks against
  // capacity - allocated.
  Capacity allocated{};
  std::optional<NodeUsage> usage{};  // the agent's latest NODE_STATS; nil before the first
  friend bool operator==(const NodeInfo&, const NodeInfo&) = default;
};

struct BrokerStatus {
  std::string version;
  std::string epoch;
  int64_t started_ms = 0;
  std::map<std::string, uint64_t> tasks_by_state;  // "Pending" -> count
  uint32_t nodes_ready = 0;
  uint32_t nodes_total = 0;
  std::map<std::string, uint64_t> counters;  // decode errors, submits, placements...
  std::string scheduler{};                   // the placement policy: "binpack", "spread"...
  // High availability (docs/ha.md): "leader" or "standby" ("campaigning" before the first
  // campaign answered); "" from a broker older than the field.
  std::string role{};
  std::string leader{};  // the leader's client address "HOST:PORT"; "" when unknown
  // The client addresses of the other brokers registered on the store (the standbys, as seen
  // by this broker), sorted; empty for a single broker.
  std::vector<std::string> standbys{};
  // Agents by state ("ready", "suspect", "lost"); only states that have some. Empty from a
  // broker older than the field.
  std::map<std::string, uint32_t> nodes_by_state{};
  // The store, as cube-broker logs it ("memory", "sqlite:PATH (sync=normal)", "etcd://...");
  // "" from a broker older than the field.
  std::string store{};
  friend bool operator==(const BrokerStatus&, const BrokerStatus&) = default;
};

// How one task of a SUBMIT_BATCH fared: its ID (the one sent, or the one the broker chose) and
// OK, or why it was refused.
struct SubmitOutcome {
  std::string task_id;
  ErrorCode error_code = ErrorCode::Ok;
  std::string error_message;
  Status status() const {
    return error_code == ErrorCode::Ok ? Status::ok() : Status(error_code, error_message);
  }
  friend bool operator==(const SubmitOutcome&, const SubmitOutcome&) = default;
};

// --- services (docs/services.md) ---

// Creates service `service.name` with its template, replicas and update policy (the broker
// sets version, template_version and the times). Idempotent: a service of that name with the
// same template, replicas and update policy is answered as created; another one is refused
// `conflict`. The reply's `services` holds the service once stored.
struct ServiceCreateRequest {
  uint64_t request_id = 0;
  Service service;
  friend bool operator==(const ServiceCreateRequest&, const ServiceCreateRequest&) = default;
};

// Every service, by name, in the reply's `services`.
struct ServiceListRequest {
  uint64_t request_id = 0;
  friend bool operator==(const ServiceListRequest&, const ServiceListRequest&) = default;
};

// One service in `services` and all its tasks (current and ended, by slot) in `tasks`.
struct ServiceInspectRequest {
  uint64_t request_id = 0;
  std::string name;
  friend bool operator==(const ServiceInspectRequest&, const ServiceInspectRequest&) = default;
};

// Sets the service's replicas (0..kMaxReplicas); the same count again is a no-op.
struct ServiceScaleRequest {
  uint64_t request_id = 0;
  std::string name;
  uint32_t replicas = 0;
  friend bool operator==(const ServiceScaleRequest&, const ServiceScaleRequest&) = default;
};

// Removes the service and stops every task of it.
struct ServiceRemoveRequest {
  uint64_t request_id = 0;
  std::string name;
  friend bool operator==(const ServiceRemoveRequest&, const ServiceRemoveRequest&) = default;
};

// Replaces the service's definition (template, replicas, update policy) with `service`'s. A new
// template starts a rolling update (docs/services.md); replicas and the policy alone do not.
// `expected_version` (0: any) makes two racing updates safe: when the service's version is no
// longer that one the update is refused `conflict` and nothing changes. The same definition
// again is a no-op, so a retry after the first try landed is answered as the first was.
struct ServiceUpdateRequest {
  uint64_t request_id = 0;
  Service service;
  uint64_t expected_version = 0;
  friend bool operator==(const ServiceUpdateRequest&, const ServiceUpdateRequest&) = default;
};

// Rolls the service back to its previous template, in rolling steps; refused `conflict` when
// it has none (never updated).
struct ServiceRollbackRequest {
  uint64_t request_id = 0;
  std::string name;
  friend bool operator==(const ServiceRollbackRequest&, const ServiceRollbackRequest&) = default;
};

// Replaces every replica with a new task of the same template, in rolling steps.
struct ServiceRestartRequest {
  uint64_t request_id = 0;
  std::string name;
  friend bool operator==(const ServiceRestartRequest&, const ServiceRestartRequest&) = default;
};

// --- the event feed (docs/events.md) ---

// What to send a subscriber: events matching every non-empty field.
struct EventFilter {
  std::string task{};     // a task ID: that task's events
  std::string node{};     // a node name: its node events and the events of tasks on it
  std::string type{};     // "task", "node" or "service"
  std::string service{};  // a service name: its service events and the events of its tasks
  friend bool operator==(const EventFilter&, const EventFilter&) = default;
};

// Events with Index > since that match `filter`, at most `max` (0 or above kMaxEventsPerReply:
// that limit). When there are none yet the broker holds the request until one arrives or
// wait_ms (0: answer at once; at most kMaxEventWaitMs) passes, then answers with what it has
// (maybe nothing). since 0: from now (only events that happen after the request). A since that
// fell out of the ring, or that is ahead of the newest event (a broker restarted since), is
// answered too_old with next_index = the newest index: resynchronise from LIST/NODES, then ask
// again from there. The reply carries `feed` and `next_index` (the since to ask with next).
struct EventsRequest {
  uint64_t request_id = 0;
  uint64_t since = 0;
  EventFilter filter;
  int64_t wait_ms = 0;
  uint32_t max = 0;
  friend bool operator==(const EventsRequest&, const EventsRequest&) = default;
};

inline constexpr uint32_t kMaxEventsPerReply = 1000;
inline constexpr int64_t kMaxEventWaitMs = 60'000;

// One event of the feed. Flat: which fields are set follows from `type`.
//   task     id, name, state and previous_state (task state names), node (its name), reason,
//            service and slot when the task is a service's replica
//   node     name, state and previous_state ("ready", "suspect", "lost"; "" before it joined)
//   service  name, state (the action: created, scaled, updated, removed, rollout_step,
//            rollout_paused, rollout_completed, rolled_back), version, reason (a message)
struct FeedEvent {
  uint64_t index = 0;  // 1, 2, ... per broker start
  std::string type;
  int64_t time_ms = 0;  // Unix epoch milliseconds, when the broker made the change
  std::string id;
  std::string name;
  std::string state;
  std::string previous_state;
  std::string node;
  std::string reason;
  std::string service;
  uint32_t slot = 0;
  uint64_t version = 0;
  friend bool operator==(const FeedEvent&, const FeedEvent&) = default;
};

// A service as the broker answers it: the stored service and what its tasks are doing now.
struct ServiceInfo {
  Service service;
  uint32_t running = 0;  // tasks of the current template Running
  uint32_t tasks = 0;    // tasks not ended (Pending, Scheduled, Running)
  friend bool operator==(const ServiceInfo&, const ServiceInfo&) = default;
};

struct Reply {
  uint64_t request_id = 0;
  Status status;  // ok, or the error code and message for the user
  std::optional<Task> task;
  std::vector<TaskEvent> events;  // Get: the task's history
  std::vector<Task> tasks;        // List
  std::vector<NodeInfo> nodes;    // Nodes
  std::optional<BrokerStatus> broker;
  std::optional<LogsChunk> logs;  // Logs
  // Get: the task's latest usage when it is Running and its agent reported it; nil otherwise.
  std::optional<TaskStats> task_stats{};
  std::vector<SubmitOutcome> submitted{};  // SubmitBatch: one per task, in the request's order
  std::vector<ServiceInfo> services{};     // the service requests
  std::vector<FeedEvent> feed{};           // Events: the events, oldest first
  uint64_t next_index = 0;                 // Events: the `since` to ask with next
  friend bool operator==(const Reply&, const Reply&) = default;
};

// Maps each struct to its type number.
template <typename M>
struct MessageTraits;
#define CUBE_MESSAGE_TYPE(Struct, Type)                     \
  template <>                                               \
  struct MessageTraits<Struct> {                            \
    static constexpr MessageType kType = MessageType::Type; \
  }
CUBE_MESSAGE_TYPE(Hello, Hello);
CUBE_MESSAGE_TYPE(Welcome, Welcome);
CUBE_MESSAGE_TYPE(Credit, Credit);
CUBE_MESSAGE_TYPE(Assign, Assign);
CUBE_MESSAGE_TYPE(Accept, Accept);
CUBE_MESSAGE_TYPE(Reject, Reject);
CUBE_MESSAGE_TYPE(Stop, Stop);
CUBE_MESSAGE_TYPE(Sync, Sync);
CUBE_MESSAGE_TYPE(Snapshot, Snapshot);
CUBE_MESSAGE_TYPE(ErrorMessage, Error);
CUBE_MESSAGE_TYPE(LogsFetch, LogsFetch);
CUBE_MESSAGE_TYPE(LogsData, LogsData);
CUBE_MESSAGE_TYPE(AssignBatch, AssignBatch);
CUBE_MESSAGE_TYPE(AcceptBatch, AcceptBatch);
CUBE_MESSAGE_TYPE(AgentHeartbeat, AgentHeartbeat);
CUBE_MESSAGE_TYPE(TaskStateEvent, TaskStateEvent);
CUBE_MESSAGE_TYPE(NodeStats, NodeStats);
CUBE_MESSAGE_TYPE(TaskStateBatch, TaskStateBatch);
CUBE_MESSAGE_TYPE(Beacon, Beacon);
CUBE_MESSAGE_TYPE(SubmitRequest, SubmitRequest);
CUBE_MESSAGE_TYPE(ListRequest, ListRequest);
CUBE_MESSAGE_TYPE(GetRequest, GetRequest);
CUBE_MESSAGE_TYPE(StopRequest, StopRequest);
CUBE_MESSAGE_TYPE(NodesRequest, NodesRequest);
CUBE_MESSAGE_TYPE(StatusRequest, StatusRequest);
CUBE_MESSAGE_TYPE(LogsRequest, LogsRequest);
CUBE_MESSAGE_TYPE(SubmitBatchRequest, SubmitBatchRequest);
CUBE_MESSAGE_TYPE(ServiceCreateRequest, ServiceCreateRequest);
CUBE_MESSAGE_TYPE(ServiceListRequest, ServiceListRequest);
CUBE_MESSAGE_TYPE(ServiceInspectRequest, ServiceInspectRequest);
CUBE_MESSAGE_TYPE(ServiceScaleRequest, ServiceScaleRequest);
CUBE_MESSAGE_TYPE(ServiceRemoveRequest, ServiceRemoveRequest);
CUBE_MESSAGE_TYPE(ServiceUpdateRequest, ServiceUpdateRequest);
CUBE_MESSAGE_TYPE(ServiceRollbackRequest, ServiceRollbackRequest);
CUBE_MESSAGE_TYPE(ServiceRestartRequest, ServiceRestartRequest);
CUBE_MESSAGE_TYPE(EventsRequest, EventsRequest);
CUBE_MESSAGE_TYPE(Reply, Reply);
#undef CUBE_MESSAGE_TYPE

}  // namespace cube::protocol
