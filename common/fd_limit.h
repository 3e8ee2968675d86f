// The open-file limit (RLIMIT_NOFILE) of this process. Processes that hold a descriptor per peer
// connection (the broker: three per agent; cube-bench's sim agents: about seven) lift their soft
// limit to the hard limit at start: the soft limit is often 1,024 while the hard limit allows
// far more, and no privilege is needed to go up to it.
//
// Thread-safety: call before other threads open descriptors (at start, from main()).
#pragma once

#include <cstdint>

#include "common/status.h"

namespace cube {

struct FdLimit {
  uint64_t before = 0;  // the soft limit found
  uint64_t now = 0;     // the soft limit after raising it (== the hard limit)
};

// Raises the soft RLIMIT_NOFILE to the hard limit (a no-op when they are equal). Errors:
// Unavailable with the OS error when the limit cannot be read or set.
Result<FdLimit> raise_fd_limit();

}  // namespace cube
