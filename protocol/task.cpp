#include "protocol/task.h"

#include <algorithm>
#include <cctype>

#include "common/ids.h"

namespace cube {

std::string_view task_state_name(TaskState state) {
  switch (state) {
    case TaskState::Pending:
      return "Pending";
    case TaskState::Scheduled:
      return "Scheduled";
    case TaskState::Running:
      return "Running";
    case TaskState::Completed:
      return "Completed";
    case TaskState::Failed:
      return "Failed";
  }
  return "Unknown";
}

std::optional<TaskState> task_state_from_int(int64_t value) {
  if (value < 0 || value >= kTaskStateCount)
    return std::nullopt;
  return static_cast<TaskState>(value);
}

std::optional<TaskState> task_state_from_name(std::string_view name) {
  for (int i = 0; i < kTaskStateCount; ++i) {
    auto state = static_cast<TaskState>(i);
    auto expected = task_state_name(state);
    if (expected.size() == name.size() &&
        std::equal(name.begin(), name.end(), expected.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return state;
    }
  }
  return std::nullopt;
}

bool is_valid_transition(TaskState from, TaskState to) {
  using S = TaskState;
  switch (from) {
    case S::Pending:
      return to == S::Scheduled || to == S::Completed;
    case S::Scheduled:
      return to == S::Scheduled || to == S::Running || to == S::Failed || to == S::Completed;
    case S::Running:
      return to == S::Running || to == S::Completed || to == S::Failed || to == S::Scheduled;
    case S::Failed:
      return to == S::Scheduled;
    case S::Completed:
      return false;
  }
  return false;
}

void choose_task_id(Task& task, SystemTime wall) {
  if (task.id.empty() && task.desired_state != TaskState::Completed)
    task.id = new_uuid_v7(wall);
}

}  // namespace cube
