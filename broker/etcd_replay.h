// EtcdReplay: the tasks and history an etcd store holds, rebuilt from its keys (the
// log-structured layout of broker/etcd_layout.h), whatever order the keys come in: a full read
// (key order: history chunks, log records, then task keys) or a watch that follows a leader's
// log puts, fold puts and deletions as they happen.
//
// The rules, which make the order not matter:
//   - a task is the newest version seen by seq: a task key and a done chunk's entry carry the
//     seq of the log record they come from, a log record its own; a version at or below the
//     held one's seq is skipped (not even decoded);
//   - history is grouped by the log record it came from; a group seen once (in a log record or
//     in a history chunk, which holds the same entries after a fold) is not added again;
//   - the deletion of a log key or a chunk changes nothing (a fold deletes records
//     whose contents it put elsewhere first); the deletion of a task key drops the task.
// Keys of the prefix that are none of these (version, leader, brokers, folded) are ignored.
//
// Thread-safety: a value; one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "broker/etcd_layout.h"
#include "broker/etcd_messages.h"
#include "broker/store.h"
#include "common/status.h"

namespace cube::broker {

class EtcdReplay {
 public:
  explicit EtcdReplay(EtcdLayout layout) : layout_(std::move(layout)) {}

  // Applies one key's value. Internal "KEY: why" when it does not parse or decode; what was
  // applied before stays.
  Status put(const EtcdKeyValue& kv);
  // Applies the deletion of `key`.
  void remove(std::string_view key);

  size_t task_count() const { return tasks_.size(); }
  size_t event_count() const { return event_count_; }
  // The newest log record seen (0: none), and the newest seq any task carries.
  uint64_t newest_seq() const { return newest_seq_; }

  // Every task, ordered by id, and every history entry, in append order; the replay is empty
  // afterwards.
  std::vector<Task> take_tasks();
  std::vector<TaskEventRecord> take_events();

 private:
  Status put_task(const EtcdKeyValue& kv);
  Status put_log_record(const EtcdKeyValue& kv);
  Status put_history_chunk(const EtcdKeyValue& kv);
  Status put_done_chunk(const EtcdKeyValue& kv);
  // Decodes `blob` into the task held for `id` unless one at `seq` or newer is held.
  Status offer_task(std::string_view id, uint64_t seq, std::string_view blob);

  struct Held {
    uint64_t seq = 0;
    Task task;
  };
  EtcdLayout layout_;
  std::map<std::string, Held, std::less<>> tasks_;
  std::map<uint64_t, std::vector<TaskEventRecord>> events_;  // by the log record's seq
  size_t event_count_ = 0;
  uint64_t newest_seq_ = 0;
};

}  // namespace cube::broker
