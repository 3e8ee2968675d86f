#include "bench/fleet_split.h"

#include <algorithm>
#include <string>

#include "bench/sim_fleet.h"

namespace cube::bench {
namespace {

// An agent that gets no WELCOME in time (3 s) replaces its DEALER: the new socket's mailbox and
// TCP connection are open before libzmq's reaper has closed the old ones. When registering
// thousands of agents at once on a loaded machine most of them may retry together, so each
// needs room for 2 more descriptors (without it, 2,500 agents under 20,000 ran out: EMFILE).
constexpr uint64_t kReconnectFdsPerAgent = 2;

}  // namespace

size_t max_agents_per_process(uint64_t fd_limit) {
  // fds_needed grows by the same step per agent: find the step and the fixed part once.
  const uint64_t base = fds_needed(0, false);
  const uint64_t per_agent = fds_needed(1, false) - base + kReconnectFdsPerAgent;
  if (fd_limit < base + per_agent)
    return 0;
  return static_cast<size_t>((fd_limit - base) / per_agent);
}

Result<std::vector<size_t>> split_fleet(size_t agents, uint64_t fd_limit, size_t cap,
                                        size_t max_processes) {
  if (agents == 0)
    return Status::invalid("a fleet needs at least one agent");
  size_t per_process = max_agents_per_process(fd_limit);
  if (per_process == 0) {
    return Status::unavailable("an open-file limit of " + std::to_string(fd_limit) +
                               " leaves no room for one sim agent (raise ulimit -n)");
  }
  if (cap > 0)
    per_process = std::min(per_process, cap);
  const size_t processes = (agents + per_process - 1) / per_process;
  if (processes > max_processes) {
    return Status::unavailable(
        std::to_string(agents) + " agents at " + std::to_string(per_process) +
        " per process need " + std::to_string(processes) + " fleet processes, more than " +
        std::to_string(max_processes) + " (open-file limit " + std::to_string(fd_limit) + ")");
  }
  std::vector<size_t> out;
  out.reserve(processes);
  for (size_t k = 0; k < processes; ++k)
    out.push_back(agents / processes + (k < agents % processes ? 1 : 0));
  return out;
}

}  // namespace cube::bench
