// TaskPolicy: what the broker lets clients run: image patterns, the
// largest CPU and memory one task may ask for, and whether the exec driver (a command run
// directly on the agent's host, outside any container) may be used. A task outside the policy
// is refused at SUBMIT with Invalid "task refused by policy: ..." naming the flag that refused it,
// so the user knows which rule to ask about.
//
// Defaults: any image, no CPU/memory cap, exec allowed. cube-broker turns exec off when it is
// bound to a non-loopback address unless --allow-exec is given (docs/decisions.md): on a
// loopback-only broker every client is already a local user who could run the command anyway.
//
// Thread-safety: plain value and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "protocol/task.h"

namespace cube::broker {

struct TaskPolicy {
  // Glob patterns (fnmatch: '*', '?', '[...]'; '*' also matches '/') of allowed images of
  // non-exec tasks; empty = any image.
  std::vector<std::string> allowed_images;
  // Largest Task.cpu (cores) / Task.memory_bytes of one task; 0 = no cap.
  double max_cpu = 0;
  int64_t max_memory_bytes = 0;
  bool allow_exec = true;
};

// True when `text` matches the glob `pattern`. Pure.
bool glob_match(std::string_view pattern, std::string_view text);

// OK when `task` (as submitted, driver "" meaning docker) is inside `policy`; otherwise
// Invalid "task refused by policy: ..." naming the rule (--allow-image, --max-task-cpu,
// --max-task-memory, --allow-exec). Pure.
Status check_task_policy(const TaskPolicy& policy, const TaskSpec& task);

}  // namespace cube::broker
