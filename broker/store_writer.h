// StoreWriter: runs the broker's group commits on a thread of its own, so the poll loop keeps
// serving agents and clients while SQLite writes (and, with sync=full, fsyncs). Measured with
// cube-bench (100 sim agents, 20,000 tasks, 2 vCPU): committing on the loop thread doubled the
// loop's CPU per task and cut placements from ~12,000/s (memory) to ~8,000/s (SQLite NORMAL);
// with sync=full each commit held the loop for ~11 ms.
//
// One batch is in flight at a time, so batches reach the store in the order they were made
// (a later batch may hold newer versions of the same tasks). The loop:
//   - start()s a batch when !busy(), remembering which replies wait for it;
//   - polls fd() next to its sockets; when readable, take_done() gives the batch's Status (and,
//     on failure, the batch back to retry it: replies stay held until it is stored);
//   - at shutdown, wait()s for the batch in flight.
// The Store is used by the writer thread only while a batch is in flight, and by the caller
// only while none is (so the Store's one-thread-at-a-time rule holds).
// A store whose commits_are_cheap() (the memory store) is committed inside start(), on the
// loop's thread; the result still comes back through fd()/take_done(), so the loop sees no
// difference. Handing those batches to the thread cost two wake-ups per batch for microseconds
// of work.
//
// Thread-safety: start, busy, fd, take_done and wait from one thread (the broker loop).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "broker/store.h"
#include "common/clock.h"
#include "common/event_queue.h"
#include "common/mutex.h"
#include "common/status.h"

namespace cube::broker {

struct StoreBatch {
  std::vector<Task> upserts;
  std::vector<TaskEventRecord> events;
  // Written before the tasks, in a transaction of their own (Store::commit_services).
  std::vector<Service> service_upserts{};
  std::vector<std::string> service_removals{};
};

struct StoreBatchDone {
  Status status;
  StoreBatch batch;             // given back, so a failed batch can be started again
  SteadyTime::duration took{};  // time inside Store::commit
};

class StoreWriter {
 public:
  // The writer thread's name (pthread_setname_np; at most 15 bytes): cube-bench finds the
  // in-process broker's writer by it to count its CPU.
  static constexpr const char* kThreadName = "store-writer";

  // `store` and `clock` must outlive the writer. Starts the thread.
  StoreWriter(Store& store, const Clock& clock);
  // Waits for the batch in flight (its result is dropped), stops and joins the thread.
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // Hands `batch` to the writer thread. Precondition: !busy(). Never blocks (for a store whose
  // commits_are_cheap(), commits it before returning).
  void start(StoreBatch batch);
  // A batch was started and its result not yet taken.
  bool busy() const { return busy_; }
  // Readable once the batch in flight is done.
  int fd() const { return done_.fd(); }
  // The finished batch's result; nullopt while it is still being written (or none was started).
  // Never blocks.
  std::optional<StoreBatchDone> take_done();
  // Blocks until the batch in flight is done and returns its result; nullopt when none was.
  std::optional<StoreBatchDone> wait();

 private:
  void run() CUBE_EXCLUDES(mu_);
  // The batch's services, then its tasks.
  Status write(const StoreBatch& batch);

  Store& store_;
  const Clock& clock_;
  EventQueue<StoreBatchDone> done_;
  bool busy_ = false;  // loop thread only
  Mutex mu_;
  std::condition_variable cv_;
  std::optional<StoreBatch> next_ CUBE_GUARDED_BY(mu_);
  bool stopping_ CUBE_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts after everything above is built
};

}  // namespace cube::broker
