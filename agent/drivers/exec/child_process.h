// ChildProcess: owns one task process of the exec driver, the process group it leads
// (pgid == pid), and the per-task supervisor that is its parent (exec_supervisor.h). spawn()
// starts the supervisor (the agent's own executable in --exec-supervisor mode) in a session of
// its own, with the task's cwd and environment; the supervisor spawns the task with its signal
// mask reset and default signal dispositions (the agent blocks SIGINT/SIGTERM process-wide
// through ShutdownSignal; a task must not inherit that, or it could never be stopped politely),
// stdin from /dev/null, stdout and stderr appended to a log file, no other inherited fd.
//
// Why a supervisor: the task's exit status can only be read by its parent. With the supervisor
// as parent, the status is written to the exit file whether or not the agent that started the
// task still runs, so an agent restarted after a crash adopts the task (adopt(), from its
// record) and still reports its real exit code.
//
// Exit detection: pidfd() (the supervisor's) becomes readable when the supervisor exits, which
// it does once the task's leader has exited and the rest of its group was killed and reaped;
// reap_group() then reaps the supervisor (when it is this process's child) and reads the exit
// file, so that when it returns nothing of the task runs any more.
//
// PID reuse: the group is only signalled while its leader's pid still has the recorded start
// time (process_identity.h); the supervisor keeps the leader a zombie until it has killed the
// rest of the group, so the pgid is the task's for as long as that check passes. reap_group()
// and signal_group() must be serialized by the owner (the exec driver holds the task's mutex
// around both).
//
// Move-only. Destroying a ChildProcess that was neither reaped nor released kills its group with
// SIGKILL and waits for its supervisor (error paths must not leak processes); release() hands the
// processes over to nobody, so that tasks outlive the agent.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "agent/drivers/exec/exec_record.h"
#include "agent/drivers/exec/process_identity.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace cube::agent {

struct SpawnSpec {
  std::string executable;          // path to exec (already looked up in PATH)
  std::vector<std::string> argv;   // argv[0] as the user wrote it
  std::vector<std::string> env;    // "K=V", the whole environment
  std::filesystem::path cwd;       // must exist
  std::filesystem::path log_path;  // stdout and stderr, appended; created when missing
  // The supervisor's executable (run as `<it> --exec-supervisor ...`): the agent's own, or in
  // unit tests the built cube-agent.
  std::filesystem::path supervisor;
  std::filesystem::path exit_path;  // where the supervisor writes how the task ended
};

class ChildProcess {
 public:
  // Starts the supervisor and, through it, the task; returns once the task runs the new program
  // (the supervisor reports spawn failures synchronously), so a missing executable is an error
  // here, not an exit code later. Errors:
  //   NotFound  "executable not found: X"
  //   Invalid   the file exists but cannot be executed (permission, format)
  //   Internal  the log file cannot be opened, the supervisor cannot start, fork/pidfd failed
  // Blocks for the fork/exec. Any thread.
  static Result<ChildProcess> spawn(const SpawnSpec& spec);

  // Follows the task of `record`, started by an earlier agent process: its supervisor must still
  // run with the recorded start time. NotFound when the supervisor is gone (or its pid now runs
  // another program, said in the message); nothing is signalled either way.
  static Result<ChildProcess> adopt(const ExecRecord& record);

  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The task leader's pid, which is also the process group id. -1 when empty.
  pid_t pid() const { return task_.pid; }
  const ProcessIdentity& task() const { return task_; }
  const ProcessIdentity& supervisor() const { return supervisor_; }
  // Readable once the supervisor has exited; -1 after reap_group() or release().
  int pidfd() const { return pidfd_.get(); }
  bool reaped() const { return reaped_; }

  // Sends `sig` to the whole group. OK (and nothing is sent) once reaped or released, or when
  // the leader's pid is gone or runs another program (the task has ended); a group already gone
  // (ESRCH) is OK too.
  Status signal_group(int sig);

  // Blocks until the supervisor has exited (immediately when pidfd() is readable), reaps it
  // when it is this process's child, and returns how the task ended as its exit file says. When
  // the supervisor left no exit file, exit_code is -1 with the reason in `error`, after the
  // group was killed if its leader still ran. Precondition: not reaped, not empty.
  ExitInfo reap_group();

  // Gives the processes up: they keep running and this object will neither signal nor reap them.
  void release();

 private:
  void kill_and_reap();

  ProcessIdentity supervisor_{-1, 0};
  ProcessIdentity task_{-1, 0};
  std::filesystem::path exit_path_;
  UniqueFd pidfd_;
  bool own_child_ = false;  // the supervisor is this process's child (reap it)
  bool reaped_ = false;
};

// Looks `name` up like execvp: as is when it contains a '/', otherwise in each directory of
// `path_var` (the task's PATH) for an executable regular file. NotFound "executable not found:
// NAME" when there is none.
Result<std::string> find_executable(const std::string& name, const std::string& path_var);

// How the task of `exit_path` ended: its exit file, or, when there is none (its supervisor was
// killed), exit_code -1 and an error saying so; a leader still matching `task` is SIGKILLed
// with its group first, so that nothing of an unfollowable task keeps running.
ExitInfo read_exit_or_kill(const std::filesystem::path& exit_path, const ProcessIdentity& task,
                           const ProcessIdentity& supervisor);

}  // namespace cube::agent
