// cube-bench --fleet-only: the body of one fleet process of cube-bench --idle (an internal mode,
// not in --help). It runs a SimFleet (bench/sim_fleet.h) against the broker until its standard
// input reaches EOF (cube-bench closed the pipe, or died: the kernel closes it either way) or
// SIGINT/SIGTERM arrives, then stops the fleet and returns.
//
// Thread-safety: blocks the calling thread for the whole run; the fleet has its own threads.
#pragma once

#include "bench/sim_fleet.h"
#include "common/clock.h"
#include "common/status.h"

namespace cube::bench {

// Runs the fleet described by `options` until stdin ends or `stop_fd` (a ShutdownSignal's fd)
// becomes readable. OK on such an end. Errors: Unavailable when this process's open-file limit
// cannot hold the agents (with both numbers) or a host thread of the fleet failed (its error);
// what SimFleet::create and start return.
Status run_fleet_process(const SimFleetOptions& options, int stop_fd, const Clock& clock);

}  // namespace cube::bench
