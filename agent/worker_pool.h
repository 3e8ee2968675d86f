// WorkerPool: N threads that run the agent's blocking driver calls (fork/exec, docker HTTP,
// stop with a grace period) so that the poll loop never blocks. Jobs report back by pushing to
// an EventQueue whose fd is in the loop's poll set (docs/architecture.md, "Agent side").
//
// Thread-safety: post() from any thread. Jobs run in post order per pool but concurrently with
// each other; they must not throw (wrap driver calls and turn exceptions into Status).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace cube::agent {

class WorkerPool {
 public:
  using Job = std::function<void()>;

  // Starts `threads` threads. 0 starts none: post() then runs each job at once on the calling
  // thread, for drivers whose calls never block (Driver::calls_never_block, the sim driver), so
  // that a process hosting thousands of agents does not need thousands of threads.
  explicit WorkerPool(size_t threads);
  // close(), then waits for the running jobs to return and joins every thread. Blocks for as
  // long as the slowest running job (a stop waits at most its grace period plus the kill).
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues a job. Never blocks: the queue is unbounded, and the agent bounds it through its
  // slots (at most one start and one stop per slot are in flight). A pool of 0 threads runs the
  // job before returning (unless closed).
  void post(Job job) CUBE_EXCLUDES(mu_);

  // Stops taking work: drops the jobs that have not started, and every job posted later. Jobs
  // already running finish. Does not block. When the agent exits, an accepted task that was
  // not started yet is better left unstarted (the broker reconciles it from the next HELLO)
  // than started with nobody left to watch it.
  void close() CUBE_EXCLUDES(mu_);

  // Jobs queued and not yet started.
  size_t pending() const CUBE_EXCLUDES(mu_);

 private:
  void run() CUBE_EXCLUDES(mu_);

  mutable Mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_ CUBE_GUARDED_BY(mu_);
  bool stopping_ CUBE_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // constant after construction
};

}  // namespace cube::agent
