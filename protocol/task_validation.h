// Semantic checks of a task spec: the one validation, run by the broker before anything is
// stored; cube-client and the HTTP gateway call it too, for an earlier error, and never check
// on their own. Every error names the field and the fix.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>

#include "common/status.h"
#include "protocol/task.h"

namespace cube {

// Invalid when: the driver is not docker/exec/sim; a docker task has no Image or an image
// reference that is not [registry/]name[:tag][@digest]; an exec task has no Cmd; CPU is not a
// finite number; CPU, Memory, Disk or duration are negative; an exposed port is not
// "PORT[/tcp|/udp]" with PORT in 1..65535; RestartPolicy is not "", "no", "on-failure" or
// "always"; HealthCheck does not start with "/"; HealthCheckInterval, HealthCheckTimeout or
// HealthCheckRetries are negative; an Env entry has no "="; a constraint is not
// "key=value"; the ID is given and is not a UUID; Name is longer than 128 bytes.
Status validate_task_spec(const TaskSpec& task);

// Where task `index` of a list is, for messages ("#3", "line 7").
using TaskPosition = std::function<std::string(size_t index)>;

// OK when no two tasks of `tasks` carry the same ID (tasks without one never clash). Invalid
// otherwise, naming the ID and both places (`where`, "#<index from 0>" when empty): the second
// would be answered with the first as stored, whatever it asked for, so a batch holding both is
// refused whole.
Status check_distinct_task_ids(std::span<const Task> tasks, const TaskPosition& where = {});

// The checks of a SUBMIT_BATCH as a whole (each task is then judged on its own, as its own
// SUBMIT would be): OK, or Invalid when it holds no task, more than protocol::kMaxSubmitBatch
// (the message gives the limit), or one ID twice (check_distinct_task_ids).
Status check_submit_batch(std::span<const Task> tasks, const TaskPosition& where = {});

}  // namespace cube
