// Semantic checks of a task spec: the one validation, run by the broker before anything is
// stored; cube-client and the HTTP gateway call it too, for an earlier error, and never check
// on their own. Every error names the field and the fix.
#pragma once

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

}  // namespace cube
