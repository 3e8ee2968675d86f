// MemoryStore: a Store that keeps everything in process memory. Durable for the life of the
// process only: for `--store memory`, tests and benchmarks. It never fails, except where a test
// asks it to (fail_next_commit_for_test).
//
// What it holds is compact: each task as its MessagePack blob without the keys that hold their
// default value (protocol/codec.h encode_task_compact; decoding leaves a missing key's field at
// its default) and the history as packed entries (broker/packed_event.h) that name their task
// by a 4-byte index. The broker's TaskTable already holds every task decoded; a second decoded copy
// here (a Task with a dozen strings, a pair<string, TaskEvent> per history entry) cost about a
// third of the broker's memory per task held (cube-bench, 1,000 agents). Blobs are decoded only by
// load_all and load_events, at broker start.
//
// Thread-safety: as Store (one thread at a time). commits_are_cheap(): yes (no I/O).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/id_map.h"
#include "broker/packed_event.h"
#include "broker/store.h"
#include "broker/string_pool.h"

namespace cube::broker {

class MemoryStore final : public Store {
 public:
  // OK, unless fail_next_commit_for_test armed a failure: then that Status, and nothing changes.
  Status commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) override;
  // OK with the tasks ordered by id; Internal only if a stored blob no longer decodes (a bug).
  Result<std::vector<Task>> load_all() override;
  // OK in append order; Internal only if a stored blob no longer decodes (a bug).
  Result<std::vector<TaskEventRecord>> load_events() override;
  // OK, unless fail_next_commit_for_test armed a failure (as commit).
  Status commit_services(std::span<const Service> upserts,
                         std::span<const std::string> removed) override;
  // Ordered by name.
  Result<std::vector<Service>> load_services() override;
  // A commit copies bytes in memory: no reason to run it on a thread of its own.
  bool commits_are_cheap() const override { return true; }

  // How many commits succeeded: lets tests check that work was batched.
  int commit_count() const { return commit_count_; }
  // The next commit returns `status` (not OK) and stores nothing.
  void fail_next_commit_for_test(Status status) { next_failure_ = std::move(status); }

 private:
  // A task's compact blob. Its first key is the id (protocol::peek_task_id reads it), so the
  // set is keyed by the id inside the blob: the id (a 36-byte UUID) is not stored twice.
  struct Entry {
    mutable std::string blob;     // replaced in place by an upsert of the same id
    uint32_t index = 0;           // into entries_
    mutable bool stored = false;  // false while only history names the task (blob: just the id)
  };
  // The id inside a blob ("" if it has none).
  static std::string_view id_of(std::string_view blob);
  static std::string_view entry_id(const Entry& entry) { return id_of(entry.blob); }
  // The entry of `id`, adding one that holds just the id if there is none.
  const Entry& entry(std::string_view id);

  // Hashed: a commit looks up every task it writes (an ordered map's string compares were a
  // few % of the broker loop); load_all sorts.
  IdSet<Entry, entry_id> tasks_;
  std::vector<const Entry*> entries_;  // index -> entry (set nodes never move)
  // The history, in append order: entry i is event_log_[i] of the task entries_[event_tasks_[i]].
  // Packed (broker/packed_event.h): 20 bytes per entry, where an encode_task_event blob and
  // its framing took about 45. Deques grow by fixed blocks: no doubling slack.
  std::deque<PackedEvent> event_log_;
  std::deque<uint32_t> event_tasks_;
  StringPool strings_;                                        // the entries' reasons and node names
  std::map<std::string, std::string, std::less<>> services_;  // name -> encode_service blob
  int commit_count_ = 0;
  std::optional<Status> next_failure_;
};

}  // namespace cube::broker
