#include "bench/fleet_process.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/fd_limit.h"

namespace cube::bench {
namespace {

// How often the fleet's host threads are asked whether they failed; a failure is rare and ends
// the run anyway, so a second's delay in noticing it costs nothing.
constexpr Millis kErrorCheck{1000};

}  // namespace

Status run_fleet_process(const SimFleetOptions& options, int stop_fd, const Clock& clock) {
  auto limit = raise_fd_limit();
  if (!limit.is_ok())
    return limit.status();
  uint64_t needed = fds_needed(options.agents, false);
  if (limit->now < needed) {
    return Status::unavailable(std::to_string(options.agents) + " agents need about " +
                               std::to_string(needed) + " file descriptors but the limit is " +
                               std::to_string(limit->now));
  }
  auto fleet = SimFleet::create(options, clock, nullptr);
  if (!fleet.is_ok())
    return fleet.status();
  CUBE_RETURN_IF_ERROR((*fleet)->start());

  Status ended = Status::ok();
  pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {stop_fd, POLLIN, 0}};
  while (true) {
    int n = ::poll(fds, stop_fd >= 0 ? 2 : 1, static_cast<int>(kErrorCheck.count()));
    if (n < 0 && errno != EINTR) {
      ended = Status::internal(std::string("poll: ") + std::strerror(errno));
      break;
    }
    if (auto errors = (*fleet)->errors(); !errors.empty()) {
      ended = Status::unavailable("the sim fleet stopped: " + errors.front());
      break;
    }
    if (n > 0 && fds[1].revents != 0)
      break;  // SIGINT or SIGTERM
    if (n > 0 && fds[0].revents != 0) {
      char buf[256];
      ssize_t got = ::read(STDIN_FILENO, buf, sizeof buf);
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
        break;  // EOF (or an unusable stdin): cube-bench is done with us
    }
  }
  (*fleet)->stop();
  return ended;
}

}  // namespace cube::bench
