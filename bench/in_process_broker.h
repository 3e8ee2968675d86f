// InProcessBroker: a real broker::BrokerLoop on its own thread inside cube-bench, bound on
// 127.0.0.1 at a free base port. It is the same loop cube-broker runs; only the process is
// shared, so the figures cube-bench reports for it are for its threads: the loop thread
// (exactly, from its CPU-time clock), the ZeroMQ I/O and reaper threads of its context (found
// as the threads that appeared while it was built and bound) and its store writer thread
// (started by the loop itself, so found by its name, broker::StoreWriter::kThreadName); the
// helper threads are read from /proc in clock ticks (10 ms).
//
// Thread-safety: create, read and destroy from one thread; the loop runs on its own.
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <memory>
#include <set>
#include <string>
#include <thread>

#include "broker/broker_loop.h"
#include "broker/options.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace cube::bench {

class InProcessBroker {
 public:
  InProcessBroker() = default;
  // Opens the store described by `store_spec` ("memory", "sqlite:PATH", as cube-broker's
  // --store), binds on 127.0.0.1 port 0 and starts the loop thread. `options.host`/`port` are
  // overridden; `clock` must outlive this object. Errors: Invalid for a bad store spec; what
  // opening the store and BrokerLoop::bind() return. Once.
  Status start(broker::BrokerOptions options, const std::string& store_spec, const Clock& clock);
  // Stops the loop (it commits what is left) and joins its thread.
  ~InProcessBroker();
  InProcessBroker(const InProcessBroker&) = delete;
  InProcessBroker& operator=(const InProcessBroker&) = delete;

  // Valid after a successful start().
  int port() const { return loop_->port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

  // CPU seconds of the loop thread so far (nanosecond clock).
  double loop_cpu_seconds() const;
  // CPU seconds of the loop thread plus helper_threads() so far.
  double cpu_seconds() const;
  // The broker's threads other than the loop, as they are now: its ZeroMQ context's threads and,
  // once the loop runs, its store writer. Reads /proc (blocks briefly).
  std::set<pid_t> helper_threads() const;

 private:
  std::unique_ptr<broker::BrokerLoop> loop_;
  UniqueFd stop_fd_;
  std::set<pid_t> zmq_threads_;  // the broker context's I/O and reaper threads (constant)
  std::thread thread_;
  pthread_t native_{};  // thread_'s handle, for its CPU-time clock
};

}  // namespace cube::bench
