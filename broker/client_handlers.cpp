// Client requests on the client ROUTER. Reads (LIST, GET, NODES, STATUS) are answered at once
// from the broker's current view; SUBMIT and STOP_TASK change tasks and are answered through the
// outbox once that change is committed (broker/outbox.h). Every handler is idempotent, since a
// Lazy Pirate client repeats a request it got no answer for.
#include <spdlog/spdlog.h>

#include "broker/admission.h"
#include "broker/handlers.h"
#include "common/ids.h"
#include "protocol/task_validation.h"

namespace cube::broker {
namespace {

using protocol::MessageType;

// STOP_TASK, and SUBMIT with State 3 (the prior orchestrators' way to stop a task).
void stop_task(BrokerState& state, const Inbound& in, uint64_t request_id,
               const std::string& task_id) {
  Status s = state.lifecycle.stop_task(task_id, state.clock.wall(), state.commands);
  state.queue_commands();
  if (!s.is_ok())
    return state.reply_error(in.routing(), request_id, s);
  state.metrics.on_stopped(task_id);
  bump(state.counters, "client.stops");
  state.schedule_needed = true;
  state.reply_after_commit(in.routing(), request_id, task_id);
}

void on_submit(BrokerState& state, Inbound& in, protocol::SubmitRequest& req) {
  const Task& submitted = req.task;
  if (submitted.desired_state == TaskState::Completed) {
    if (submitted.id.empty()) {
      return state.reply_error(in.routing(), req.request_id,
                               Status::invalid("a task with State 3 (Completed) stops the task "
                                               "with its ID, but no ID was given"));
    }
    return stop_task(state, in, req.request_id, submitted.id);
  }
  if (Status s = validate_task_spec(submitted); !s.is_ok())
    return state.reply_error(in.routing(), req.request_id, s);
  if (!submitted.id.empty() && state.tasks.find(submitted.id) != nullptr) {
    // Idempotent: a retry (or a second submit) of the same ID returns the stored task.
    bump(state.counters, "client.submit_duplicates");
    return state.reply_after_commit(in.routing(), req.request_id, submitted.id);
  }
  if (Status s = admit_submit(state, in, submitted); !s.is_ok())
    return state.reply_error(in.routing(), req.request_id, s);

  SystemTime wall = state.clock.wall();
  // Only what the user asks for: the broker owns every status field of a new task. The default
  // driver is resolved here, once: everything downstream (scheduler, agent) sees it set.
  Task task;
  static_cast<TaskSpec&>(task) = submitted;
  task.driver = std::string(effective_driver(task.driver));
  if (task.id.empty())
    task.id = new_uuid_v7(wall);  // only older clients send none (docs/protocol.md)
  task.state = TaskState::Pending;
  task.desired_state = TaskState::Running;
  task.created_ms = to_unix_ms(wall);
  std::string id = task.id;
  if (Status added = state.tasks.add(std::move(task), wall); !added.is_ok())
    return state.reply_error(in.routing(), req.request_id, Status::internal(added.message()));
  state.metrics.on_submitted(id, state.clock.now());
  bump(state.counters, "client.submits");
  state.schedule_needed = true;
  state.reply_after_commit(in.routing(), req.request_id, id);
}

void on_stop(BrokerState& state, Inbound& in, protocol::StopRequest& req) {
  stop_task(state, in, req.request_id, req.task_id);
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
  r.events = record->history;
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
  table.add<protocol::StopRequest, on_stop>(BrokerSocket::Client);
  table.add<protocol::ListRequest, on_list>(BrokerSocket::Client);
  table.add<protocol::GetRequest, on_get>(BrokerSocket::Client);
  table.add<protocol::NodesRequest, on_nodes>(BrokerSocket::Client);
  table.add<protocol::StatusRequest, on_status>(BrokerSocket::Client);
}

}  // namespace cube::broker
