#include "common/fd_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace cube {

Result<FdLimit> raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return Status::unavailable(std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  FdLimit out;
  out.before = static_cast<uint64_t>(limit.rlim_cur);
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
      return Status::unavailable(std::string("setrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
  out.now = static_cast<uint64_t>(limit.rlim_cur);
  return out;
}

}  // namespace cube
