#include "broker/plan_apply.h"

#include <string>

#include "common/check.h"

namespace cube::broker {

PlanApplyResult plan_and_apply(TaskTable& tasks, AgentRegistry& agents, const Liveness& liveness,
                               const PlanApplyInput& input, std::vector<AgentCommand>& out) {
  PlanApplyResult result;
  result.next_cursor = input.cursor;

  std::vector<std::string> ids;
  std::vector<TaskRequest> requests;
  for (auto& id : tasks.placement_queue(input.max_tasks)) {
    const Task& task = tasks.find(id)->task;
    if (task.desired_state == TaskState::Completed)
      continue;  // being stopped; stop_task ends it
    requests.push_back(TaskRequest{
        .id = task.id,
        .driver = task.driver,
        .resources = Resources{task.cpu, task.memory_bytes, task.disk_bytes},
        .constraints = task.constraints,
    });
    ids.push_back(std::move(id));
  }
  if (requests.empty())
    return result;

  std::vector<NodeSnapshot> nodes;
  std::vector<AgentRecord*> node_agents;
  for (const auto& [agent_id, record] : agents.agents()) {
    if (record.state != AgentState::Welcomed ||
        liveness.state(agent_id, input.now) != NodeState::Ready) {
      continue;
    }
    NodeSnapshot node{
        .id = record.id,
        .name = record.name,
        .drivers = record.drivers,
        .capacity = record.capacity,
        .allocated = {},
        .credit = record.credit(),
        .labels = record.labels,
    };
    for (const auto& task_id : tasks.tasks_on_node(agent_id)) {
      const Task& task = tasks.find(task_id)->task;
      node.allocated.cpu += task.cpu;
      node.allocated.memory_bytes += task.memory_bytes;
      node.allocated.disk_bytes += task.disk_bytes;
    }
    nodes.push_back(std::move(node));
    node_agents.push_back(agents.find(agent_id));
  }

  Plan plan = schedule(nodes, requests, input.policy, input.cursor);
  result.next_cursor = plan.next_cursor;

  for (const auto& placement : plan.placements) {
    CUBE_CHECK(placement.task < ids.size() && placement.node < node_agents.size())
        << "schedule() returns indexes into its inputs";
    const std::string& id = ids[placement.task];
    AgentRecord& agent = *node_agents[placement.node];
    uint32_t attempt = tasks.find(id)->task.attempt + 1;
    if (!agents.add_assignment(agent, id, attempt, input.now + input.assign_timeout).is_ok()) {
      ++result.credit_refused;
      continue;
    }
    (void)tasks.update(
        id, [&](Task& t) { t.attempt = attempt; }, input.wall);
    Status moved =
        tasks.transition(id, TaskState::Scheduled, "", NodeRef{agent.id, agent.name}, input.wall);
    CUBE_CHECK(moved.is_ok()) << "queued tasks are Pending or Scheduled, which may go to "
                                 "Scheduled: "
                              << moved.message();
    out.push_back({agent.id, protocol::Assign{tasks.find(id)->task}});
    ++result.placed;
  }

  for (const auto& unplaced : plan.unplaced) {
    CUBE_CHECK(unplaced.task < ids.size()) << "schedule() returns indexes into its inputs";
    const std::string& id = ids[unplaced.task];
    const Task& task = tasks.find(id)->task;
    std::string reason = task.state == TaskState::Scheduled
                             ? "waiting for a node: " + unplaced.reason
                             : unplaced.reason;
    (void)tasks.set_reason(id, std::move(reason), input.wall);
    ++result.unplaced;
  }
  return result;
}

}  // namespace cube::broker
