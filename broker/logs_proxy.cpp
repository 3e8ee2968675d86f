#include "broker/logs_proxy.h"

#include <algorithm>
#include <utility>

#include "common/check.h"

namespace cube::broker {

Result<const AgentRecord*> logs_agent_for(const TaskTable& tasks, const AgentRegistry& agents,
                                          std::string_view task_id) {
  const TaskRecord* record = tasks.find(task_id);
  if (record == nullptr)
    return Status::not_found("no task with ID " + std::string(task_id));
  const Task& task = record->task;
  if (task.node_id.empty()) {
    std::string message = "task " + task.id +
                          " has not been placed on a node yet, so it has no "
                          "logs";
    if (!task.reason.empty())
      message += " (" + std::string(task_state_name(task.state)) + ": " + task.reason + ")";
    return Status::unavailable(std::move(message));
  }
  const AgentRecord* agent = agents.find(task.node_id);
  const std::string name = agent != nullptr && !agent->name.empty() ? agent->name : task.node;
  if (agent == nullptr || agent->state != AgentState::Welcomed || agent->routing_id.empty()) {
    return Status::unavailable("agent " + name + " (" + task.node_id +
                               ") is not connected; the logs of task " + task.id +
                               " are unavailable until it reconnects");
  }
  return agent;
}

LogsProxy::LogsProxy(uint64_t first_fetch_id, Millis timeout)
    : timeout_(timeout), next_fetch_id_(first_fetch_id == 0 ? 1 : first_fetch_id) {}

uint64_t LogsProxy::add(std::vector<zmq::message_t> routing, uint64_t request_id,
                        std::string agent_id, std::string agent_name, std::string task_id,
                        SteadyTime now) {
  uint64_t id = next_fetch_id_++;
  if (next_fetch_id_ == 0)
    next_fetch_id_ = 1;  // 0 is the default of a decoded LOGS_DATA without a fetch id
  Pending p;
  p.routing = std::move(routing);
  p.request_id = request_id;
  p.agent_id = std::move(agent_id);
  p.agent_name = std::move(agent_name);
  p.task_id = std::move(task_id);
  p.deadline = now + timeout_;
  pending_.insert_or_assign(id, std::move(p));
  return id;
}

const LogsProxy::Pending* LogsProxy::find(uint64_t fetch_id) const {
  auto it = pending_.find(fetch_id);
  return it == pending_.end() ? nullptr : &it->second;
}

LogsProxy::Pending LogsProxy::take(uint64_t fetch_id) {
  auto it = pending_.find(fetch_id);
  CUBE_CHECK(it != pending_.end()) << "take() follows a successful find() on the loop thread";
  Pending p = std::move(it->second);
  pending_.erase(it);
  return p;
}

std::vector<LogsProxy::Pending> LogsProxy::take_expired(SteadyTime now) {
  // Few requests wait at once (one per client following logs): a scan beats keeping an index.
  std::vector<std::pair<uint64_t, SteadyTime>> due;
  for (const auto& [id, p] : pending_) {
    if (p.deadline <= now)
      due.emplace_back(id, p.deadline);
  }
  std::sort(due.begin(), due.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  std::vector<Pending> out;
  out.reserve(due.size());
  for (const auto& [id, deadline] : due)
    out.push_back(take(id));
  return out;
}

std::optional<SteadyTime> LogsProxy::next_deadline() const {
  std::optional<SteadyTime> earliest;
  for (const auto& [id, p] : pending_) {
    if (!earliest || p.deadline < *earliest)
      earliest = p.deadline;
  }
  return earliest;
}

}  // namespace cube::broker
