#include "broker/etcd_replay.h"

#include <algorithm>

#include "broker/etcd_values.h"
#include "protocol/codec.h"

namespace cube::broker {

Status EtcdReplay::put(const EtcdKeyValue& kv) {
  Status applied;
  if (kv.key.starts_with(layout_.log_prefix()))
    applied = put_log_record(kv);
  else if (kv.key.starts_with(layout_.tasks_prefix()))
    applied = put_task(kv);
  else if (kv.key.starts_with(layout_.history_prefix()))
    applied = put_history_chunk(kv);
  else if (kv.key.starts_with(layout_.done_prefix()))
    applied = put_done_chunk(kv);
  if (!applied.is_ok())
    return Status::internal(kv.key + ": " + applied.message());
  return Status::ok();
}

void EtcdReplay::remove(std::string_view key) {
  if (!key.starts_with(layout_.tasks_prefix()))
    return;  // a folded log record or history chunk: its contents are elsewhere
  auto id = layout_.parse_task_key(key);
  if (!id.is_ok())
    return;
  if (auto it = tasks_.find(*id); it != tasks_.end())
    tasks_.erase(it);
}

Status EtcdReplay::offer_task(std::string_view id, uint64_t seq, std::string_view blob) {
  newest_seq_ = std::max(newest_seq_, seq);
  auto it = tasks_.find(id);
  if (it != tasks_.end() && it->second.seq >= seq)
    return Status::ok();
  Task task;
  CUBE_RETURN_IF_ERROR(protocol::decode_task(blob, task));
  if (task.id != id)
    return Status::invalid("it holds task " + task.id + ", not " + std::string(id));
  if (it == tasks_.end())
    it = tasks_.emplace(std::string(id), Held{}).first;
  it->second = Held{seq, std::move(task)};
  return Status::ok();
}

Status EtcdReplay::put_task(const EtcdKeyValue& kv) {
  auto id = layout_.parse_task_key(kv.key);
  if (!id.is_ok())
    return id.status();
  auto value = parse_task_value(kv.value);
  if (!value.is_ok())
    return value.status();
  return offer_task(*id, value->seq, value->task);
}

namespace {

Result<std::vector<TaskEventRecord>> decode_events(const std::vector<EventBlob>& blobs) {
  std::vector<TaskEventRecord> out;
  out.reserve(blobs.size());
  for (const auto& [id, blob] : blobs) {
    TaskEvent event;
    CUBE_RETURN_IF_ERROR(protocol::decode_task_event(blob, event));
    out.emplace_back(std::string(id), std::move(event));
  }
  return out;
}

}  // namespace

Status EtcdReplay::put_log_record(const EtcdKeyValue& kv) {
  auto seq = layout_.parse_log_key(kv.key);
  if (!seq.is_ok())
    return seq.status();
  std::string buffer;
  auto record = parse_log_record(kv.value, buffer);
  if (!record.is_ok())
    return record.status();
  newest_seq_ = std::max(newest_seq_, *seq);
  for (std::string_view blob : record->tasks) {
    std::string_view id = protocol::peek_task_id(blob);
    if (id.empty())
      return Status::invalid("a task without an id");
    CUBE_RETURN_IF_ERROR(offer_task(id, *seq, blob));
  }
  if (record->events.empty() || events_.contains(*seq))
    return Status::ok();
  auto events = decode_events(record->events);
  if (!events.is_ok())
    return events.status();
  event_count_ += events->size();
  events_.emplace(*seq, std::move(*events));
  return Status::ok();
}

Status EtcdReplay::put_done_chunk(const EtcdKeyValue& kv) {
  std::string buffer;
  auto tasks = parse_done_chunk(kv.value, buffer);
  if (!tasks.is_ok())
    return tasks.status();
  for (const auto& [seq, blob] : *tasks) {
    std::string_view id = protocol::peek_task_id(blob);
    if (id.empty())
      return Status::invalid("a task without an id");
    CUBE_RETURN_IF_ERROR(offer_task(id, seq, blob));
  }
  return Status::ok();
}

Status EtcdReplay::put_history_chunk(const EtcdKeyValue& kv) {
  std::string buffer;
  auto groups = parse_history_chunk(kv.value, buffer);
  if (!groups.is_ok())
    return groups.status();
  for (const auto& group : *groups) {
    newest_seq_ = std::max(newest_seq_, group.seq);
    if (events_.contains(group.seq))
      continue;
    auto events = decode_events(group.events);
    if (!events.is_ok())
      return events.status();
    event_count_ += events->size();
    events_.emplace(group.seq, std::move(*events));
  }
  return Status::ok();
}

std::vector<Task> EtcdReplay::take_tasks() {
  std::vector<Task> out;
  out.reserve(tasks_.size());
  for (auto& [id, held] : tasks_)
    out.push_back(std::move(held.task));
  tasks_.clear();
  return out;
}

std::vector<TaskEventRecord> EtcdReplay::take_events() {
  std::vector<TaskEventRecord> out;
  out.reserve(event_count_);
  for (auto& [seq, group] : events_) {
    for (auto& record : group)
      out.push_back(std::move(record));
  }
  events_.clear();
  event_count_ = 0;
  return out;
}

}  // namespace cube::broker
