#include "broker/store_writer.h"

#include <pthread.h>
#include <sys/poll.h>

#include <utility>

#include "common/check.h"

namespace cube::broker {

StoreWriter::StoreWriter(Store& store, const Clock& clock)
    : store_(store), clock_(clock), thread_([this] { run(); }) {
  // Named here rather than by the thread itself, so that the name is set once the writer exists
  // (cube-bench finds the writer by it; perf and top -H show it).
  ::pthread_setname_np(thread_.native_handle(), kThreadName);
}

StoreWriter::~StoreWriter() {
  (void)wait();
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

Status StoreWriter::write(const StoreBatch& batch) {
  // Services first: a task of a new service is never stored without its service.
  if (!batch.service_upserts.empty() || !batch.service_removals.empty())
    CUBE_RETURN_IF_ERROR(store_.commit_services(batch.service_upserts, batch.service_removals));
  return store_.commit(batch.upserts, batch.events);
}

void StoreWriter::start(StoreBatch batch) {
  CUBE_CHECK(!busy_) << "the broker loop starts one batch at a time";
  busy_ = true;
  if (store_.commits_are_cheap()) {
    // Same result, same hand-back through done_ (the loop polls fd()), without waking the
    // writer thread and then the loop again: measured with cube-bench, memory store.
    SteadyTime begin = clock_.now();
    Status status = write(batch);
    done_.push(StoreBatchDone{std::move(status), std::move(batch), clock_.now() - begin});
    return;
  }
  {
    MutexLock lock(mu_);
    next_ = std::move(batch);
  }
  cv_.notify_one();
}

std::optional<StoreBatchDone> StoreWriter::take_done() {
  if (!busy_)
    return std::nullopt;
  auto done = done_.drain();
  if (done.empty())
    return std::nullopt;
  CUBE_CHECK(done.size() == 1) << "one batch is in flight at a time";
  busy_ = false;
  return std::move(done.front());
}

std::optional<StoreBatchDone> StoreWriter::wait() {
  while (busy_) {
    // The one place the loop may block on the writer: shutdown, with nothing else to serve.
    pollfd item{done_.fd(), POLLIN, 0};
    (void)::poll(&item, 1, -1);
    if (auto done = take_done())
      return done;
  }
  return std::nullopt;
}

void StoreWriter::run() {
  while (true) {
    StoreBatch batch;
    {
      MutexLock lock(mu_);
      mu_.wait(cv_, [this]() CUBE_REQUIRES(mu_) { return stopping_ || next_.has_value(); });
      if (!next_)
        return;  // stopping with nothing to write
      batch = std::move(*next_);
      next_.reset();
    }
    SteadyTime start = clock_.now();
    Status status = write(batch);
    done_.push(StoreBatchDone{std::move(status), std::move(batch), clock_.now() - start});
  }
}

}  // namespace cube::broker
