#include "broker/task_history.h"

#include "common/check.h"

namespace cube::broker {
namespace {

// A task that runs once has four entries (Pending, Scheduled, Running, Completed): one
// allocation instead of three as the history grows (1, 2, 4).
constexpr size_t kTypicalHistory = 4;

}  // namespace

TaskEvent TaskHistory::operator[](size_t i) const {
  const Entry& entry = entries_[i];
  return TaskEvent{static_cast<TaskState>(entry.state), entry.timestamp_ms,
                   std::string(pool_->at(entry.reason)), std::string(pool_->at(entry.node))};
}

std::vector<TaskEvent> TaskHistory::to_vector() const {
  std::vector<TaskEvent> out;
  out.reserve(size());
  for (size_t i = 0; i < size(); ++i)
    out.push_back((*this)[i]);
  return out;
}

void TaskHistory::append(const TaskEvent& event, StringPool& pool) {
  CUBE_CHECK(pool_ == nullptr || pool_ == &pool);
  pool_ = &pool;
  if (entries_.empty())
    entries_.reserve(kTypicalHistory);
  entries_.push_back(Entry{event.timestamp_ms, static_cast<uint8_t>(event.state),
                           pool.intern(event.reason), pool.intern(event.node)});
}

}  // namespace cube::broker
