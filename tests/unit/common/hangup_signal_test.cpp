#include "common/hangup_signal.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

namespace cube {
namespace {

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

TEST(HangupSignalTest, SighupBecomesReadableInsteadOfEndingTheProcess) {
  HangupSignal hangup;
  EXPECT_FALSE(readable(hangup.fd()));
  EXPECT_FALSE(hangup.consume());
  // Blocked for this thread, so raise() leaves it pending on the signalfd; unblocked, the
  // default action would end the test binary.
  ASSERT_EQ(::raise(SIGHUP), 0);
  ASSERT_TRUE(readable(hangup.fd()));
  EXPECT_TRUE(hangup.consume());
  EXPECT_FALSE(readable(hangup.fd()));
}

}  // namespace
}  // namespace cube
