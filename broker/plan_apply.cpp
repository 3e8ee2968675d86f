#include "broker/plan_apply.h"

#include <algorithm>
#include <deque>
#include <string>
#include <unordered_map>

#include "broker/node_readiness.h"
#include "common/check.h"

namespace cube::broker {
namespace {

// The constraint that carries a task's placement hint to the scheduler, or "" when the hint
// does not restrict this pass (no hint; a preferred node that is not ready and nothing to avoid).
std::string hint_constraint(const PlacementHint& hint, const AgentRegistry& agents,
                            const Liveness& liveness, SteadyTime now) {
  if (!hint.prefer_node.empty()) {
    const AgentRecord* node = agents.find(hint.prefer_node);
    if (node != nullptr && is_placeable(*node, liveness, now)) {
      return std::string(kNodeIdLabel) + "=" + hint.prefer_node;
    }
  }
  if (!hint.avoid_node.empty())
    return std::string(kNodeIdLabel) + "!=" + hint.avoid_node;
  return "";
}

// "node a1" for reasons, falling back to the id.
std::string node_name(const AgentRegistry& agents, const std::string& id) {
  const AgentRecord* node = agents.find(id);
  return "node " + (node != nullptr && !node->name.empty() ? node->name : id);
}

// Spread groups for the services of the queued tasks (group g is services_of[g]): per node of
// the view, that service's live tasks placed there (Scheduled or Running, to keep running).
std::vector<SpreadGroup> spread_groups(const std::vector<std::string_view>& services_of,
                                       const ServiceTable& services, const TaskTable& tasks,
                                       std::span<const NodeSnapshot> nodes) {
  std::vector<SpreadGroup> groups(services_of.size());
  if (groups.empty())
    return groups;
  std::unordered_map<std::string_view, size_t> node_index;
  node_index.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    node_index.emplace(nodes[i].id, i);
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<uint32_t>& per_node = groups[g].per_node;
    per_node.assign(nodes.size(), 0);
    for (const std::string& id : services.task_ids(services_of[g])) {
      const TaskRecord* record = tasks.find(id);
      if (record == nullptr || record->task.desired_state != TaskState::Running)
        continue;
      TaskState state = record->task.state;
      if (state != TaskState::Scheduled && state != TaskState::Running)
        continue;
      if (auto it = node_index.find(record->task.node_id); it != node_index.end())
        ++per_node[it->second];
    }
  }
  return groups;
}

}  // namespace

PlanApplyResult plan_and_apply(TaskTable& tasks, AgentRegistry& agents, const Liveness& liveness,
                               const PlanApplyInput& input, std::vector<AgentCommand>& out) {
  PlanApplyResult result;
  result.next_cursor = input.cursor;

  std::vector<const TaskRecord*> queued;  // parallel to requests
  std::vector<TaskRequest> requests;
  // Constraints of hinted tasks (their own plus the hint's); a deque keeps the spans valid.
  std::deque<std::vector<std::string>> hinted_constraints;
  // Service tasks without a hint constraint are spread: one group per service (services_of).
  std::vector<std::string_view> services_of;
  std::unordered_map<std::string_view, uint32_t> group_of_service;
  // Held tasks stay in the queue: look past them so they cannot use up the window.
  size_t window = input.max_tasks + (input.hints != nullptr ? input.hints->held_count() : 0);
  for (const TaskRecord* record : tasks.placement_queue_records(window)) {
    if (requests.size() >= input.max_tasks)
      break;
    const Task& task = record->task;
    std::string_view id = task.id;
    if (task.desired_state == TaskState::Completed)
      continue;  // being stopped; stop_task ends it
    std::span<const std::string> constraints = task.constraints;
    bool hinted = false;
    if (const PlacementHint* hint = input.hints != nullptr ? input.hints->find(id) : nullptr) {
      if (hint->hold_until && *hint->hold_until > input.now)
        continue;  // restart backoff
      std::string extra = hint_constraint(*hint, agents, liveness, input.now);
      if (!extra.empty()) {
        auto& all = hinted_constraints.emplace_back(task.constraints);
        all.push_back(std::move(extra));
        constraints = all;
        hinted = true;
      }
    }
    uint32_t group = kNoSpreadGroup;
    if (input.services != nullptr && !task.service.empty() && !hinted) {
      auto [it, added] =
          group_of_service.try_emplace(task.service, static_cast<uint32_t>(services_of.size()));
      if (added)
        services_of.push_back(task.service);
      group = it->second;
    }
    requests.push_back(TaskRequest{
        .id = task.id,
        .driver = task.driver,
        .resources = Resources{task.cpu, task.memory_bytes, task.disk_bytes},
        .constraints = constraints,
        .spread_group = group,
    });
    queued.push_back(record);
  }
  if (requests.empty())
    return result;

  // The nodes: Welcomed agents that liveness says are Ready, kept between passes by the view.
  SchedulerView own_view;
  SchedulerView& view = input.view != nullptr ? *input.view : own_view;
  view.refresh(agents, liveness, tasks, input.now);
  const std::vector<SpreadGroup> groups =
      input.services != nullptr ? spread_groups(services_of, *input.services, tasks, view.nodes())
                                : std::vector<SpreadGroup>{};

  std::span<const NodeSnapshot> nodes = view.nodes();
  std::vector<NodeSnapshot> labelled;  // only with hints: every node labelled with its id
  if (!hinted_constraints.empty()) {
    labelled.assign(nodes.begin(), nodes.end());
    for (auto& node : labelled)
      node.labels[std::string(kNodeIdLabel)] = node.id;
    nodes = labelled;
  }
  Plan plan = schedule(nodes, requests, input.policy, result.next_cursor, groups);
  result.next_cursor = plan.next_cursor;
  for (const auto& placement : plan.placements) {
    CUBE_CHECK(placement.task < queued.size() && placement.node < nodes.size())
        << "schedule() returns indexes into its inputs";
    const TaskRecord& record = *queued[placement.task];
    std::string_view id = record.task.id;
    AgentRecord* found = agents.find(view.agent_id(placement.node));
    CUBE_CHECK(found != nullptr) << "the view only holds registered agents";
    AgentRecord& agent = *found;
    uint32_t attempt = record.task.attempt + 1;
    if (!agents
             .add_assignment(agent, id, attempt, input.now + input.assign_timeout,
                             input.assign_timeout)
             .is_ok()) {
      ++result.credit_refused;
      continue;
    }
    tasks.update(
        record, [&](TaskStatus& t) { t.attempt = attempt; }, input.wall);
    Status moved = tasks.transition(record, TaskState::Scheduled, "", NodeRef{agent.id, agent.name},
                                    input.wall);
    CUBE_CHECK(moved.is_ok()) << "queued tasks are Pending or Scheduled, which may go to "
                                 "Scheduled: "
                              << moved.message();
    out.push_back({agent.id, protocol::Assign{record.task}});
    if (input.hints != nullptr)
      input.hints->erase(id);
    ++result.placed;
  }

  for (const Unplaced& u : plan.unplaced) {
    CUBE_CHECK(u.task < queued.size()) << "schedule() returns indexes into its inputs";
    const TaskRecord& record = *queued[u.task];
    const std::string& why = u.reason;
    std::string_view id = record.task.id;
    const Task& task = record.task;
    std::string reason = task.state == TaskState::Scheduled ? "waiting for a node: " + why : why;
    if (const PlacementHint* hint = input.hints != nullptr ? input.hints->find(id) : nullptr) {
      std::string extra = hint_constraint(*hint, agents, liveness, input.now);
      if (extra.find("!=") != std::string::npos) {
        reason =
            "waiting for a node other than " + node_name(agents, hint->avoid_node) + ": " + why;
      } else if (!extra.empty()) {
        reason = "waiting for " + node_name(agents, hint->prefer_node) +
                 " (a restart stays on its node): " + why;
      }
    }
    tasks.set_reason(record, std::move(reason), input.wall);
    ++result.unplaced;
  }
  return result;
}

}  // namespace cube::broker
