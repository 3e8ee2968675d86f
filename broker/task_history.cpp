#include "broker/task_history.h"

#include "common/check.h"

namespace cube::broker {

TaskEvent TaskHistory::operator[](size_t i) const {
  const PackedEvent& entry = i < kInline ? first_[i] : (*rest_)[i - kInline];
  return entry.unpack(*pool_);
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
  PackedEvent entry = PackedEvent::pack(event, pool);
  if (size_ < kInline) {
    first_[size_] = entry;
  } else {
    if (rest_ == nullptr)
      rest_ = std::make_unique<std::vector<PackedEvent>>();
    rest_->push_back(entry);
  }
  ++size_;
}

}  // namespace cube::broker
