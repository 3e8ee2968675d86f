#include "broker/task_history.h"

#include "common/check.h"

namespace cube::broker {
namespace {

// A task that runs once has four entries (Pending, Scheduled, Running, Completed): one
// allocation instead of three as the history grows (1, 2, 4).
constexpr size_t kTypicalHistory = 4;

}  // namespace

TaskEvent TaskHistory::operator[](size_t i) const {
  return entries_[i].unpack(*pool_);
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
  entries_.push_back(PackedEvent::pack(event, pool));
}

}  // namespace cube::broker
