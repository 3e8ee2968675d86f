// One sample value per CUBE1 message type, with a non-default value in every field, and for each
// the table of its wire keys (including nested maps) with how to reset the field that key
// fills. The golden tests (golden_test.cpp) pin the samples' bytes; the same samples seed the
// fuzz corpora and the round-trip tests.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/messages.h"
#include "tests/unit/protocol/msgpack_bytes.h"

namespace cube::test {

using protocol::Accept;
using protocol::AcceptBatch;
using protocol::AgentHeartbeat;
using protocol::Assign;
using protocol::AssignBatch;
using protocol::AttemptRef;
using protocol::Beacon;
using protocol::BrokerStatus;
using protocol::Capacity;
using protocol::Credit;
using protocol::ErrorMessage;
using protocol::EventFilter;
using protocol::EventsRequest;
using protocol::GetRequest;
using protocol::Hello;
using protocol::ListRequest;
using protocol::LogsChunk;
using protocol::LogsData;
using protocol::LogsFetch;
using protocol::LogsRequest;
using protocol::MessageTraits;
using protocol::MessageType;
using protocol::NodeInfo;
using protocol::NodesRequest;
using protocol::NodeStats;
using protocol::NodeUsage;
using protocol::Reject;
using protocol::Reply;
using protocol::ServiceCreateRequest;
using protocol::ServiceInfo;
using protocol::ServiceInspectRequest;
using protocol::ServiceListRequest;
using protocol::ServiceRemoveRequest;
using protocol::ServiceRestartRequest;
using protocol::ServiceRollbackRequest;
using protocol::ServiceScaleRequest;
using protocol::ServiceUpdateRequest;
using protocol::Snapshot;
using protocol::StatusRequest;
using protocol::Stop;
using protocol::StopRequest;
using protocol::SubmitBatchRequest;
using protocol::SubmitOutcome;
using protocol::SubmitRequest;
using protocol::Sync;
using protocol::TaskStateBatch;
using protocol::TaskStateEvent;
using protocol::TaskStats;
using protocol::Welcome;

// Every message struct of protocol/messages.h, for typed tests.
using AllMessageTypes = ::testing::Types<
    Hello, Welcome, Credit, Assign, Accept, Reject, Stop, Sync, Snapshot, ErrorMessage, LogsFetch,
    LogsData, AssignBatch, AcceptBatch, AgentHeartbeat, TaskStateEvent, NodeStats, TaskStateBatch,
    Beacon, SubmitRequest, ListRequest, GetRequest, StopRequest, NodesRequest, StatusRequest,
    LogsRequest, SubmitBatchRequest, ServiceCreateRequest, ServiceListRequest,
    ServiceInspectRequest, ServiceScaleRequest, ServiceRemoveRequest, ServiceUpdateRequest,
    ServiceRollbackRequest, ServiceRestartRequest, EventsRequest, Reply>;
// Every name protocol::message_type_name knows (NODE_STATS included).
inline constexpr int kMessageTypeCount = 37;

// Building blocks, each with every field set.
Task sample_task();                     // a failed task with exit code 137 and port bindings
Task sample_task_no_exit();             // a running task: exit_code nil, no port bindings
AttemptStatus sample_status_exited();   // exit_code 0
AttemptStatus sample_status_running();  // exit_code nil
AttemptStatus sample_status_killed();   // negative exit_code (killed by a signal)
NodeInfo sample_node();                 // with allocations and a usage sample
NodeUsage sample_node_usage();
TaskStats sample_task_stats();
BrokerStatus sample_broker_status();
Service sample_service();  // 3 replicas of sample_task() as template, every update setting set

template <typename M>
M sample();

// One line for the golden file's header: what the sample is.
template <typename M>
std::string sample_description();

// The reply to a malformed request: error set, no task, no broker (both nil on the wire).
Reply sample_reply_error();

// Messages with the keys added after the first release set (they are written only when set,
// so sample<Hello>() and friends, which leave them empty, keep their original bytes).
Hello sample_hello_with_features();
Welcome sample_welcome_with_features();
Reply sample_reply_submit_batch();  // one task stored, one refused
Reply sample_reply_services();      // the answer to SERVICE_INSPECT: one service, its counts
Reply sample_reply_events();        // the answer to EVENTS: a task and a node event
Assign sample_assign_replica();     // an ASSIGN of a service's replica (service, slot, version)

// "hello", "task_state", "stop_task": the golden file name (without .hex) of a message type.
std::string golden_name(MessageType type);

template <typename M>
std::string golden_name() {
  return golden_name(MessageTraits<M>::kType);
}

// One wire key: where its map is, its name, and how to put the field it fills back to the
// default a decoder leaves when the key is missing.
template <typename M>
struct FieldCase {
  Path map_path;
  std::string key;
  std::function<void(M&)> reset;
};

// Every key of every map in M's sample body, including nested ones (task, capacity, tasks[0],
// port bindings...). golden_test.cpp checks that this covers every key in the golden bytes.
template <typename M>
std::vector<FieldCase<M>> field_cases();

}  // namespace cube::test

// gtest failure output: messages and tasks printed as JSON (via their MessagePack encoding)
// instead of raw object bytes.
namespace cube {
void PrintTo(const Task& task, std::ostream* os);
void PrintTo(const AttemptStatus& status, std::ostream* os);
}  // namespace cube

namespace cube::protocol {
#define CUBE_DECLARE_PRINT(Struct) void PrintTo(const Struct& message, std::ostream* os);
CUBE_DECLARE_PRINT(Hello)
CUBE_DECLARE_PRINT(Welcome)
CUBE_DECLARE_PRINT(Credit)
CUBE_DECLARE_PRINT(Assign)
CUBE_DECLARE_PRINT(Accept)
CUBE_DECLARE_PRINT(Reject)
CUBE_DECLARE_PRINT(Stop)
CUBE_DECLARE_PRINT(Sync)
CUBE_DECLARE_PRINT(Snapshot)
CUBE_DECLARE_PRINT(ErrorMessage)
CUBE_DECLARE_PRINT(LogsFetch)
CUBE_DECLARE_PRINT(LogsData)
CUBE_DECLARE_PRINT(AssignBatch)
CUBE_DECLARE_PRINT(AcceptBatch)
CUBE_DECLARE_PRINT(AgentHeartbeat)
CUBE_DECLARE_PRINT(TaskStateEvent)
CUBE_DECLARE_PRINT(NodeStats)
CUBE_DECLARE_PRINT(TaskStateBatch)
CUBE_DECLARE_PRINT(Beacon)
CUBE_DECLARE_PRINT(SubmitRequest)
CUBE_DECLARE_PRINT(ListRequest)
CUBE_DECLARE_PRINT(GetRequest)
CUBE_DECLARE_PRINT(StopRequest)
CUBE_DECLARE_PRINT(NodesRequest)
CUBE_DECLARE_PRINT(StatusRequest)
CUBE_DECLARE_PRINT(LogsRequest)
CUBE_DECLARE_PRINT(SubmitBatchRequest)
CUBE_DECLARE_PRINT(ServiceCreateRequest)
CUBE_DECLARE_PRINT(ServiceListRequest)
CUBE_DECLARE_PRINT(ServiceInspectRequest)
CUBE_DECLARE_PRINT(ServiceScaleRequest)
CUBE_DECLARE_PRINT(ServiceRemoveRequest)
CUBE_DECLARE_PRINT(ServiceUpdateRequest)
CUBE_DECLARE_PRINT(ServiceRollbackRequest)
CUBE_DECLARE_PRINT(ServiceRestartRequest)
CUBE_DECLARE_PRINT(EventsRequest)
CUBE_DECLARE_PRINT(Reply)
#undef CUBE_DECLARE_PRINT
}  // namespace cube::protocol
