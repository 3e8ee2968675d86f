#include "broker/memory_store.h"

#include <utility>

namespace cube::broker {

Status MemoryStore::commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) {
  if (next_failure_) {
    Status failure = std::move(*next_failure_);
    next_failure_.reset();
    return failure;
  }
  for (const auto& task : upserts)
    tasks_[task.id] = task;
  events_.insert(events_.end(), events.begin(), events.end());
  ++commit_count_;
  return Status::ok();
}

Result<std::vector<Task>> MemoryStore::load_all() {
  std::vector<Task> out;
  out.reserve(tasks_.size());
  for (const auto& [id, task] : tasks_)
    out.push_back(task);
  return out;
}

Result<std::vector<TaskEventRecord>> MemoryStore::load_events() {
  return events_;
}

}  // namespace cube::broker
