// ShutdownSignal: SIGINT and SIGTERM as a readable fd, so a poll loop ends cleanly between two
// iterations instead of being interrupted in the middle of one. Construct it in main() before
// any thread starts: it blocks the signals for the whole process.
#pragma once

#include "common/unique_fd.h"

namespace cube {

class ShutdownSignal {
 public:
  ShutdownSignal();  // blocks SIGINT/SIGTERM and opens a signalfd for them
  int fd() const { return fd_.get(); }
  // True once a signal was read; call when fd() is readable. Returns the signal number or 0.
  int consume();

 private:
  UniqueFd fd_;
};

}  // namespace cube
