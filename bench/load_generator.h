// LoadGenerator: submits cube-bench's tasks from K client threads, each with its own
// cube::Client (REQ socket, Lazy Pirate), and records send and acknowledgement times in a
// RunRecorder.
//
// Each request carries `batch` tasks: 1 sends each task as its own SUBMIT (Client::submit), more
// sends SUBMIT_BATCHes of that many consecutive tasks (Client::submit_many; the last may be
// shorter). Each thread has one request in flight.
//
// Closed loop (rate 0): each thread sends its next request as soon as the previous one is
// acknowledged; every task's latency counts from the moment its request is sent.
//
// Open loop (rate R > 0): task i is due at start + i / R whatever happened before (a fixed
// arrival schedule), and its latency counts from that intended time, so time a task spent
// waiting for a free client thread is part of its latency (no coordinated omission). A batch
// leaves when its last task is due, as a client that gathers arrivals and sends them together
// would: the earlier tasks' wait for it counts in their latency. A thread waits for a due time
// with Clock::sleep_for, whose resolution is a millisecond: a request is never sent before its
// time and at most about a millisecond after it, and that delay is counted too. With K threads
// at most K requests are in flight, so K times the batch must exceed R times the round-trip time
// or the schedule falls behind (which then shows in the latency).
//
// Thread-safety: run() blocks its caller until every task was submitted (or given up on).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <future>
#include <latch>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "bench/run_recorder.h"
#include "client/client.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace cube::bench {

struct LoadOptions {
  std::string endpoint;           // the broker's client endpoint, "tcp://127.0.0.1:7100"
  size_t clients = 4;             // threads, each with its own cube::Client
  double rate = 0;                // tasks per second; 0 = closed loop
  size_t batch = 1;               // tasks per request: 1 = SUBMIT, more = SUBMIT_BATCH
  int64_t duration_ms = 100;      // each sim task's DurationMs
  Millis timeout_per_try{10000};  // cube::Client Lazy Pirate try; generous: the broker is busy
  int tries = 3;
};

// The task cube-bench submits as number `index`: driver sim, name "b<index>", the given
// duration, no resources requested (so that placement is bounded by slots, not by CPU or
// memory), and the recorder's ID for that index.
Task bench_task(const RunRecorder& recorder, size_t index, int64_t duration_ms);

// The I/O threads the client threads share, and the sockets each client may hold at once.
inline constexpr int kClientIoThreads = 1;
inline constexpr size_t kSocketsPerClient = 4;

class LoadGenerator {
 public:
  // `recorder` and `clock` must outlive the generator.
  LoadGenerator(LoadOptions options, RunRecorder& recorder, const Clock& clock);

  // Joins the client threads (run() may not have been called: they then submit nothing).
  ~LoadGenerator();

  // Starts the client threads and has each connect its client with one STATUS round trip, so
  // that no task's latency includes a thread start, a TCP connect and a ZMTP handshake (in an
  // open-loop run they were most of the first 100 ms's latency). Returns once every client has
  // had its answer or given up (its submits then report why). Blocks; once.
  void connect();

  // Submits recorder.tasks() tasks starting at `start` (the open-loop schedule's origin) and
  // returns once all were acknowledged or given up on (RunRecorder::failed). Calls connect()
  // first if the caller did not. Blocks; once.
  void run(SteadyTime start);

  // The first error a client saw, for the report; empty when none.
  std::string first_error() const CUBE_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return first_error_;
  }

 private:
  // One client thread's submits, from the schedule's origin that run() gives.
  void client_thread(Client& client);
  // Sends `tasks` (numbers first, first + 1...) in one request and records each acknowledgement
  // or failure.
  void submit(Client& client, size_t first, std::span<const Task> tasks);
  // Task `index` failed for good: counted, and the run's first error kept.
  void record_failure(size_t index, const std::string& task_id, const Status& status);

  LoadOptions options_;
  RunRecorder& recorder_;
  const Clock& clock_;
  std::atomic<size_t> next_{0};
  // Every client's sockets, in one context (ClientOptions::context).
  zmq::context_t context_{kClientIoThreads};
  std::vector<std::thread> threads_;
  // Counted down by each client thread once connected; a member, not connect()'s local, so
  // that it outlives a thread's count_down() still returning after connect() moved on.
  std::latch connected_{static_cast<std::ptrdiff_t>(std::max<size_t>(1, options_.clients))};
  // The schedule's origin, handed to the connected threads by run(); nullopt from the
  // destructor when run() never came (the threads then end without submitting).
  std::promise<std::optional<SteadyTime>> start_promise_;
  std::shared_future<std::optional<SteadyTime>> start_ = start_promise_.get_future().share();
  bool started_ = false;
  mutable Mutex mu_;
  std::string first_error_ CUBE_GUARDED_BY(mu_);
};

}  // namespace cube::bench
