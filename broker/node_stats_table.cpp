#include "broker/node_stats_table.h"

namespace cube::broker {

void NodeStatsTable::drop_tasks_of(const std::string& agent_id, NodeEntry& entry) {
  for (const auto& task_id : entry.task_ids) {
    auto it = tasks_.find(task_id);
    if (it != tasks_.end() && it->second.agent_id == agent_id)
      tasks_.erase(it);
  }
  entry.task_ids.clear();
}

void NodeStatsTable::on_stats(const std::string& agent_id, const protocol::NodeStats& stats) {
  NodeEntry& entry = nodes_[agent_id];
  drop_tasks_of(agent_id, entry);
  entry.usage = stats.usage;
  for (const auto& task : stats.tasks) {
    if (task.task_id.empty())
      continue;
    entry.task_ids.insert(task.task_id);
    tasks_[task.task_id] = TaskEntry{agent_id, task};
  }
}

void NodeStatsTable::forget_node(std::string_view agent_id) {
  auto it = nodes_.find(agent_id);
  if (it == nodes_.end())
    return;
  drop_tasks_of(it->first, it->second);
  nodes_.erase(it);
}

const protocol::NodeUsage* NodeStatsTable::node(std::string_view agent_id) const {
  auto it = nodes_.find(agent_id);
  return it == nodes_.end() ? nullptr : &it->second.usage;
}

const protocol::TaskStats* NodeStatsTable::task(std::string_view task_id, std::string_view node_id,
                                                uint32_t attempt) const {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.agent_id != node_id || it->second.stats.attempt != attempt)
    return nullptr;
  return &it->second.stats;
}

}  // namespace cube::broker
