// ExecDriver ("exec"): runs a task's Cmd as a plain child process of the agent, for hosts
// without Docker and for tests (docs/architecture.md, "Agent side"). The agent must opt in with
// `--driver exec`: tasks run with the agent's user and privileges.
//
// For task T, attempt A:
//   - argv = T.Cmd; argv[0] is looked up in PATH (the task's PATH when its Env sets one).
//   - environment = the agent's environment, overridden and extended by T.Env.
//   - cwd = <data_dir>/tasks/T/work/ (created).
//   - stdout and stderr are appended to <data_dir>/tasks/T/A.log; logs() reads that file.
//   - the process leads its own process group; its parent is a small per-task supervisor (the
//     agent's own executable in --exec-supervisor mode, exec_supervisor.h) that waits for it and
//     writes how it ended to <data_dir>/tasks/T/A.exit, whether or not the agent still runs.
//     stop() signals the group: SIGTERM, then SIGKILL after the grace period. When the leader
//     ends (by itself or stopped), whatever is left of its group is killed and reaped before
//     the final status is reported, so a final status means nothing of the task runs any more.
//   - the exit sink gets the facts: exited with code N, killed by signal N, or unknown (the
//     supervisor left no exit status, with the reason), and whether stop() had been called.
//   - <data_dir>/tasks/T/A.record (exec_record.h) names the task's processes: written when the
//     task runs, removed once the agent no longer tracks the ended task (remove_untracked, or
//     when the driver forgets it past kMaxRecords).
//
// Re-adoption: the first list_owned() of a driver reads every record under <data_dir>/tasks.
// A record of a task this instance does not know is
//   - ended, when its exit file is there: reported with the real exit code;
//   - running, when its supervisor still runs with the recorded start time (/proc/PID/stat
//     field 22, so that a reused pid is never mistaken for it): followed from then on like a
//     task started here (stop, inspect, logs, exit through the sink);
//   - lost, when its supervisor is gone without an exit file: reported Failed "exit status
//     unknown: ..." saying what was found; a task leader still running with the recorded start
//     time is killed with its group (nothing would report its end), a pid that now runs another
//     program is never signalled;
//   - skipped when it cannot be parsed: one warning naming the file, counted in
//     recovery_counts(); nothing is started or killed for it.
//
// Processes that leave the task's group (setsid daemons) are not tracked.
//
// Threading: the Driver contract (agent/drivers/driver.h). One waiter thread per running task
// blocks in poll() on the task's supervisor pidfd and calls the exit sink; no polling, no
// sleeping.
//
// Lifetime: destroying the driver does NOT kill tasks (an agent that exits leaves its tasks
// running, like the Nomad and Docker agents): waiter threads are woken and joined, and running
// tasks are released; the next driver on the same data dir adopts them.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
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

  // What the first list_owned() found in the records of earlier agent processes.
  struct RecoveryCounts {
    int running = 0;  // adopted and followed
    int ended = 0;    // ended while the agent was away, with their exit status
    int lost = 0;     // supervisor gone without an exit status (or pid reused)
    int corrupt = 0;  // record files that could not be read or parsed, skipped
  };

  // The agent's own executable: each task's supervisor runs it with --exec-supervisor.
  static constexpr const char* kSelfExecutable = "/proc/self/exe";

  // data_dir: where tasks' work dirs, logs and records go (created when missing; made absolute).
  // clock: wall time for start and finish timestamps; must outlive the driver. supervisor: the
  // executable that runs `--exec-supervisor` (agent/main.cpp dispatches it), the agent's own by
  // default; unit tests, whose own executable is a test binary, pass the built cube-agent.
  ExecDriver(std::filesystem::path data_dir, const Clock& clock,
             std::filesystem::path supervisor = kSelfExecutable);
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
  // Every task this instance started or adopted and still remembers, running or ended, by task
  // id. The first call adopts the tasks of earlier agent processes (see "Re-adoption").
  Result<std::vector<AttemptStatus>> list_owned() override;
  // Forgets the ended tasks that are not in `known_task_ids` and ended at least `min_age` ago,
  // and removes their record and exit files (their logs and work dirs stay). Returns how many.
  Result<int> remove_untracked(const std::set<std::string>& known_task_ids,
                               Millis min_age) override;
  // Replaceable at any time; the sink is called on the waiter threads.
  void set_exit_sink(ExitSink sink) override;

  // <data_dir>/tasks/<task_id>/<attempt>.log, .record, .exit
  std::filesystem::path log_path(const std::string& task_id, uint32_t attempt) const;
  std::filesystem::path record_path(const std::string& task_id, uint32_t attempt) const;
  std::filesystem::path exit_path(const std::string& task_id, uint32_t attempt) const;

  RecoveryCounts recovery_counts() const CUBE_EXCLUDES(mu_);

  // Test-only: the pid (= process group id) the task's latest attempt had, even after it
  // ended; -1 for an unknown task.
  pid_t pid_for_test(const std::string& task_id);

 private:
  // One started attempt. Shared between the table, the waiter thread and stop().
  struct Record {
    std::string task_id;
    uint32_t attempt = 0;
    std::filesystem::path log_path;
    std::filesystem::path record_path;
    std::filesystem::path exit_path;
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
  // Reads the records of earlier agent processes (once) and adds what they describe.
  void recover() CUBE_EXCLUDES(mu_);
  // The Record for one parsed ExecRecord, adopted, ended or lost (see "Re-adoption").
  // Null when it could not be followed (no thread); `counts` says what it was.
  std::shared_ptr<Record> recover_one(const ExecRecord& found, RecoveryCounts& counts)
      CUBE_EXCLUDES(mu_);
  // The attempt `r` describes, Running since its start time.
  static AttemptStatus running_status(const ExecRecord& r);
  // A Record (not yet published, no process) for the attempt `r` describes, Running.
  std::shared_ptr<Record> make_record(const ExecRecord& r) const;
  // Publishes `record` under its task id, joining the waiters of what it replaces or trims.
  void publish(std::shared_ptr<Record> record) CUBE_EXCLUDES(mu_);
  // Removes the record and exit files of an ended record.
  static void remove_files(const Record& record);
  std::shared_ptr<Record> find(const std::string& task_id) CUBE_EXCLUDES(mu_);
  // Removes ended records beyond kMaxRecords; returns them so that their waiter threads are
  // joined outside mu_.
  std::vector<std::shared_ptr<Record>> trim_records() CUBE_REQUIRES(mu_);

  const std::filesystem::path data_dir_;
  const Clock& clock_;
  const std::filesystem::path supervisor_;
  // Written once by the destructor: wakes every waiter thread so it can be joined.
  UniqueFd shutdown_fd_;

  mutable Mutex mu_;
  ExitSink sink_ CUBE_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<Record>> records_ CUBE_GUARDED_BY(mu_);
  bool recovered_ CUBE_GUARDED_BY(mu_) = false;
  RecoveryCounts recovery_ CUBE_GUARDED_BY(mu_);
};

}  // namespace cube::agent
