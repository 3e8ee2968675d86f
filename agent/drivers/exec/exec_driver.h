// ExecDriver ("exec"): runs a task's Cmd as a plain child process of the agent, for hosts
// without Docker and for tests (docs/architecture.md, "Agent side"). The agent must opt in with
// `--driver exec`: tasks run with the agent's user and privileges.
//
// For task T, attempt A:
//   - argv = T.Cmd; argv[0] is looked up in PATH (the task's PATH when its Env sets one).
//   - environment = the agent's environment, overridden and extended by T.Env.
//   - cwd = <data_dir>/tasks/T/work/ (created).
//   - stdout and stderr are appended to <data_dir>/tasks/T/A.log; logs() reads that file.
//   - the process leads its own process group; stop() signals the group: SIGTERM, then SIGKILL
//     after the grace period. When the leader ends (by itself or stopped), whatever is left of
//     its group is killed and reaped before the final status is reported, so a final status
//     means nothing of the task runs any more.
//   - the exit sink gets the facts: exited with code N, killed by signal N, or unknown (waitid
//     said neither), and whether stop() had been called.
//
// The constructor makes the agent process a child subreaper (PR_SET_CHILD_SUBREAPER) so that
// the members of a task's group whose parent died are re-parented to the agent and reaped by
// it. Processes that leave the task's group (setsid daemons) are not tracked.
//
// Threading: the Driver contract (agent/drivers/driver.h). One waiter thread per running task
// blocks in poll() on the task's pidfd and calls the exit sink; no polling, no sleeping.
//
// Lifetime: destroying the driver does NOT kill tasks (an agent that exits leaves its tasks
// running, like the Nomad and Docker agents): waiter threads are woken and joined, and running
// children are released. Such tasks are not re-adopted by the next agent process: list_owned()
// reports only the tasks this driver instance started.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/drivers/driver.h"
#include "agent/drivers/exec/child_process.h"
#include "common/mutex.h"
#include "common/unique_fd.h"

namespace cube::agent {

class ExecDriver final : public Driver {
 public:
  // Exited tasks are remembered (for inspect and logs) up to this many; the oldest are
  // forgotten first. Matches the agent's retention of finished attempts.
  static constexpr size_t kMaxRecords = 1000;
  // How long stop() waits for a group to disappear after SIGKILL before it gives up (a process
  // in uninterruptible sleep); the final status still arrives through the sink later.
  static constexpr Millis kKillWait{5000};
  // logs() never returns more than this in one chunk, whatever max_bytes says.
  static constexpr int64_t kMaxLogChunk = 4 << 20;

  // data_dir: where tasks' work dirs and logs go (created when missing). clock: wall time for
  // start and finish timestamps; must outlive the driver.
  ExecDriver(std::filesystem::path data_dir, const Clock& clock);
  ~ExecDriver() override;
  ExecDriver(const ExecDriver&) = delete;
  ExecDriver& operator=(const ExecDriver&) = delete;

  std::string_view name() const override { return kDriverExec; }

  // Errors: Invalid (no Cmd, a task id that is not a safe file name, not executable),
  // NotFound "executable not found: X" (before anything runs), Conflict (an attempt of this
  // task is still running here), Internal (cannot create the task dir or log, fork failed).
  Result<AttemptStatus> start(const Task& task) override;
  // SIGTERM to the group, waits up to `grace` for the task to end, then SIGKILL and waits up to
  // kKillWait. OK for unknown or ended tasks. Blocks. Internal if the group survived SIGKILL.
  Status stop(const std::string& task_id, Millis grace) override;
  Result<AttemptStatus> inspect(const std::string& task_id) override;
  // Reads <data_dir>/tasks/<id>/<attempt>.log of the task's latest attempt. Invalid for a
  // negative offset, max_bytes <= 0 or an offset past the end; eof once the task has ended and
  // everything was read.
  Result<LogChunk> logs(const std::string& task_id, int64_t offset, int64_t max_bytes) override;
  // Every task this instance started and still remembers, running or ended, by task id.
  Result<std::vector<AttemptStatus>> list_owned() override;
  // Replaceable at any time; the sink is called on the waiter threads.
  void set_exit_sink(ExitSink sink) override;

  // <data_dir>/tasks/<task_id>/<attempt>.log
  std::filesystem::path log_path(const std::string& task_id, uint32_t attempt) const;

  // Test-only: the pid (= process group id) the task's latest attempt had, even after it
  // ended; -1 for an unknown task.
  pid_t pid_for_test(const std::string& task_id);

 private:
  // One started attempt. Shared between the table, the waiter thread and stop().
  struct Record {
    std::string task_id;
    uint32_t attempt = 0;
    std::filesystem::path log_path;
    Mutex mu;
    std::condition_variable exited_cv;  // signalled when `exited` becomes true
    ChildProcess child CUBE_GUARDED_BY(mu);
    AttemptStatus status CUBE_GUARDED_BY(mu);  // Running, as start() returned it
    bool stop_requested CUBE_GUARDED_BY(mu) = false;
    bool exited CUBE_GUARDED_BY(mu) = false;
    TaskExit exit CUBE_GUARDED_BY(mu);  // once exited
    int64_t finish_time_ms CUBE_GUARDED_BY(mu) = 0;

    // Running, or ended as ended_status() describes it.
    AttemptStatus observed_status() const CUBE_REQUIRES(mu) {
      return exited ? ended_status(status, exit, finish_time_ms) : status;
    }
    std::thread waiter;  // set by start() before the record is published; joined on removal
  };

  void wait_for_exit(Record& record);
  std::shared_ptr<Record> find(const std::string& task_id) CUBE_EXCLUDES(mu_);
  // Removes ended records beyond kMaxRecords; returns them so that their waiter threads are
  // joined outside mu_.
  std::vector<std::shared_ptr<Record>> trim_records() CUBE_REQUIRES(mu_);

  const std::filesystem::path data_dir_;
  const Clock& clock_;
  // Written once by the destructor: wakes every waiter thread so it can be joined.
  UniqueFd shutdown_fd_;

  Mutex mu_;
  ExitSink sink_ CUBE_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<Record>> records_ CUBE_GUARDED_BY(mu_);
};

}  // namespace cube::agent
