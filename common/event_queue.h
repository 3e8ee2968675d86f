// EventQueue<T>: hands results from worker threads to a poll loop. Any thread may push();
// only the loop's thread calls drain(). fd() becomes readable when items are waiting, so the
// loop puts it in its zmq::poll set next to its sockets and never blocks on the queue.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <deque>
#include <utility>

#include "common/check.h"
#include "common/mutex.h"
#include "common/unique_fd.h"

namespace cube {

template <typename T>
class EventQueue {
 public:
  EventQueue() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    CUBE_CHECK(fd_.valid()) << "eventfd failed; the process is out of file descriptors";
  }
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  void push(T item) CUBE_EXCLUDES(mu_) {
    {
      MutexLock lock(mu_);
      items_.push_back(std::move(item));
    }
    uint64_t one = 1;
    // A full eventfd counter (2^64-2) cannot happen with one reader draining it.
    [[maybe_unused]] auto n = ::write(fd_.get(), &one, sizeof one);
  }

  // Readable while items are waiting.
  int fd() const { return fd_.get(); }

  // Takes every waiting item, in push order. Loop thread only.
  std::deque<T> drain() CUBE_EXCLUDES(mu_) {
    uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(fd_.get(), &count, sizeof count);
    MutexLock lock(mu_);
    return std::exchange(items_, {});
  }

 private:
  UniqueFd fd_;
  Mutex mu_;
  std::deque<T> items_ CUBE_GUARDED_BY(mu_);
};

}  // namespace cube
