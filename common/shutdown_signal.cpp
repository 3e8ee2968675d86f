#include "common/shutdown_signal.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/check.h"

namespace cube {

ShutdownSignal::ShutdownSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  CUBE_CHECK(pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0) << "pthread_sigmask cannot fail here";
  fd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  CUBE_CHECK(fd_.valid()) << "signalfd failed at startup";
}

int ShutdownSignal::consume() {
  signalfd_siginfo info{};
  if (::read(fd_.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info))
    return 0;
  return static_cast<int>(info.ssi_signo);
}

}  // namespace cube
