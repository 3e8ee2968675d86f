#include "agent/worker_pool.h"

#include <algorithm>
#include <utility>

namespace cube::agent {

WorkerPool::WorkerPool(size_t threads) {
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
  close();
  for (auto& t : threads_)
    t.join();
}

void WorkerPool::close() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    jobs_.clear();
  }
  cv_.notify_all();
}

void WorkerPool::post(Job job) {
  {
    MutexLock lock(mu_);
    if (stopping_)
      return;
    if (!threads_.empty())
      jobs_.push_back(std::move(job));
  }
  if (threads_.empty()) {
    job();  // inline pool: the caller's thread runs it
    return;
  }
  cv_.notify_one();
}

size_t WorkerPool::pending() const {
  MutexLock lock(mu_);
  return jobs_.size();
}

void WorkerPool::run() {
  while (true) {
    Job job;
    {
      MutexLock lock(mu_);
      mu_.wait(cv_, [this]() CUBE_REQUIRES(mu_) { return stopping_ || !jobs_.empty(); });
      if (stopping_)
        return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace cube::agent
