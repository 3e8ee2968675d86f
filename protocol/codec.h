// MessagePack bodies of the CUBE1 messages (protocol/messages.h).
//
// encode_body: one map per message, keys in a fixed order so the bytes are stable (pinned by
// tests/golden/). decode_body: defensive. The body is unpacked with size and depth limits,
// every field is type-checked, unknown keys are ignored and missing keys keep the struct's
// defaults. A malformed body returns Invalid naming the field ("field \"seq\": expected an
// unsigned integer"); it never throws and never crashes.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/messages.h"

namespace cube::protocol {

#define CUBE_DECLARE_CODEC(Struct)                \
  std::string encode_body(const Struct& message); \
  Status decode_body(std::string_view body, Struct& out);

CUBE_DECLARE_CODEC(Hello)
CUBE_DECLARE_CODEC(Welcome)
CUBE_DECLARE_CODEC(Credit)
CUBE_DECLARE_CODEC(Assign)
CUBE_DECLARE_CODEC(Accept)
CUBE_DECLARE_CODEC(Reject)
CUBE_DECLARE_CODEC(Stop)
CUBE_DECLARE_CODEC(Sync)
CUBE_DECLARE_CODEC(Snapshot)
CUBE_DECLARE_CODEC(ErrorMessage)
CUBE_DECLARE_CODEC(LogsFetch)
CUBE_DECLARE_CODEC(LogsData)
CUBE_DECLARE_CODEC(AssignBatch)
CUBE_DECLARE_CODEC(AcceptBatch)
CUBE_DECLARE_CODEC(AgentHeartbeat)
CUBE_DECLARE_CODEC(TaskStateEvent)
CUBE_DECLARE_CODEC(NodeStats)
CUBE_DECLARE_CODEC(TaskStateBatch)
CUBE_DECLARE_CODEC(Beacon)
CUBE_DECLARE_CODEC(SubmitRequest)
CUBE_DECLARE_CODEC(ListRequest)
CUBE_DECLARE_CODEC(GetRequest)
CUBE_DECLARE_CODEC(StopRequest)
CUBE_DECLARE_CODEC(NodesRequest)
CUBE_DECLARE_CODEC(StatusRequest)
CUBE_DECLARE_CODEC(LogsRequest)
CUBE_DECLARE_CODEC(SubmitBatchRequest)
CUBE_DECLARE_CODEC(ServiceCreateRequest)
CUBE_DECLARE_CODEC(ServiceListRequest)
CUBE_DECLARE_CODEC(ServiceInspectRequest)
CUBE_DECLARE_CODEC(ServiceScaleRequest)
CUBE_DECLARE_CODEC(ServiceRemoveRequest)
CUBE_DECLARE_CODEC(ServiceUpdateRequest)
CUBE_DECLARE_CODEC(ServiceRollbackRequest)
CUBE_DECLARE_CODEC(ServiceRestartRequest)
CUBE_DECLARE_CODEC(EventsRequest)
CUBE_DECLARE_CODEC(Reply)
#undef CUBE_DECLARE_CODEC

// Decodes a body into a fresh M.
template <typename M>
Result<M> decode_as(std::string_view body) {
  M out;
  Status s = decode_body(body, out);
  if (!s.is_ok())
    return s;
  return out;
}

// Reads the request id of any client request body without decoding the rest, so that even a
// request whose other fields are malformed gets an error reply the client can match. 0 when the
// body has none.
uint64_t peek_request_id(std::string_view body);

// A bare Task or TaskEvent as the same MessagePack map it has inside messages (the "Task map
// keys" of docs/protocol.md), for storage: broker/sqlite_store.cpp keeps each task and history
// entry as one of these blobs, so stored rows follow the wire's rules (maps only grow; unknown
// keys are ignored and missing keys keep their defaults). Decoding is as defensive as
// decode_body: Invalid naming the field, never a throw. Pure functions.
std::string encode_task(const Task& task);
// A service as the stores keep it: its MessagePack map (protocol/wire_fields.h), so the stored
// form follows the wire's compatibility rules.
std::string encode_service(const Service& service);
Status decode_service(std::string_view bytes, Service& out);
Status decode_task(std::string_view bytes, Task& out);
std::string encode_task_event(const TaskEvent& event);
Status decode_task_event(std::string_view bytes, TaskEvent& out);

// The same maps without the keys whose value is the field's default (decode_task and
// decode_task_event read them back to the same value: a missing key keeps its default), about
// half the bytes of a typical task; for stores that keep many tasks in memory. A task's "id",
// when not empty, is the first key of both forms.
std::string encode_task_compact(const Task& task);
std::string encode_task_event_compact(const TaskEvent& event);
// The same bytes as encode_task_event_compact, appended to `out` (a log of many events grows in
// place instead of allocating each one).
void append_task_event_compact(const TaskEvent& event, std::string& out);
// The "id" at the start of a task blob made by encode_task or encode_task_compact; "" when it
// has none. Reads a few bytes, decodes nothing else.
std::string_view peek_task_id(std::string_view blob);

}  // namespace cube::protocol
