// TaskHistory: one task's state changes, oldest first, as the broker holds them in memory:
// 16 bytes per entry (broker/packed_event.h), the strings in the TaskTable's StringPool.
// The history was a third of the broker's memory per task held as a vector of TaskEvent (80
// bytes each plus heap blocks; heaptrack, cube-bench with a separate broker). Read an entry as a
// TaskEvent with operator[]; the table appends.
//
// Thread-safety: a value type; as its pool (the broker loop thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "broker/packed_event.h"
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
  std::vector<PackedEvent> entries_;
  const StringPool* pool_ = nullptr;
};

}  // namespace cube::broker
