// PackedEvent: one history entry (a TaskEvent) in 16 bytes, its reason and node name being
// indexes into a StringPool. A TaskEvent is 80 bytes plus heap blocks for long strings; the
// broker holds four or more per task, in its table (broker/task_history.h) and in the memory
// store's history log (broker/memory_store.h).
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <string>

#include "broker/string_pool.h"
#include "protocol/task.h"

namespace cube::broker {

struct PackedEvent {
  int64_t timestamp_ms : 56;  // Unix ms: 41 bits until the year 2039, 55 until long after
  uint8_t state : 8;          // a TaskState
  uint32_t reason;            // index into the pool
  uint32_t node;              // index into the pool

  // `event` with its strings interned into `pool`.
  static PackedEvent pack(const TaskEvent& event, StringPool& pool) {
    return PackedEvent{event.timestamp_ms, static_cast<uint8_t>(event.state),
                       pool.intern(event.reason), pool.intern(event.node)};
  }
  // The event again; `pool` is the one it was packed with.
  TaskEvent unpack(const StringPool& pool) const {
    return TaskEvent{static_cast<TaskState>(state), timestamp_ms, std::string(pool.at(reason)),
                     std::string(pool.at(node))};
  }
};
static_assert(sizeof(PackedEvent) == 16);

}  // namespace cube::broker
