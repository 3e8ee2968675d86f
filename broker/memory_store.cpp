#include "broker/memory_store.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/codec.h"

namespace cube::broker {

std::string_view MemoryStore::id_of(std::string_view blob) {
  return protocol::peek_task_id(blob);
}

const MemoryStore::Entry& MemoryStore::entry(std::string_view id) {
  if (auto it = tasks_.find(id); it != tasks_.end())
    return *it;
  Task only_id;
  only_id.id = std::string(id);
  Entry added;
  added.blob = protocol::encode_task_compact(only_id);
  added.index = static_cast<uint32_t>(entries_.size());
  const Entry& stored = *tasks_.insert(std::move(added)).first;
  entries_.push_back(&stored);
  return stored;
}

Status MemoryStore::commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) {
  if (next_failure_) {
    Status failure = std::move(*next_failure_);
    next_failure_.reset();
    return failure;
  }
  for (const auto& task : upserts) {
    std::string blob = protocol::encode_task_compact(task);
    if (auto it = tasks_.find(std::string_view(task.id)); it != tasks_.end()) {
      it->blob = std::move(blob);  // the same id
      it->stored = true;
      continue;
    }
    Entry added{std::move(blob), static_cast<uint32_t>(entries_.size()), true};
    entries_.push_back(&*tasks_.insert(std::move(added)).first);
  }
  for (const auto& [task_id, event] : events) {
    event_tasks_.push_back(entry(task_id).index);
    event_log_.push_back(PackedEvent::pack(event, strings_));
  }
  ++commit_count_;
  return Status::ok();
}

Result<std::vector<Task>> MemoryStore::load_all() {
  std::vector<Task> out;
  out.reserve(tasks_.size());
  std::vector<const Entry*> entries = entries_;
  std::sort(entries.begin(), entries.end(),
            [](const Entry* a, const Entry* b) { return id_of(a->blob) < id_of(b->blob); });
  for (const Entry* stored : entries) {
    if (!stored->stored)
      continue;  // only history names it
    const std::string& blob = stored->blob;
    std::string id(id_of(blob));
    Task task;
    Status decoded = protocol::decode_task(blob, task);
    if (!decoded.is_ok())
      return Status::internal("stored task " + id + " does not decode: " + decoded.message());
    out.push_back(std::move(task));
  }
  return out;
}

Result<std::vector<TaskEventRecord>> MemoryStore::load_events() {
  std::vector<TaskEventRecord> out;
  out.reserve(event_log_.size());
  for (size_t i = 0; i < event_log_.size(); ++i) {
    if (event_tasks_[i] >= entries_.size())
      return Status::internal("the in-memory history log is damaged");
    out.emplace_back(std::string(id_of(entries_[event_tasks_[i]]->blob)),
                     event_log_[i].unpack(strings_));
  }
  return out;
}

}  // namespace cube::broker

namespace cube::broker {

Status MemoryStore::commit_services(std::span<const Service> upserts,
                                    std::span<const std::string> removed) {
  if (next_failure_) {
    Status failure = std::move(*next_failure_);
    next_failure_.reset();
    return failure;
  }
  for (const auto& service : upserts)
    services_[service.name] = protocol::encode_service(service);
  for (const auto& name : removed)
    services_.erase(name);
  return Status::ok();
}

Result<std::vector<Service>> MemoryStore::load_services() {
  std::vector<Service> out;
  for (const auto& [name, blob] : services_) {
    Service service;
    if (Status s = protocol::decode_service(blob, service); !s.is_ok())
      return Status::internal("stored service " + name + " does not decode: " + s.message());
    out.push_back(std::move(service));
  }
  return out;
}

}  // namespace cube::broker
