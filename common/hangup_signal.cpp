#include "common/hangup_signal.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/check.h"

namespace cube {

HangupSignal::HangupSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  CUBE_CHECK(pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0) << "pthread_sigmask cannot fail here";
  fd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  CUBE_CHECK(fd_.valid()) << "signalfd failed at startup";
}

bool HangupSignal::consume() {
  bool any = false;
  signalfd_siginfo info{};
  while (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info))
    any = true;
  return any;
}

}  // namespace cube
