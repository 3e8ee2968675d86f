#include "gateway/serve.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <thread>

#include "common/check.h"
#include "common/unique_fd.h"

namespace cube::gateway {
namespace {

void notify(const UniqueFd& fd) {
  uint64_t one = 1;
  // An eventfd write only fails when the counter would overflow, which one write cannot do.
  [[maybe_unused]] auto n = ::write(fd.get(), &one, sizeof one);
}

}  // namespace

void run_with_gateway(const std::function<void(int stop_fd)>& run_broker, Gateway& gateway,
                      int shutdown_fd) {
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC));
  UniqueFd broker_done(::eventfd(0, EFD_CLOEXEC));
  CUBE_CHECK(stop.valid() && broker_done.valid())
      << "eventfd failed; the process is out of file descriptors";

  std::thread broker([&] {
    run_broker(stop.get());
    notify(broker_done);
  });

  // Block until the signal, or until the broker loop ended on its own (then the gateway has
  // nothing to talk to).
  std::array<pollfd, 2> fds = {{{shutdown_fd, POLLIN, 0}, {broker_done.get(), POLLIN, 0}}};
  while (::poll(fds.data(), fds.size(), -1) < 0 && errno == EINTR) {
  }

  gateway.stop();
  notify(stop);
  broker.join();
}

}  // namespace cube::gateway
