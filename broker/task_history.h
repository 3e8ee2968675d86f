// TaskHistory: one task's state changes, oldest first, as the broker holds them in memory:
// 16 bytes per entry (broker/packed_event.h), the strings in the TaskTable's StringPool.
// The history was a third of the broker's memory per task held as a vector of TaskEvent (80
// bytes each plus heap blocks; heaptrack, cube-bench with a separate broker). The first four
// entries (a task that runs once: Pending, Scheduled, Running, Completed) live inside the
// history itself; only a task placed again grows a heap block for the rest. Read an entry as a
// TaskEvent with operator[]; the table appends.
//
// Thread-safety: a value type; as its pool (the broker loop thread).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "broker/packed_event.h"
#include "broker/string_pool.h"
#include "protocol/task.h"

namespace cube::broker {

class TaskHistory {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Entry i (i < size()), decoded.
  TaskEvent operator[](size_t i) const;
  TaskEvent back() const { return (*this)[size() - 1]; }
  // Every entry, oldest first (for a GET reply).
  std::vector<TaskEvent> to_vector() const;

  // Appends `event`, interning its strings into `pool`, which must outlive this history and be
  // the pool of every earlier append.
  void append(const TaskEvent& event, StringPool& pool);

 private:
  static constexpr size_t kInline = 4;
  std::array<PackedEvent, kInline> first_{};
  std::unique_ptr<std::vector<PackedEvent>> rest_;  // entries kInline and later
  const StringPool* pool_ = nullptr;
  uint32_t size_ = 0;
};

}  // namespace cube::broker
