// common/mutex.h: MutexLock holds a Mutex for its scope; Mutex::wait and wait_for unlock while
// they wait and hold the lock again on return.
#include "common/mutex.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <stop_token>
#include <thread>

#include "common/clock.h"

namespace cube {
namespace {

struct Flag {
  Mutex mu;
  std::condition_variable cv;
  bool set CUBE_GUARDED_BY(mu) = false;
  int waits CUBE_GUARDED_BY(mu) = 0;  // times a waiter checked `set`
};

TEST(Mutex, WaitReleasesTheLockUntilThePredicateHolds) {
  Flag flag;
  std::thread setter([&] {
    // Gets in even when the main thread locked first: its wait() releases mu.
    MutexLock lock(flag.mu);
    flag.set = true;
    flag.cv.notify_all();
  });
  {
    MutexLock lock(flag.mu);
    flag.mu.wait(flag.cv, [&]() CUBE_REQUIRES(flag.mu) {
      ++flag.waits;
      return flag.set;
    });
    EXPECT_TRUE(flag.set);
    EXPECT_GE(flag.waits, 1);
  }
  setter.join();
}

TEST(Mutex, WaitForSaysWhetherThePredicateHeld) {
  Flag flag;
  MutexLock lock(flag.mu);
  auto is_set = [&]() CUBE_REQUIRES(flag.mu) { return flag.set; };
  EXPECT_FALSE(flag.mu.wait_for(flag.cv, Millis(1), is_set)) << "nobody sets it: times out";
  flag.set = true;
  EXPECT_TRUE(flag.mu.wait_for(flag.cv, Millis(0), is_set)) << "already set: no wait";
}

TEST(Mutex, ConditionVariableAnyWaitsOnItWithAStopToken) {
  Flag flag;
  std::condition_variable_any cv;
  std::stop_source stop;
  std::thread stopper([&] {
    MutexLock lock(flag.mu);  // like the setter above: gets in while the main thread waits
    stop.request_stop();
  });
  {
    MutexLock lock(flag.mu);
    EXPECT_FALSE(cv.wait(flag.mu, stop.get_token(), [&]() CUBE_REQUIRES(flag.mu) {
      return flag.set;
    })) << "woken by the stop request, not by the flag";
  }
  stopper.join();
}

}  // namespace
}  // namespace cube
