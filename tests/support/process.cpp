#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/clock.h"

extern char** environ;

namespace cube::test {
namespace {

int pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ExitStatus decode_status(int status) {
  ExitStatus out;
  if (WIFEXITED(status)) {
    out.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
  }
  return out;
}

pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd,
            const std::vector<std::string>& extra_env) {
  // extra_env replaces a variable the test's environment already has (getenv would find the
  // inherited one first).
  auto overridden = [&](const std::string& entry) {
    std::string name = entry.substr(0, entry.find('=') + 1);
    return std::any_of(extra_env.begin(), extra_env.end(),
                       [&](const std::string& e) { return e.starts_with(name); });
  };
  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e) {
    if (!overridden(*e))
      env_storage.emplace_back(*e);
  }
  for (const auto& e : extra_env)
    env_storage.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_storage)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argvp;
  for (auto& a : args)
    argvp.push_back(a.data());
  argvp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    // The child must not inherit a blocked signal mask from the test process.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setpgid(0, 0);  // its own group, so killing it never hits the test runner
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      ::dup2(devnull, 0);
    ::execve(argvp[0], argvp.data(), envp.data());
    std::fprintf(stderr, "execve %s: %s\n", argvp[0], std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

}  // namespace

Process::Process(std::vector<std::string> argv, std::string output_path,
                 std::vector<std::string> extra_env)
    : output_path_(std::move(output_path)) {
  UniqueFd out(::open(output_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!out.valid())
    throw std::runtime_error("cannot open " + output_path_);
  pid_ = spawn(argv, out.get(), out.get(), extra_env);
  pidfd_.reset(pidfd_open(pid_));
  if (!pidfd_.valid())
    throw std::runtime_error("pidfd_open failed");
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      output_path_(std::move(other.output_path_)),
      status_(std::move(other.status_)) {}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(10));
  }
}

std::string Process::output() const {
  return read_file(output_path_);
}

void Process::signal(int sig) {
  if (pid_ > 0 && !status_)
    ::kill(pid_, sig);
}

std::optional<ExitStatus> Process::wait(std::chrono::milliseconds timeout) {
  if (status_ || pid_ <= 0)
    return status_;
  pollfd pfd{pidfd_.get(), POLLIN, 0};
  int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (ready <= 0)
    return std::nullopt;
  int status = 0;
  if (::waitpid(pid_, &status, 0) == pid_)
    status_ = decode_status(status);
  return status_;
}

bool Process::running() {
  return !wait(std::chrono::milliseconds(0)).has_value();
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          std::vector<std::string> extra_env) {
  char out_path[] = "/tmp/cube-cmd-out-XXXXXX";
  char err_path[] = "/tmp/cube-cmd-err-XXXXXX";
  UniqueFd out(::mkstemp(out_path));
  UniqueFd err(::mkstemp(err_path));
  if (!out.valid() || !err.valid())
    throw std::runtime_error("mkstemp failed");
  auto start = system_clock().now();
  pid_t pid = spawn(argv, out.get(), err.get(), extra_env);
  UniqueFd pidfd(pidfd_open(pid));
  CommandResult result;
  pollfd pfd{pidfd.get(), POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) {
    ::kill(pid, SIGKILL);
    result.status.code = -1;
    result.status.signal = SIGKILL;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (result.status.signal != SIGKILL)
    result.status = decode_status(status);
  result.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(system_clock().now() - start);
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  ::unlink(out_path);
  ::unlink(err_path);
  return result;
}

bool eventually_impl(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                     std::chrono::milliseconds interval) {
  const Clock& clock = system_clock();
  auto deadline = clock.now() + timeout;
  while (true) {
    if (condition())
      return true;
    if (clock.now() >= deadline)
      return false;
    clock.sleep_for(interval);
  }
}

}  // namespace cube::test
