// Driver: how an agent runs a task. One interface, three implementations: docker
// (agent/drivers/docker/), exec and sim. The agent loop sees only Driver&; the broker never sees
// a driver.
//
// Drivers report facts, not verdicts: how an attempt ended (TaskExit, protocol/task_outcome.h)
// goes to the exit sink, and the agent decides the reported state and reason with
// decide_outcome(). A start() that fails is a Status, which the agent reports as Failed.
//
// Threading contract: start, stop, inspect, logs and list_owned may block (fork, HTTP to
// dockerd, image pulls) and are called on the agent's worker threads, never on its poll loop.
// Implementations must be safe to call concurrently for *different* tasks; the agent never
// runs two calls for the same task at once. The exit sink may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "protocol/task.h"
#include "protocol/task_outcome.h"

namespace cube::agent {

// How one attempt the driver started (or adopted) ended: what the exit sink receives, once per
// attempt.
struct AttemptEnd {
  std::string task_id;
  uint32_t attempt = 0;
  TaskExit exit;
  int64_t finish_time_ms = 0;  // Unix ms, as the backend recorded it or the driver saw it
};

// Called when a task the driver started ends on its own or after stop(), with the facts of its
// end. Any thread; a driver whose calls never block calls it on the thread that called it (the
// agent's loop thread).
using ExitSink = std::function<void(AttemptEnd ended)>;

struct LogChunk {
  std::string data;
  int64_t next_offset = 0;  // pass back to continue (follow)
  bool eof = false;         // the task has ended and nothing more will come
};

struct TaskUsage {
  double cpu_cores = 0;  // average over the last sampling interval
  int64_t memory_bytes = 0;
};

class Driver {
 public:
  virtual ~Driver() = default;

  // "exec", "docker", "sim": what tasks' Driver field names.
  virtual std::string_view name() const = 0;

  // Starts one attempt of `task` (task.attempt). On success the returned status is Running,
  // with start_time_ms and (docker) container_id and port_bindings. Errors:
  //   Invalid      the spec cannot run here (exec task without Cmd, bad port) - not retried
  //   NotFound     image or executable missing, with the name in the message
  //   Unavailable  the backend (dockerd) is unreachable - another node may succeed
  //   Internal     anything else, with the backend's message
  virtual Result<AttemptStatus> start(const Task& task) = 0;

  // Stops the task: polite signal, then kill after `grace`. OK when the task already ended or
  // is unknown (stop is idempotent). The final state still arrives through the exit sink.
  virtual Status stop(const std::string& task_id, Millis grace) = 0;

  // Current status of a task this driver knows (an ended one as ended_status() describes it,
  // without the agent's knowledge). NotFound when it knows no such task.
  virtual Result<AttemptStatus> inspect(const std::string& task_id) = 0;

  // Up to max_bytes of the task's combined stdout/stderr from `offset`. NotFound for an unknown
  // task.
  virtual Result<LogChunk> logs(const std::string& task_id, int64_t offset, int64_t max_bytes) = 0;

  // Tasks this driver runs or ran that survive an agent restart (containers found by label,
  // children in the driver's records), so HELLO can report them; ended ones as ended_status()
  // describes them.
  virtual Result<std::vector<AttemptStatus>> list_owned() = 0;

  // Resource usage of a running task (CPU in cores, memory in bytes) for NODE_STATS.
  // NotFound for an unknown or ended task; Unavailable when the backend cannot say.
  virtual Result<TaskUsage> stats(const std::string& task_id) {
    return Status::not_found("stats not supported by the " + std::string(name()) + " driver for " +
                             task_id);
  }

  // Whether the backend can run tasks right now: OK, or Unavailable saying what is wrong and
  // where ("dockerd unreachable at /var/run/docker.sock: ..."). The agent asks at start and
  // every few seconds, and REJECTs assignments with this message while it fails. May block
  // (docker: GET /_ping). Default: OK (a driver without a backend is always ready).
  virtual Status check_backend() { return Status::ok(); }

  // Removes what the driver still keeps for tasks the agent no longer tracks: docker removes
  // the containers labelled for this node whose task is not in `known_task_ids` and that are
  // at least `min_age` old (ended containers the agent has forgotten, and strays whose create
  // finished after the agent gave up on it). Returns how many it removed. May block.
  // Default: nothing kept, 0.
  virtual Result<int> remove_untracked(const std::set<std::string>& known_task_ids,
                                       Millis min_age) {
    (void)known_task_ids;
    (void)min_age;
    return 0;
  }

  // Where exit notifications go; set once before the first start().
  virtual void set_exit_sink(ExitSink sink) = 0;

  // --- For drivers that never block (sim) ---

  // True when every call returns at once without blocking (no I/O, no waiting): the agent then
  // makes its driver calls on its own loop thread instead of a worker pool, so that one process
  // can host thousands of agents without thousands of threads. Default: false.
  virtual bool calls_never_block() const { return false; }

  // Drivers whose tasks end on timers rather than by themselves (sim): the earliest time at
  // which poll_due() has work, so the agent loop wakes for it; nullopt when nothing is due.
  // Called on the agent's loop thread. Default: nullopt.
  virtual std::optional<SteadyTime> next_deadline() const { return std::nullopt; }

  // Ends the tasks whose time has come at `now`, reporting each through the exit sink (on the
  // calling thread). Called on the agent's loop thread; never blocks. Default: nothing.
  virtual void poll_due(SteadyTime now) { (void)now; }
};

}  // namespace cube::agent
