// DockerDriver: runs Cube tasks as Docker containers, through the narrow DockerApi (so unit
// tests use a fake and only tests/docker/ talks to dockerd).
//
// One task attempt = one container named container_name_for(task) ("cube-<name>-<last 12 digits of
// the task id>") and labelled cube.task, cube.node, cube.attempt (container_spec.h). The name makes
// a repeated start of the same attempt find its container instead of creating a duplicate; the
// labels let a restarted agent re-adopt its containers (list_owned).
//
// Exits: for every container it starts or adopts, the driver runs a waiter thread blocked in
// DockerApi::container_wait (no polling). When the container ends, the waiter inspects it and
// sends the facts to the exit sink (container_exit: exit code, OOM-killed, State.Error, never
// started, whether stop() was called); a container removed before it could be inspected is
// reported with the wait's exit code, or as vanished. A container that exits at once can be
// reported before start() has returned.
// If dockerd drops the wait (restart), the waiter retries with backoff (1 s doubling to 30 s).
//
// Exited containers are kept (so a restarted agent can still report how they ended) until
// stop() or remove_untracked() removes them.
//
// Threading: every method may block on dockerd and is called on worker threads, concurrently
// for different tasks (driver.h). The destructor cancels the waiters and joins them (about a
// second at most); it must not run concurrently with other calls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/drivers/docker/container_spec.h"
#include "agent/drivers/docker/container_status.h"
#include "agent/drivers/docker/docker_api.h"
#include "agent/drivers/driver.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace cube::agent {

struct DockerDriverOptions {
  // Value of the cube.node label: the agent's stable ID. list_owned and remove_untracked only
  // see containers carrying it, so two agents can share one dockerd. Required.
  std::string node_id;
  std::string node_name;                      // cube.node-name label (display only); optional
  std::string publish_address = "127.0.0.1";  // where exposed ports are published
  int64_t pids_limit = 1024;  // a fork bomb in a task cannot exhaust the host's PIDs
  bool allow_privileged = false;
  // Grace of stop() when it is called with a grace of 0 or less.
  Millis stop_grace{10000};
  // Bound on pulling a missing image; a pull that fails or takes longer fails the start with
  // NotFound "image not found: ...".
  Millis pull_timeout{60000};
  // Waiter backoff after dockerd dropped a wait: initial, doubling up to max.
  Millis wait_retry_initial{1000};
  Millis wait_retry_max{30000};
};

class DockerDriver final : public Driver {
 public:
  // `api` and `clock` are not owned and must outlive the driver. Makes no call to dockerd.
  DockerDriver(DockerApi& api, DockerDriverOptions options, const Clock& clock);
  ~DockerDriver() override;
  DockerDriver(const DockerDriver&) = delete;
  DockerDriver& operator=(const DockerDriver&) = delete;

  std::string_view name() const override { return kDriverDocker; }

  // Pulls the image when it is not present (bounded by pull_timeout), creates the container
  // (container_config_for), starts it and inspects it for the published ports. Returns Running
  // with container_id, port_bindings and start_time_ms. A second start of an attempt this
  // driver already runs returns its status; one whose container exists from before an agent
  // restart adopts it (no duplicate). A container of an older attempt of the same task is
  // removed first. Errors (a failed create or start leaves no container behind):
  //   Invalid      no Image, bad exposed port, privileged not allowed, dockerd refused the
  //                config (e.g. Memory below dockerd's 6 MiB minimum), with dockerd's message
  //   NotFound     "image not found: <image>: <dockerd's message>" (missing and not pullable),
  //                or "executable not found ..." when dockerd refuses to start a Cmd that
  //                does not exist. (With Init, tini execs the Cmd inside the started
  //                container, so a missing executable usually shows as an exit report:
  //                Failed, exit code 127.)
  //   Conflict     the container name is taken by a container of another task or node
  //   Unavailable  "dockerd unreachable at <socket>: <curl error>"
  //   Internal     anything else dockerd reports, with its message
  Result<AttemptStatus> start(const Task& task) override;

  // docker stop with t=grace (SIGTERM, SIGKILL after grace), then remove (force). OK when the
  // task or its container is already gone. The waiter reports the end (stopped on request)
  // unless the task had already ended and been reported. A task this
  // instance does not track (an agent restart before list_owned) is found by its labels.
  // Unavailable when dockerd is unreachable; Internal for other dockerd failures.
  Status stop(const std::string& task_id, Millis grace) override;

  // Status from docker inspect (the final status once the waiter reported it). NotFound for a
  // task this driver does not track; Unavailable when dockerd is unreachable.
  Result<AttemptStatus> inspect(const std::string& task_id) override;

  // The container's stdout and stderr, demultiplexed and combined in dockerd's order. Offsets
  // count bytes of that combined stream: the driver fetches the whole log from dockerd and
  // returns [offset, offset + max_bytes) (max_bytes <= 0: everything after offset). Simple
  // and correct as long as dockerd keeps the whole log (json-file without rotation, Cube's
  // default); costs a full read per call. eof once the task has ended and everything was
  // returned. NotFound for an unknown task; Invalid for a negative offset.
  Result<LogChunk> logs(const std::string& task_id, int64_t offset, int64_t max_bytes) override;

  // Every container labelled cube.node=<node_id> (running or not): running ones as Running
  // (with ports), ended ones as Completed/Failed with their exit code. Re-adopts them: they
  // are tracked from now on and running ones get a waiter (at most one per container).
  // Unavailable when dockerd is unreachable.
  Result<std::vector<AttemptStatus>> list_owned() override;

  // CPU and memory of the task's running container from one stats sample
  // (task_usage_from_stats); blocks about a second while dockerd samples CPU. NotFound for a
  // task this driver does not track or whose container has ended or is gone; Unavailable when
  // dockerd is unreachable; Internal for other dockerd failures.
  Result<TaskUsage> stats(const std::string& task_id) override;

  // GET /_ping: OK when dockerd answers; Unavailable "dockerd unreachable at <socket>: ..."
  // when it does not; Unavailable "dockerd answered the ping with an error: ..." for an error
  // answer (a daemon that is starting or shutting down).
  Status check_backend() override;

  // Set once before the first start().
  void set_exit_sink(ExitSink sink) override CUBE_EXCLUDES(mu_);

  // Reconciliation: force-removes containers labelled cube.node=<node_id> whose cube.task is
  // not in `known_task_ids` and that were created at least `min_age` ago (a create can
  // succeed in dockerd after the agent gave up on it; the age keeps in-flight starts safe).
  // Their tasks are forgotten without an exit report. Returns how many were removed.
  // Unavailable when dockerd is unreachable; the first other error after trying them all.
  Result<int> remove_untracked(const std::set<std::string>& known_task_ids,
                               Millis min_age) override;

  // How many waiter threads exist (running or finished but not yet joined), for tests.
  size_t waiter_count_for_test() const CUBE_EXCLUDES(mu_);

 private:
  struct Tracked {
    uint32_t attempt = 0;
    std::string container_id;
    bool stop_requested = false;
    bool ended = false;  // the final status was reported (or found ended by list_owned)
    AttemptStatus last;  // the Running status from start/adopt, or the final status
  };

  // NotFound/Invalid/... mapping of a failed pull (see start()).
  Status ensure_image(const std::string& image);
  // After a name conflict: the facts of this attempt's existing container, or nullopt when the
  // container belonged to an older attempt and was removed. Conflict for a foreign container.
  Result<std::optional<ContainerFacts>> existing_container(const Task& task,
                                                           const std::string& name);
  // Records the container and arms its waiter; returns what start() reports.
  AttemptStatus track_running(const Task& task, const ContainerFacts& facts) CUBE_EXCLUDES(mu_);

  void arm_waiter(const std::string& task_id, uint32_t attempt, const std::string& container_id)
      CUBE_REQUIRES(mu_);
  void run_waiter(std::stop_token stop, std::string task_id, uint32_t attempt,
                  std::string container_id) CUBE_EXCLUDES(mu_);
  // Moves out the threads of finished waiters; the caller joins them after unlocking.
  std::vector<std::jthread> take_finished_waiters() CUBE_REQUIRES(mu_);

  DockerApi& api_;
  const DockerDriverOptions options_;
  const ContainerSpecOptions spec_options_;
  const Clock& clock_;

  mutable Mutex mu_;
  ExitSink sink_ CUBE_GUARDED_BY(mu_);
  std::map<std::string, Tracked> tasks_ CUBE_GUARDED_BY(mu_);  // by task ID
  // One waiter per container ID; finished_ holds those whose thread body has returned.
  std::map<std::string, std::jthread> waiters_ CUBE_GUARDED_BY(mu_);
  std::set<std::string> finished_ CUBE_GUARDED_BY(mu_);
  bool stopping_ CUBE_GUARDED_BY(mu_) = false;
};

}  // namespace cube::agent
