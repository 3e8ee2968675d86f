// ChildProcess: owns one task process started by the exec driver, and the process group it
// leads (pgid == pid). posix_spawn starts it in its own group, with the signal mask reset and
// default signal dispositions (the agent blocks SIGINT/SIGTERM process-wide through
// ShutdownSignal; a task must not inherit that, or it could never be stopped politely), stdin
// from /dev/null, stdout and stderr appended to a log file, no other inherited fd.
//
// Exit detection: pidfd() becomes readable when the leader exits; reap_group() then collects
// the leader's status, kills what is left of its group and reaps every member, so that when it
// returns nothing of the task runs any more. Members whose parent died are re-parented to the
// agent because the exec driver makes the agent a child subreaper (PR_SET_CHILD_SUBREAPER);
// without that, init would reap them at some later time.
//
// PID reuse: the group is only signalled while its leader is unreaped (a zombie leader keeps the
// pid and the pgid reserved); reap_group() and signal_group() must be serialized by the owner
// (the exec driver holds the task's mutex around both).
//
// Move-only. Destroying a ChildProcess that was neither reaped nor released kills its group with
// SIGKILL and reaps it (error paths must not leak processes); release() hands the process over
// to nobody, so that tasks outlive the agent.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace cube::agent {

struct SpawnSpec {
  std::string executable;          // path to exec (already looked up in PATH)
  std::vector<std::string> argv;   // argv[0] as the user wrote it
  std::vector<std::string> env;    // "K=V", the whole environment
  std::filesystem::path cwd;       // must exist
  std::filesystem::path log_path;  // stdout and stderr, appended; created when missing
};

// How the leader ended.
struct ExitInfo {
  int exit_code = 0;  // when signal == 0
  int signal = 0;     // the signal that killed it, or 0
};

class ChildProcess {
 public:
  // Starts the process; returns once it runs the new program (glibc's posix_spawn reports exec
  // failures synchronously), so a missing executable is an error here, not an exit code later.
  // Errors:
  //   NotFound  "executable not found: X"
  //   Invalid   the file exists but cannot be executed (permission, format)
  //   Internal  the log file cannot be opened, fork/pidfd failed (with the OS error)
  // Blocks for the fork/exec. Any thread.
  static Result<ChildProcess> spawn(const SpawnSpec& spec);

  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The leader's pid, which is also the process group id. -1 when empty.
  pid_t pid() const { return pid_; }
  // Readable once the leader has exited; -1 after reap_group() or release().
  int pidfd() const { return pidfd_.get(); }
  bool reaped() const { return reaped_; }

  // Sends `sig` to the whole group. OK (and nothing is sent) once reaped or released; a group
  // already gone (ESRCH) is OK too.
  Status signal_group(int sig);

  // Blocks until the leader has exited (immediately when pidfd() is readable), records its
  // status, SIGKILLs the rest of its group and reaps every member. Precondition: not reaped.
  ExitInfo reap_group();

  // Gives the process up: it keeps running and this object will neither signal nor reap it.
  void release();

 private:
  void kill_and_reap();

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  bool reaped_ = false;
};

// Looks `name` up like execvp: as is when it contains a '/', otherwise in each directory of
// `path_var` (the task's PATH) for an executable regular file. NotFound "executable not found:
// NAME" when there is none.
Result<std::string> find_executable(const std::string& name, const std::string& path_var);

}  // namespace cube::agent
