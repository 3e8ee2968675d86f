// TaskHistory: one task's state changes, oldest first, as the broker holds them in memory:
// 16 bytes per entry, the reason and node names being indexes into the TaskTable's StringPool.
// The history was a third of the broker's memory per task held as a vector of TaskEvent (80
// bytes each plus heap blocks; heaptrack, cube-bench with a separate broker). Read an entry as a
// TaskEvent with operator[]; the table appends.
//
// Thread-safety: a value type; as its pool (the broker loop thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "broker/string_pool.h"
#include "protocol/task.h"

namespace cube::broker {

class TaskHistory {
 public:
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Entry i (i < size()), decoded.
  TaskEvent operator[](size_t i) const;
  TaskEvent back() const { return (*this)[size() - 1]; }
  // Every entry, oldest first (for a GET reply).
  std::vector<TaskEvent> to_vector() const;

  // Appends `event`, interning its strings into `pool`, which must outlive this history and be
  // the pool of every earlier append.
  void append(const TaskEvent& event, StringPool& pool);

 private:
  struct Entry {
    int64_t timestamp_ms : 56;  // Unix ms: 41 bits until the year 2039, 55 until long after
    uint8_t state : 8;          // a TaskState
    uint32_t reason;            // index into *pool_
    uint32_t node;              // index into *pool_
  };
  static_assert(sizeof(Entry) == 16);

  std::vector<Entry> entries_;
  const StringPool* pool_ = nullptr;
};

}  // namespace cube::broker
