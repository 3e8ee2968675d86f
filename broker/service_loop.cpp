#include "broker/service_loop.h"

#include <spdlog/spdlog.h>

#include "common/check.h"
#include "common/ids.h"

namespace cube::broker {
namespace {

std::vector<ReplicaTask> replica_tasks(const BrokerState& state, const std::string& service) {
  std::vector<ReplicaTask> out;
  for (const std::string& id : state.services.task_ids(service)) {
    const TaskRecord* record = state.tasks.find(id);
    if (record == nullptr)
      continue;
    const Task& t = record->task;
    out.push_back({t.id, t.slot, t.state, t.desired_state, t.created_ms});
  }
  return out;
}

// Makes the task of `service` for `slot`, Pending.
void create_replica(BrokerState& state, const Service& service, uint32_t slot, SystemTime wall) {
  Task task = service.task_template;
  task.id = new_uuid_v7(wall);
  task.name = replica_name(service.name, slot);
  task.service = service.name;
  task.slot = slot;
  task.service_version = service.template_version;
  task.state = TaskState::Pending;
  task.desired_state = TaskState::Running;
  task.created_ms = to_unix_ms(wall);
  std::string id = task.id;
  Status added = state.tasks.add(std::move(task), wall);
  CUBE_CHECK(added.is_ok()) << "a fresh UUIDv7 is not in the table: " << added.message();
  state.services.add_task(service.name, std::move(id));
  state.schedule_needed = true;
}

bool stop(BrokerState& state, std::string_view task_id, SystemTime wall) {
  Status s = state.lifecycle.stop_task(task_id, wall, state.commands);
  if (!s.is_ok()) {
    spdlog::warn("service loop: cannot stop task {}: {}", task_id, s.message());
    return false;
  }
  state.schedule_needed = true;
  return true;
}

}  // namespace

ServiceLoopResult reconcile_services(BrokerState& state) {
  ServiceLoopResult result;
  SystemTime wall = state.clock.wall();
  for (const auto& [name, service] : state.services.services()) {
    std::vector<ReplicaTask> tasks = replica_tasks(state, name);
    ServicePlan plan = reconcile_service(service, tasks);
    for (std::string_view id : plan.stop)
      result.stopped += stop(state, id, wall);
    for (uint32_t slot : plan.create) {
      create_replica(state, service, slot, wall);
      ++result.created;
    }
  }
  for (const std::string& name : state.services.orphans()) {
    for (const ReplicaTask& task : replica_tasks(state, name)) {
      if (is_live(task))
        result.stopped += stop(state, task.id, wall);
    }
    state.services.forget_tasks(name);
  }
  if (result.created > 0)
    bump(state.counters, "services.tasks_created", result.created);
  if (result.stopped > 0)
    bump(state.counters, "services.tasks_stopped", result.stopped);
  state.queue_commands();
  return result;
}

protocol::ServiceInfo service_info(const BrokerState& state, const Service& service) {
  protocol::ServiceInfo info{service, 0, 0};
  for (const std::string& id : state.services.task_ids(service.name)) {
    const TaskRecord* record = state.tasks.find(id);
    if (record == nullptr || is_terminal(record->task.state))
      continue;
    ++info.tasks;
    if (record->task.state == TaskState::Running &&
        record->task.service_version == service.template_version)
      ++info.running;
  }
  return info;
}

}  // namespace cube::broker
