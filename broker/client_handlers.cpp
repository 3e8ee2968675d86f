// Client requests on the client ROUTER. Reads (LIST, GET, NODES, STATUS) are answered at once
// from the broker's current view; SUBMIT, SUBMIT_BATCH and STOP_TASK change tasks and are
// answered through the outbox once that change is committed (broker/outbox.h). Every handler is
// idempotent, since a Lazy Pirate client repeats a request it got no answer for.
#include <spdlog/spdlog.h>

#include "broker/admission.h"
#include "broker/handlers.h"
#include "common/ids.h"
#include "protocol/task_validation.h"

namespace cube::broker {
namespace {

using protocol::MessageType;
using protocol::SubmitOutcome;

SubmitOutcome accepted(std::string task_id) {
  return {std::move(task_id), ErrorCode::Ok, ""};
}

SubmitOutcome refused(std::string task_id, const Status& why) {
  return {std::move(task_id), why.code(), why.message()};
}

// STOP_TASK, and a submitted task with State 3 (the prior orchestrators' way to stop a task).
// OK with the task's ID, or why it cannot be stopped (NotFound), in which case nothing changed.
SubmitOutcome stop_task(BrokerState& state, const std::string& task_id) {
  Status s = state.lifecycle.stop_task(task_id, state.clock.wall(), state.commands);
  state.queue_commands();
  if (!s.is_ok())
    return refused(task_id, s);
  state.metrics.on_stopped(task_id);
  bump(state.counters, "client.stops");
  state.schedule_needed = true;
  return accepted(task_id);
}

// One submitted task, alone (SUBMIT) or in a SUBMIT_BATCH, so both take the same path: State 3
// stops that ID; then validation, idempotency by ID, admission (task policy, rate, --max-pending)
// and the new Pending task. Returns OK with the ID of the task as it will be stored once the
// current changes are committed (the one sent, or one chosen here for an older client that sent
// none), or why the task was refused, in which case it changed nothing. Replies nothing: an OK
// outcome must reach the client only through the outbox (queue_reply). An accepted task's spec
// is moved out of `submitted`.
SubmitOutcome submit_task(BrokerState& state, const Inbound& in, Task& submitted) {
  if (submitted.desired_state == TaskState::Completed) {
    if (submitted.id.empty()) {
      return refused("", Status::invalid("a task with State 3 (Completed) stops the task with "
                                         "its ID, but no ID was given"));
    }
    return stop_task(state, submitted.id);
  }
  if (Status s = validate_task_spec(submitted); !s.is_ok())
    return refused(submitted.id, s);
  if (!submitted.id.empty() && state.tasks.find(submitted.id) != nullptr) {
    // Idempotent: a retry (or a second submit) of the same ID returns the stored task.
    bump(state.counters, "client.submit_duplicates");
    return accepted(submitted.id);
  }
  if (Status s = admit_submit(state, in, submitted); !s.is_ok())
    return refused(submitted.id, s);

  SystemTime wall = state.clock.wall();
  // Only what the user asks for: the broker owns every status field of a new task. The default
  // driver is resolved here, once: everything downstream (scheduler, agent) sees it set.
  Task task;
  static_cast<TaskSpec&>(task) = std::move(static_cast<TaskSpec&>(submitted));
  task.driver = std::string(effective_driver(task.driver));
  if (task.id.empty())
    task.id = new_uuid_v7(wall);  // only older clients send none (docs/protocol.md)
  task.state = TaskState::Pending;
  task.desired_state = TaskState::Running;
  task.created_ms = to_unix_ms(wall);
  std::string id = task.id;
  auto added = state.tasks.add(std::move(task), wall);
  if (!added.is_ok())
    return refused(std::move(id), Status::internal(added.status().message()));
  state.metrics.on_submitted((*added)->task.id, state.clock.now());
  bump(state.counters, "client.submits");
  state.schedule_needed = true;
  return accepted(std::move(id));
}

// Answers a request about one task: a refusal at once (it changed nothing, broker/outbox.h), the
// task once the commit holding the change is stored.
void answer(BrokerState& state, const Inbound& in, uint64_t request_id,
            const SubmitOutcome& outcome) {
  if (outcome.error_code != ErrorCode::Ok)
    return state.reply_error(in.routing(), request_id, outcome.status());
  state.reply_after_commit(in.routing(), request_id, outcome.task_id);
}

void on_submit(BrokerState& state, Inbound& in, protocol::SubmitRequest& req) {
  answer(state, in, req.request_id, submit_task(state, in, req.task));
}

// Each task as its own SUBMIT would be; one refused task does not fail the others. The reply
// carries every outcome in the request's order and leaves after the commit holding every task
// it reports as stored, like SUBMIT's.
void on_submit_batch(BrokerState& state, Inbound& in, protocol::SubmitBatchRequest& req) {
  // No task, too many, or one ID twice: refused whole before anything changed, so answered at
  // once.
  if (Status s = check_submit_batch(req.tasks); !s.is_ok())
    return state.reply_error(in.routing(), req.request_id, s);
  bump(state.counters, "client.submit_batches");
  protocol::Reply reply;
  reply.request_id = req.request_id;
  reply.submitted.reserve(req.tasks.size());
  for (Task& task : req.tasks) {
    reply.submitted.push_back(submit_task(state, in, task));
    if (reply.submitted.back().error_code != ErrorCode::Ok)
      bump(state.counters, "client.submit_batch_refused");
  }
  state.queue_reply(in.routing(), reply);
}

void on_stop(BrokerState& state, Inbound& in, protocol::StopRequest& req) {
  answer(state, in, req.request_id, stop_task(state, req.task_id));
}

void on_list(BrokerState& state, Inbound& in, protocol::ListRequest& req) {
  protocol::Reply r;
  r.request_id = req.request_id;
  r.tasks.reserve(state.tasks.size());
  for (const TaskRecord* record : state.tasks.records_by_id())
    r.tasks.push_back(record->task);
  state.reply(in.routing(), r);
}

void on_get(BrokerState& state, Inbound& in, protocol::GetRequest& req) {
  const TaskRecord* record = state.tasks.find(req.task_id);
  if (record == nullptr) {
    return state.reply_error(in.routing(), req.request_id,
                             Status::not_found("no task with ID " + req.task_id));
  }
  protocol::Reply r;
  r.request_id = req.request_id;
  r.task = record->task;
  r.events = record->history.to_vector();
  const Task& task = record->task;
  if (task.state == TaskState::Running) {
    if (const auto* stats = state.node_stats.task(task.id, task.node_id, task.attempt))
      r.task_stats = *stats;
  }
  state.reply(in.routing(), r);
}

void on_nodes(BrokerState& state, Inbound& in, protocol::NodesRequest& req) {
  protocol::Reply r;
  r.request_id = req.request_id;
  for (const auto& [id, agent] : state.agents.agents())
    r.nodes.push_back(node_info(state, agent));
  state.reply(in.routing(), r);
}

void on_status(BrokerState& state, Inbound& in, protocol::StatusRequest& req) {
  protocol::Reply r;
  r.request_id = req.request_id;
  r.broker = broker_status(state);
  state.reply(in.routing(), r);
}

}  // namespace

void add_client_handlers(MessageTable& table) {
  table.add<protocol::SubmitRequest, on_submit>(BrokerSocket::Client);
  table.add<protocol::SubmitBatchRequest, on_submit_batch>(BrokerSocket::Client);
  table.add<protocol::StopRequest, on_stop>(BrokerSocket::Client);
  table.add<protocol::ListRequest, on_list>(BrokerSocket::Client);
  table.add<protocol::GetRequest, on_get>(BrokerSocket::Client);
  table.add<protocol::NodesRequest, on_nodes>(BrokerSocket::Client);
  table.add<protocol::StatusRequest, on_status>(BrokerSocket::Client);
}

}  // namespace cube::broker
