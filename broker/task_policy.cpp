#include "broker/task_policy.h"

#include <fnmatch.h>

#include "common/units.h"

namespace cube::broker {
namespace {

std::string join_patterns(const std::vector<std::string>& patterns) {
  std::string out;
  for (const auto& p : patterns) {
    if (!out.empty())
      out += ", ";
    out += "\"" + p + "\"";
  }
  return out;
}

std::string format_cpu(double cpu) {
  std::string text = std::to_string(cpu);
  text.erase(text.find_last_not_of('0') + 1);
  if (!text.empty() && text.back() == '.')
    text.pop_back();
  return text;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  return ::fnmatch(std::string(pattern).c_str(), std::string(text).c_str(), 0) == 0;
}

Status check_task_policy(const TaskPolicy& policy, const TaskSpec& task) {
  bool exec = task.driver == kDriverExec;
  if (exec && !policy.allow_exec) {
    return Status::invalid(
        "task refused by policy: the exec driver runs commands directly on the agent's host and "
        "is not allowed on this broker (--allow-exec)");
  }
  if (!exec && !policy.allowed_images.empty()) {
    bool allowed = false;
    for (const auto& pattern : policy.allowed_images)
      allowed = allowed || glob_match(pattern, task.image);
    if (!allowed) {
      return Status::invalid("task refused by policy: image \"" + task.image +
                             "\" does not match --allow-image " +
                             join_patterns(policy.allowed_images));
    }
  }
  if (policy.max_cpu > 0 && task.cpu > policy.max_cpu) {
    return Status::invalid("task refused by policy: Cpu " + format_cpu(task.cpu) +
                           " is more than --max-task-cpu " + format_cpu(policy.max_cpu));
  }
  if (policy.max_memory_bytes > 0 && task.memory_bytes > policy.max_memory_bytes) {
    return Status::invalid("task refused by policy: Memory " + format_size(task.memory_bytes) +
                           " is more than --max-task-memory " +
                           format_size(policy.max_memory_bytes));
  }
  return Status::ok();
}

}  // namespace cube::broker
