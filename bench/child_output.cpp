#include "bench/child_output.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bench/spawned_process.h"
#include "common/check.h"
#include "common/spawn.h"
#include "common/unique_fd.h"

extern char** environ;

namespace cube::bench {
namespace {

std::string os_error(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

}  // namespace

std::string ChildOutput::describe_exit() const {
  return ProcessExit{exit_code, signal}.describe();
}

Result<ChildOutput> run_for_stdout(const std::vector<std::string>& argv) {
  CUBE_CHECK(!argv.empty()) << "the caller names the program";
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return Status::internal(os_error("pipe2", errno));
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);

  // dup2 clears FD_CLOEXEC on the copy, so the child keeps its stdout and nothing else of ours.
  SpawnActions actions;
  ::posix_spawn_file_actions_adddup2(actions.get(), write_end.get(), STDOUT_FILENO);
  std::vector<char*> args = c_strings(argv);
  pid_t pid = -1;
  int err = ::posix_spawn(&pid, argv[0].c_str(), actions.get(), nullptr, args.data(), environ);
  if (err != 0)
    return Status::unavailable("cannot run " + argv[0] + ": " + std::strerror(err));
  write_end.reset();  // so that reading ends when the child (and whatever it forked) closes it

  ChildOutput result;
  Status read_status = Status::ok();
  char buf[65536];
  while (true) {
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n > 0) {
      result.out.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      read_status = Status::internal(os_error("reading the output of " + argv[0], errno));
      break;
    }
  }
  read_end.reset();  // a child still writing gets EPIPE instead of blocking the wait below
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR)
      return Status::internal(os_error("waitpid", errno));
  }
  if (!read_status.is_ok())
    return read_status;
  ProcessExit exit = ProcessExit::from_wait_status(wstatus);
  result.signal = exit.signal;
  result.exit_code = exit.exit_code;
  return result;
}

}  // namespace cube::bench
