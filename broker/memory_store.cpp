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
namespace {

void append_u32(std::string& log, uint32_t value) {
  log.append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Reads a u32 at `offset` and moves past it; false when the log is cut short.
bool read_u32(std::string_view log, size_t& offset, uint32_t& out) {
  if (log.size() - offset < sizeof out)
    return false;
  std::memcpy(&out, log.data() + offset, sizeof out);
  offset += sizeof out;
  return true;
}

}  // namespace

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

std::string& MemoryStore::log_chunk_for(size_t bytes) {
  if (event_log_.empty() || event_log_.back().size() + bytes > event_log_.back().capacity()) {
    event_log_.emplace_back().reserve(std::max(kLogChunkBytes, bytes));
  }
  return event_log_.back();
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
  std::string blob;
  for (const auto& [task_id, event] : events) {
    blob.clear();
    protocol::append_task_event_compact(event, blob);
    std::string& chunk = log_chunk_for(2 * sizeof(uint32_t) + blob.size());
    append_u32(chunk, entry(task_id).index);
    append_u32(chunk, static_cast<uint32_t>(blob.size()));
    chunk += blob;
  }
  event_count_ += events.size();
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
  out.reserve(event_count_);
  for (std::string_view log : event_log_) {
    size_t offset = 0;
    while (offset < log.size()) {
      uint32_t index = 0;
      uint32_t size = 0;
      if (!read_u32(log, offset, index) || !read_u32(log, offset, size) ||
          index >= entries_.size() || log.size() - offset < size) {
        return Status::internal("the in-memory history log is damaged");
      }
      std::string id(id_of(entries_[index]->blob));
      TaskEvent event;
      Status decoded = protocol::decode_task_event(log.substr(offset, size), event);
      offset += size;
      if (!decoded.is_ok()) {
        return Status::internal("stored history entry of task " + id +
                                " does not decode: " + decoded.message());
      }
      out.emplace_back(id, std::move(event));
    }
  }
  return out;
}

}  // namespace cube::broker
