// SimFleet: thousands of sim agents in one process, for cube-bench.
//
// Each agent is a real agent::AgentLoop with its own SimDriver and its own DEALER, PUB and SUB
// sockets connected to the broker, so the broker sees N independent peers exactly as it would
// see N cube-agent processes. What is shared is the machinery around them:
//   - one ZeroMQ context (ZMQ_MAX_SOCKETS raised to fit 3 sockets per agent) and its I/O
//     threads, instead of a context, a reaper and an I/O thread per agent;
//   - a few host threads (options.threads) instead of a thread per agent: each polls the
//     agents of its shard with epoll over their wake fds (AgentLoop::wake_fds) and services an
//     agent only when one of its fds fired, it has messages left, or its next deadline passed
//     (a heap of deadlines, refreshed after each step). zmq::poll would ask ZMQ_EVENTS of
//     every socket on every wake-up, thousands of syscalls per iteration;
//   - the sim driver's calls never block, so no worker pool threads either.
//
// File descriptors: about 7 per agent (3 TCP connections, 3 socket mailboxes, 1 result queue),
// plus the broker's side when it runs in the same process; cube-bench lifts the soft
// RLIMIT_NOFILE to the hard limit first (raise_fd_limit, common/fd_limit.h). A fleet larger than
// one process's limit allows is split over processes (bench/fleet_split.h).
//
// Thread-safety: create() and start() on one thread; stop() (or the destructor) on that same
// thread. The agents are touched only by their host thread between start() and stop().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "agent/agent_loop.h"
#include "agent/drivers/sim/sim_driver.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace cube::bench {

struct SimFleetOptions {
  std::string broker_host = "127.0.0.1";
  int broker_port = 7100;  // the broker's base port (client port)
  size_t agents = 100;
  uint32_t slots = 8;               // per agent
  std::string name_prefix = "sim";  // agents are named <prefix>-0001, <prefix>-0002, ...
  size_t threads = 1;               // host threads; agents are split evenly between them
  int io_threads = 1;               // ZeroMQ I/O threads of the shared context
  Millis heartbeat{1000};           // until WELCOME says otherwise
  size_t max_finished = 16;         // finished attempts each agent keeps for HELLO
  // NODE_STATS period; 0 (the default) sends none. A sim agent's node stats would be this
  // machine's /proc read a thousand times over, on the host thread, every period: a stall of
  // tens of milliseconds for every agent at once, which is the bench's cost, not the broker's.
  Millis stats_interval{0};
};

// File descriptors a fleet of `agents` needs in this process (sockets, mailboxes, queues), plus
// the broker's share when it runs here too.
uint64_t fds_needed(size_t agents, bool broker_in_process);

class SimFleet {
  struct Key {  // only create() builds fleets (passkey, so that it can use make_unique)
    explicit Key() = default;
  };

 public:
  SimFleet(Key, const SimFleetOptions& options, const Clock& clock);

  // Builds the agents (sockets connect at once; ZeroMQ keeps retrying until the broker is up).
  // `clock` and `observer` (optional: told about every sim task's start and end) must outlive
  // the fleet. Errors: Invalid for 0 agents, 0 slots or 0 threads; Unavailable when the
  // context cannot be configured.
  static Result<std::unique_ptr<SimFleet>> create(const SimFleetOptions& options,
                                                  const Clock& clock, agent::SimObserver* observer);
  // Stops the host threads (if running) and closes every socket.
  ~SimFleet();
  SimFleet(const SimFleet&) = delete;
  SimFleet& operator=(const SimFleet&) = delete;

  // Starts the host threads; each sends its agents' HELLOs and serves them. Internal when an
  // agent's sockets could not be set up. Once.
  Status start();

  // Asks the host threads to return and joins them. Idempotent. Tasks "running" in the sim
  // drivers are simply dropped with the fleet.
  void stop();

  size_t size() const { return agents_.size(); }
  // Agent names in creation order, for matching NODES.
  const std::vector<std::string>& names() const { return names_; }
  // Host threads that ended with an error (ZeroMQ failed); empty while all is well.
  std::vector<std::string> errors() const;

 private:
  struct Member {
    std::unique_ptr<agent::SimDriver> driver;
    std::unique_ptr<agent::AgentLoop> loop;
  };
  struct Shard;

  void host(Shard& shard);

  SimFleetOptions options_;
  const Clock& clock_;
  zmq::context_t context_;
  std::vector<std::string> names_;
  std::vector<Member> agents_;  // declared after context_: closed before it
  std::vector<std::unique_ptr<Shard>> shards_;
  UniqueFd stop_fd_;  // eventfd: readable once stop() was called
  std::vector<std::thread> threads_;
  bool started_ = false;
};

}  // namespace cube::bench
