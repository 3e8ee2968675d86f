// How cube-bench --idle spreads N sim agents over fleet processes: each process may hold only as
// many agents as its open-file limit allows (sim_fleet.h, fds_needed: about 7 descriptors per
// agent, plus room for 2 more while an agent reconnects), so 5,000 agents under a 20,000 limit
// need three processes. Pure functions.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace cube::bench {

// The most sim agents one process with open-file limit `fd_limit` can hold (the broker in
// another process), with room for all of them to reconnect at once; 0 when not even one fits.
size_t max_agents_per_process(uint64_t fd_limit);

// `agents` split over as few processes as hold them, at most `cap` per process (0: no cap but
// the fd limit), as evenly as possible (sizes differ by at most one; larger first). Errors:
// Invalid for 0 agents; Unavailable when not one agent fits under `fd_limit`, or when more than
// `max_processes` processes would be needed (with the counts, so the user can pick fewer agents
// or raise the limit).
Result<std::vector<size_t>> split_fleet(size_t agents, uint64_t fd_limit, size_t cap,
                                        size_t max_processes);

}  // namespace cube::bench
