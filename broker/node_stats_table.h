// NodeStatsTable: the latest NODE_STATS of each agent and the latest usage of each task, for
// `cube-client nodes` and `get`. Kept in memory only: stats are lossy and short-lived (a new
// sample every few seconds), so they are neither persisted nor replayed after a broker restart,
// and the scheduler never reads them (it places against declared capacity minus allocations,
// docs/decisions.md).
//
// Each NODE_STATS replaces everything its agent reported before: the node's usage, and the set
// of tasks with usage from that agent (a task the agent no longer reports loses its usage,
// unless another agent reported it since: the task moved).
//
// Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "protocol/messages.h"

namespace cube::broker {

class NodeStatsTable {
 public:
  // Records `stats` as agent `agent_id`'s latest (the caller has authenticated it).
  void on_stats(const std::string& agent_id, const protocol::NodeStats& stats);

  // Forgets what agent `agent_id` reported (it was lost: its numbers are no longer live).
  void forget_node(std::string_view agent_id);

  // The agent's latest usage; nullptr when it has sent none (or was forgotten).
  const protocol::NodeUsage* node(std::string_view agent_id) const;

  // The latest usage of task `task_id`, when agent `node_id` reported it for `attempt`;
  // nullptr otherwise (a stale attempt or another node's report is not this run's usage).
  const protocol::TaskStats* task(std::string_view task_id, std::string_view node_id,
                                  uint32_t attempt) const;

  size_t node_count() const { return nodes_.size(); }
  size_t task_count() const { return tasks_.size(); }

 private:
  struct NodeEntry {
    protocol::NodeUsage usage;
    std::set<std::string, std::less<>> task_ids;  // the tasks its last report listed
  };
  struct TaskEntry {
    std::string agent_id;  // who reported it
    protocol::TaskStats stats;
  };
  void drop_tasks_of(const std::string& agent_id, NodeEntry& entry);

  std::map<std::string, NodeEntry, std::less<>> nodes_;
  std::map<std::string, TaskEntry, std::less<>> tasks_;
};

}  // namespace cube::broker
