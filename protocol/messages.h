// Every message of protocol CUBE1 as a plain struct. The type numbers below and the map keys
// used by protocol/codec.cpp are frozen once released: messages only grow, decoders ignore
// unknown keys and fill defaults for missing ones. docs/protocol.md describes each message;
// tests/golden/ pins their bytes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/task.h"

namespace cube::protocol {

enum class MessageType : uint8_t {
  // agent <-> broker, work ROUTER/DEALER
  Hello = 1,       // agent -> broker
  Welcome = 2,     // broker -> agent
  Credit = 3,      // agent -> broker
  Assign = 4,      // broker -> agent
  Accept = 5,      // agent -> broker
  Reject = 6,      // agent -> broker
  Stop = 7,        // broker -> agent
  Sync = 8,        // broker -> agent: send a Snapshot
  Snapshot = 9,    // agent -> broker
  Error = 10,      // either way: the peer's last message was refused
  LogsFetch = 11,  // broker -> agent: read a task's logs (proxied client LOGS)
  LogsData = 12,   // agent -> broker: the answer to LogsFetch
  // agent -> broker, events PUB/SUB
  AgentHeartbeat = 20,
  TaskStateEvent = 21,
  NodeStats = 22,  // agent -> broker: node and per-task resource usage
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
  // broker -> client
  Reply = 60,
};

// "HELLO", "CREDIT", ... for logs and counters; "UNKNOWN" for numbers not listed above.
const char* message_type_name(uint8_t type);

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
  friend bool operator==(const Hello&, const Hello&) = default;
};

struct Welcome {
  std::string session_id;
  std::string broker_epoch;  // random per broker start; the beacon repeats it
  int64_t heartbeat_ms = 0;
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
  friend bool operator==(const BrokerStatus&, const BrokerStatus&) = default;
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
CUBE_MESSAGE_TYPE(AgentHeartbeat, AgentHeartbeat);
CUBE_MESSAGE_TYPE(TaskStateEvent, TaskStateEvent);
CUBE_MESSAGE_TYPE(NodeStats, NodeStats);
CUBE_MESSAGE_TYPE(Beacon, Beacon);
CUBE_MESSAGE_TYPE(SubmitRequest, SubmitRequest);
CUBE_MESSAGE_TYPE(ListRequest, ListRequest);
CUBE_MESSAGE_TYPE(GetRequest, GetRequest);
CUBE_MESSAGE_TYPE(StopRequest, StopRequest);
CUBE_MESSAGE_TYPE(NodesRequest, NodesRequest);
CUBE_MESSAGE_TYPE(StatusRequest, StatusRequest);
CUBE_MESSAGE_TYPE(LogsRequest, LogsRequest);
CUBE_MESSAGE_TYPE(Reply, Reply);
#undef CUBE_MESSAGE_TYPE

}  // namespace cube::protocol
