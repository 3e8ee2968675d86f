// HangupSignal: SIGHUP as a readable fd, so a poll loop reloads its configuration between two
// iterations (cube-broker re-reads its authorized-keys files) instead of the default action,
// which ends the process. Construct it in main() before any thread starts: it blocks SIGHUP for
// the whole process (threads inherit the mask).
//
// Thread-safety: construct on the main thread; fd() and consume() from the one thread that
// polls it. consume() never blocks (the fd is non-blocking).
#pragma once

#include "common/unique_fd.h"

namespace cube {

class HangupSignal {
 public:
  HangupSignal();  // blocks SIGHUP and opens a non-blocking signalfd for it
  int fd() const { return fd_.get(); }
  // Reads every pending SIGHUP; true when there was at least one. Call when fd() is readable.
  bool consume();

 private:
  UniqueFd fd_;
};

}  // namespace cube
