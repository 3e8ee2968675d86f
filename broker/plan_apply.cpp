#include "broker/plan_apply.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <string>

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

// A service task's spread constraints: "cube.node.id!=X" for each node that could take it
// (offers its driver, has credit) but already holds more of the service's live tasks than the
// emptiest such node. Empty when nothing needs avoiding.
std::vector<std::string> spread_constraints(const Task& task, const ServiceTable& services,
                                            const TaskTable& tasks,
                                            std::span<const NodeSnapshot> nodes) {
  std::map<std::string_view, size_t> per_node;
  for (const std::string& id : services.task_ids(task.service)) {
    const TaskRecord* record = tasks.find(id);
    if (record == nullptr || record->task.desired_state != TaskState::Running)
      continue;
    TaskState state = record->task.state;
    if ((state == TaskState::Scheduled || state == TaskState::Running) &&
        !record->task.node_id.empty())
      ++per_node[record->task.node_id];
  }
  std::string_view driver = effective_driver(task.driver);
  std::vector<std::pair<std::string_view, size_t>> eligible;
  for (const NodeSnapshot& node : nodes) {
    if (node.credit == 0 ||
        std::find(node.drivers.begin(), node.drivers.end(), driver) == node.drivers.end())
      continue;
    auto it = per_node.find(node.id);
    eligible.emplace_back(node.id, it == per_node.end() ? 0 : it->second);
  }
  std::vector<std::string> out;
  if (eligible.empty())
    return out;
  size_t least = eligible.front().second;
  for (const auto& [id, count] : eligible)
    least = std::min(least, count);
  for (const auto& [id, count] : eligible) {
    if (count > least)
      out.push_back(std::string(kNodeIdLabel) + "!=" + std::string(id));
  }
  return out;
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
  // Requests of service tasks without a hint constraint: they get spread constraints below.
  std::vector<size_t> spread;
  // One task per service per pass, so each replica's spread sees where the last one went.
  std::set<std::string_view> services_in_pass;
  // Held tasks stay in the queue: look past them so they cannot use up the window.
  size_t window = input.max_tasks + (input.hints != nullptr ? input.hints->held_count() : 0);
  for (std::string_view id : tasks.placement_queue(window)) {
    if (requests.size() >= input.max_tasks)
      break;
    const TaskRecord* record = tasks.find(id);
    const Task& task = record->task;
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
    if (input.services != nullptr && !task.service.empty()) {
      if (!services_in_pass.insert(task.service).second) {
        ++result.deferred;
        continue;
      }
      if (!hinted)
        spread.push_back(requests.size());
    }
    requests.push_back(TaskRequest{
        .id = task.id,
        .driver = task.driver,
        .resources = Resources{task.cpu, task.memory_bytes, task.disk_bytes},
        .constraints = constraints,
    });
    queued.push_back(record);
  }
  if (requests.empty())
    return result;

  // The nodes: Welcomed agents that liveness says are Ready, kept between passes by the view.
  SchedulerView own_view;
  SchedulerView& view = input.view != nullptr ? *input.view : own_view;
  view.refresh(agents, liveness, tasks, input.now);
  std::vector<size_t> spread_requests;  // those that got spread constraints
  for (size_t i : spread) {
    const Task& task = queued[i]->task;
    std::vector<std::string> extra = spread_constraints(task, *input.services, tasks, view.nodes());
    if (extra.empty())
      continue;
    auto& all = hinted_constraints.emplace_back(task.constraints);
    all.insert(all.end(), extra.begin(), extra.end());
    requests[i].constraints = all;
    spread_requests.push_back(i);
  }

  // Schedules `round` (indexes into requests) on the view's nodes and applies the placements;
  // returns the plan's unplaced entries as indexes into requests, with their reasons.
  auto schedule_round = [&](const std::vector<size_t>& round) {
    std::vector<TaskRequest> round_requests;
    for (size_t i : round)
      round_requests.push_back(requests[i]);
    std::span<const NodeSnapshot> nodes = view.nodes();
    std::vector<NodeSnapshot> labelled;  // only with hints: every node labelled with its id
    if (!hinted_constraints.empty()) {
      labelled.assign(nodes.begin(), nodes.end());
      for (auto& node : labelled)
        node.labels[std::string(kNodeIdLabel)] = node.id;
      nodes = labelled;
    }
    Plan plan = schedule(nodes, round_requests, input.policy, result.next_cursor);
    result.next_cursor = plan.next_cursor;
    for (const auto& placement : plan.placements) {
      CUBE_CHECK(placement.task < round.size() && placement.node < nodes.size())
          << "schedule() returns indexes into its inputs";
      const TaskRecord& record = *queued[round[placement.task]];
      std::string_view id = record.task.id;
      AgentRecord* found = agents.find(view.agent_id(placement.node));
      CUBE_CHECK(found != nullptr) << "the view only holds registered agents";
      AgentRecord& agent = *found;
      uint32_t attempt = record.task.attempt + 1;
      if (!agents.add_assignment(agent, id, attempt, input.now + input.assign_timeout).is_ok()) {
        ++result.credit_refused;
        continue;
      }
      tasks.update(
          record, [&](TaskStatus& t) { t.attempt = attempt; }, input.wall);
      Status moved = tasks.transition(record, TaskState::Scheduled, "",
                                      NodeRef{agent.id, agent.name}, input.wall);
      CUBE_CHECK(moved.is_ok()) << "queued tasks are Pending or Scheduled, which may go to "
                                   "Scheduled: "
                                << moved.message();
      out.push_back({agent.id, protocol::Assign{record.task}});
      if (input.hints != nullptr)
        input.hints->erase(id);
      ++result.placed;
    }
    std::vector<std::pair<size_t, std::string>> unplaced;
    for (auto& u : plan.unplaced) {
      CUBE_CHECK(u.task < round.size()) << "schedule() returns indexes into its inputs";
      unplaced.emplace_back(round[u.task], std::move(u.reason));
    }
    return unplaced;
  };

  std::vector<size_t> all(requests.size());
  for (size_t i = 0; i < all.size(); ++i)
    all[i] = i;
  auto unplaced = schedule_round(all);

  // A replica its spread kept off every node that could take it (constraints, resources) goes
  // wherever it fits: spreading is a preference, not a condition.
  std::vector<size_t> relaxed;
  for (const auto& [i, reason] : unplaced) {
    if (std::find(spread_requests.begin(), spread_requests.end(), i) != spread_requests.end()) {
      requests[i].constraints = queued[i]->task.constraints;
      relaxed.push_back(i);
    }
  }
  if (!relaxed.empty()) {
    std::erase_if(unplaced, [&](const auto& u) {
      return std::find(relaxed.begin(), relaxed.end(), u.first) != relaxed.end();
    });
    view.refresh(agents, liveness, tasks, input.now);
    auto again = schedule_round(relaxed);
    unplaced.insert(unplaced.end(), again.begin(), again.end());
  }

  for (const auto& [i, why] : unplaced) {
    const TaskRecord& record = *queued[i];
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
