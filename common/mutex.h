// Mutex and MutexLock: std::mutex and a scoped lock that Clang's thread-safety analysis
// understands (libstdc++'s std::mutex and std::lock_guard are not annotated, so the analysis
// cannot see them take a lock). After LevelDB's port::Mutex and MutexLock.
//
//   mutable Mutex mu_;
//   std::deque<Job> jobs_ CUBE_GUARDED_BY(mu_);
//   ...
//   MutexLock lock(mu_);
//   jobs_.push_back(std::move(job));
//
// Waiting on a condition: mu_.wait(cv_, ready) and mu_.wait_for(cv_, timeout, ready) take a
// std::condition_variable and must be called with mu_ held (through a MutexLock); they unlock
// while waiting and hold the lock again on return, like std::condition_variable::wait with a
// std::unique_lock. The analysis checks a lambda as a function of its own, so a predicate that
// reads guarded members says it runs under the lock:
//
//   mu_.wait(cv_, [this]() CUBE_REQUIRES(mu_) { return stopping_ || !jobs_.empty(); });
//
// A Mutex is also BasicLockable (lock/unlock), for std::condition_variable_any, whose waits
// take a std::stop_token.
//
// Thread-safety: a Mutex may be locked from any thread; a MutexLock stays on its thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "common/thread_annotations.h"

namespace cube {

class CUBE_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() CUBE_ACQUIRE() { mu_.lock(); }
  void unlock() CUBE_RELEASE() { mu_.unlock(); }

  // Blocks on `cv` until ready() returns true; ready() is called with the lock held.
  template <typename Predicate>
  void wait(std::condition_variable& cv, Predicate ready) CUBE_REQUIRES(this) {
    with_unique_lock([&](std::unique_lock<std::mutex>& lock) { cv.wait(lock, std::move(ready)); });
  }

  // Like wait(), for at most `timeout`; returns ready()'s last answer (false: timed out).
  template <typename Rep, typename Period, typename Predicate>
  bool wait_for(std::condition_variable& cv, std::chrono::duration<Rep, Period> timeout,
                Predicate ready) CUBE_REQUIRES(this) {
    return with_unique_lock([&](std::unique_lock<std::mutex>& lock) {
      return cv.wait_for(lock, timeout, std::move(ready));
    });
  }

 private:
  // Lends the held mutex to std::condition_variable as a unique_lock that does not own it, so
  // the caller's MutexLock still unlocks it, whichever way fn returns.
  template <typename Fn>
  decltype(auto) with_unique_lock(Fn&& fn) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    struct Disown {
      std::unique_lock<std::mutex>& lock;
      ~Disown() { lock.release(); }
    } disown{lock};
    return fn(lock);
  }

  std::mutex mu_;
};

// Holds a Mutex for its scope, like std::lock_guard.
class CUBE_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) CUBE_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() CUBE_RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace cube
