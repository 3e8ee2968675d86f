#include "bench/spawned_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/check.h"
#include "common/spawn.h"

extern char** environ;

namespace cube::bench {
namespace {

// The default grace of the destructor: a fleet process closes thousands of sockets on the way
// out, which takes a second or two with 2,500 agents on a busy machine.
constexpr Millis kDestructorGrace{5000};

std::string os_error(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

}  // namespace

ProcessExit ProcessExit::from_wait_status(int wstatus) {
  ProcessExit e;
  if (WIFSIGNALED(wstatus))
    e.signal = WTERMSIG(wstatus);
  else
    e.exit_code = WEXITSTATUS(wstatus);
  return e;
}

std::string ProcessExit::describe() const {
  if (signal != 0)
    return "was killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  return "exited with code " + std::to_string(exit_code);
}

Result<SpawnedProcess> SpawnedProcess::spawn(const std::vector<std::string>& argv, Stdin in) {
  CUBE_CHECK(!argv.empty()) << "the caller names the program";
  UniqueFd child_end;
  UniqueFd our_end;
  if (in == Stdin::Pipe) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      return Status::internal(os_error("pipe2", errno));
    child_end = UniqueFd(fds[0]);
    our_end = UniqueFd(fds[1]);
  } else {
    child_end = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!child_end.valid())
      return Status::internal(os_error("/dev/null", errno));
  }
  // dup2 clears FD_CLOEXEC on the copy: the child keeps its stdin and nothing else of ours.
  SpawnActions actions;
  ::posix_spawn_file_actions_adddup2(actions.get(), child_end.get(), STDIN_FILENO);
  SpawnAttr attr;
  if (int rc = attr.reset_signals(); rc != 0)
    return Status::internal(os_error("posix_spawn attributes", rc));
  std::vector<char*> args = c_strings(argv);
  SpawnedProcess p;
  int err =
      ::posix_spawn(&p.pid_, argv[0].c_str(), actions.get(), attr.get(), args.data(), environ);
  if (err != 0) {
    p.pid_ = -1;
    return Status::unavailable("cannot run " + argv[0] + ": " + std::strerror(err));
  }
  p.stdin_ = std::move(our_end);
  p.pidfd_ = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, p.pid_, 0)));
  if (!p.pidfd_.valid())
    return Status::internal(os_error("pidfd_open", errno));  // p's destructor stops it
  return p;
}

SpawnedProcess::~SpawnedProcess() {
  if (pid_ > 0)
    stop(kDestructorGrace);
}

SpawnedProcess::SpawnedProcess(SpawnedProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      stdin_(std::move(other.stdin_)),
      exit_(std::exchange(other.exit_, std::nullopt)) {}

SpawnedProcess& SpawnedProcess::operator=(SpawnedProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0)
      stop(kDestructorGrace);
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    stdin_ = std::move(other.stdin_);
    exit_ = std::exchange(other.exit_, std::nullopt);
  }
  return *this;
}

std::optional<ProcessExit> SpawnedProcess::poll_exit() {
  if (exit_ || pid_ <= 0)
    return exit_;
  int wstatus = 0;
  pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
  if (r == pid_) {
    exit_ = ProcessExit::from_wait_status(wstatus);
    pidfd_.reset();
  } else if (r < 0 && errno == ECHILD) {
    exit_ = ProcessExit{};  // reaped elsewhere: nothing left to wait for
    pidfd_.reset();
  }
  return exit_;
}

ProcessExit SpawnedProcess::stop(Millis grace) {
  if (auto done = poll_exit())
    return *done;
  close_stdin();
  // Not reaped yet, so the pid is still this process's (a zombie keeps it reserved).
  ::kill(pid_, SIGTERM);
  pollfd pfd{pidfd_.get(), POLLIN, 0};
  int n;
  do {
    n = ::poll(&pfd, 1, static_cast<int>(grace.count()));
  } while (n < 0 && errno == EINTR);
  if (n <= 0)
    ::kill(pid_, SIGKILL);
  int wstatus = 0;
  while (::waitpid(pid_, &wstatus, 0) < 0) {
    if (errno != EINTR) {
      exit_ = ProcessExit{};
      pidfd_.reset();
      return *exit_;
    }
  }
  exit_ = ProcessExit::from_wait_status(wstatus);
  pidfd_.reset();
  return *exit_;
}

}  // namespace cube::bench
