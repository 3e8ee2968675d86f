// SpawnedProcess: a helper process that cube-bench --idle starts and must not leave behind (a
// fleet process of sim agents, a cube-broker). posix_spawn with the signal mask and the
// dispositions of SIGINT and SIGTERM reset (cube-bench blocks them through ShutdownSignal; a
// child must not inherit that, or SIGTERM could not stop it), standard output and error
// inherited (its log lines reach the user), standard input either a pipe this object holds or
// /dev/null, and no other descriptor of ours (they are all close-on-exec). It stays in our
// process group, so Ctrl-C in a terminal reaches it too.
//
// The stdin pipe is how a fleet process learns that cube-bench is gone: its read end sees EOF
// when we close the write end, or when we die in any way, even by SIGKILL.
//
// Move-only. The destructor stops a process still running (stop()) and reaps it: error paths
// leave no process behind.
//
// Thread-safety: one owner thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace cube::bench {

// How a process ended.
struct ProcessExit {
  int exit_code = 0;  // when signal == 0
  int signal = 0;     // the signal that killed it, or 0
  // From waitpid's status of a process that ended.
  static ProcessExit from_wait_status(int wstatus);
  bool succeeded() const { return signal == 0 && exit_code == 0; }
  // "exited with code 1", "was killed by signal 9 (Killed)".
  std::string describe() const;
};

class SpawnedProcess {
 public:
  enum class Stdin { Pipe, DevNull };

  // Starts argv[0] (a path, not looked up in PATH) with `argv`. Errors: Unavailable "cannot run
  // PATH: REASON" when it cannot be started (glibc's posix_spawn reports exec failures);
  // Internal when a pipe, /dev/null or its pidfd cannot be opened.
  static Result<SpawnedProcess> spawn(const std::vector<std::string>& argv, Stdin in);

  SpawnedProcess() = default;
  ~SpawnedProcess();
  SpawnedProcess(SpawnedProcess&& other) noexcept;
  SpawnedProcess& operator=(SpawnedProcess&& other) noexcept;
  SpawnedProcess(const SpawnedProcess&) = delete;
  SpawnedProcess& operator=(const SpawnedProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Readable once the process has exited (for a poll set); -1 once reaped.
  int pidfd() const { return pidfd_.get(); }

  // Closes our end of its stdin pipe (no-op for /dev/null or when closed already).
  void close_stdin() { stdin_.reset(); }

  // Reaps the process when it has exited, without blocking: its exit, or nullopt while it runs.
  // Once reaped, returns the same exit every time.
  std::optional<ProcessExit> poll_exit();

  // Ends the process: closes its stdin, sends SIGTERM, waits up to `grace` for it to exit, then
  // SIGKILLs it; reaps it either way and returns how it ended. Idempotent. Blocks up to `grace`.
  ProcessExit stop(Millis grace);

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd stdin_;  // write end of its stdin pipe
  std::optional<ProcessExit> exit_;
};

}  // namespace cube::bench
