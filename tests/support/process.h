// Process: a child process started by a test (a real cube-broker, cube-agent or cube-client),
// with stdout and stderr captured to a file. The destructor kills it (SIGKILL) and reaps it, so
// a failing test never leaves processes behind. Exit is awaited through a pidfd with a deadline:
// no sleeping.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/unique_fd.h"

namespace cube::test {

struct ExitStatus {
  int code = -1;    // exit code when exited normally
  int signal = 0;   // signal number when killed
  bool exited() const { return signal == 0; }
};

class Process {
 public:
  // Starts argv[0] (a path) with argv. Output (stdout and stderr) goes to output_path, appended.
  // extra_env entries ("K=V") are added to the test's environment. Throws std::runtime_error
  // when the process cannot be started (a test setup failure).
  Process(std::vector<std::string> argv, std::string output_path,
          std::vector<std::string> extra_env = {});
  ~Process();
  Process(Process&&) noexcept;
  Process& operator=(Process&&) = delete;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& output_path() const { return output_path_; }
  std::string output() const;  // what it printed so far

  // Sends `sig` (no-op once reaped).
  void signal(int sig);
  // Waits for the process to end, up to `timeout`. nullopt if it is still running then.
  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::string output_path_;
  std::optional<ExitStatus> status_;
};

// Runs a command to completion (up to timeout) and returns its exit status and output.
struct CommandResult {
  ExitStatus status;
  std::string out;  // stdout
  std::string err;  // stderr
  std::chrono::milliseconds elapsed{0};
};
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          std::vector<std::string> extra_env = {});

// Polls `condition` every `interval` until it returns true or `timeout` passes; returns the last
// result. This is "poll with a deadline" for state that has no event to wait on (another
// process's view of the cluster).
template <typename Fn>
bool eventually(Fn&& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(50));

bool eventually_impl(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                     std::chrono::milliseconds interval);

template <typename Fn>
bool eventually(Fn&& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
  return eventually_impl(std::function<bool()>(std::forward<Fn>(condition)), timeout, interval);
}

}  // namespace cube::test
