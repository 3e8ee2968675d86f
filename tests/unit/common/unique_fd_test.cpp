// common/unique_fd.h: closes exactly once; move-only.
#include "common/unique_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>

#include <type_traits>

namespace cube {
namespace {

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

TEST(UniqueFd, ClosesOnDestruction) {
  int raw = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd fd(raw);
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(fd.get(), raw);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(UniqueFd, MoveTransfersOwnership) {
  int raw = ::eventfd(0, EFD_CLOEXEC);
  UniqueFd a(raw);
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(b.get(), raw);
  UniqueFd c;
  c = std::move(b);
  EXPECT_EQ(c.get(), raw);
  EXPECT_TRUE(is_open(raw));
  c.reset();
  EXPECT_FALSE(is_open(raw));
  EXPECT_FALSE(c.valid());
}

TEST(UniqueFd, MoveAssignClosesThePreviousFd) {
  int first = ::eventfd(0, EFD_CLOEXEC);
  int second = ::eventfd(0, EFD_CLOEXEC);
  UniqueFd a(first);
  UniqueFd b(second);
  a = std::move(b);
  EXPECT_FALSE(is_open(first));
  EXPECT_TRUE(is_open(second));
  EXPECT_EQ(a.get(), second);
}

TEST(UniqueFd, ReleaseGivesUpOwnership) {
  int raw = ::eventfd(0, EFD_CLOEXEC);
  {
    UniqueFd fd(raw);
    EXPECT_EQ(fd.release(), raw);
    EXPECT_FALSE(fd.valid());
  }
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

TEST(UniqueFd, IsMoveOnly) {
  static_assert(!std::is_copy_constructible_v<UniqueFd>);
  static_assert(!std::is_copy_assignable_v<UniqueFd>);
  static_assert(std::is_nothrow_move_constructible_v<UniqueFd>);
  UniqueFd empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_EQ(empty.get(), -1);
}

}  // namespace
}  // namespace cube
