#include "agent/drivers/exec/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "common/spawn.h"

namespace cube::agent {
namespace {

// execvp's default when PATH is unset, plus the sbin directories a root agent expects.
constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Status spawn_error(int err, const std::string& name) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Status::not_found("executable not found: " + name);
    case EACCES:
    case ENOEXEC:
    case EISDIR:
    case ETXTBSY:
    case ELOOP:
      return Status::invalid("cannot execute " + name + ": " + std::strerror(err));
    default:
      return Status::internal("cannot start " + name + ": " + std::strerror(err));
  }
}

}  // namespace

Result<ChildProcess> ChildProcess::spawn(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.executable.empty())
    return Status::invalid("the command is empty: give at least the program to run");
  UniqueFd log(
      ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644));
  if (!log.valid()) {
    return Status::internal("cannot open log file " + spec.log_path.string() + ": " +
                            std::strerror(errno));
  }

  SpawnActions actions;
  int rc = ::posix_spawn_file_actions_addchdir_np(actions.get(), spec.cwd.c_str());
  if (rc == 0)
    rc = ::posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0)
    rc = ::posix_spawn_file_actions_adddup2(actions.get(), log.get(), 1);
  if (rc == 0)
    rc = ::posix_spawn_file_actions_adddup2(actions.get(), log.get(), 2);
  // Sockets, eventfds and the log fd of other tasks must not leak into the task.
  if (rc == 0)
    rc = ::posix_spawn_file_actions_addclosefrom_np(actions.get(), 3);
  if (rc != 0)
    return Status::internal(std::string("posix_spawn file actions: ") + std::strerror(rc));

  SpawnAttr attr;
  rc = attr.reset_signals(POSIX_SPAWN_SETPGROUP);
  if (rc == 0)
    rc = ::posix_spawnattr_setpgroup(attr.get(), 0);  // a new group led by the child
  if (rc != 0)
    return Status::internal(std::string("posix_spawn attributes: ") + std::strerror(rc));

  auto argv = c_strings(spec.argv);
  auto envp = c_strings(spec.env);
  pid_t pid = -1;
  rc = ::posix_spawn(&pid, spec.executable.c_str(), actions.get(), attr.get(), argv.data(),
                     envp.data());
  if (rc != 0)
    return spawn_error(rc, spec.argv[0]);

  ChildProcess child;
  child.pid_ = pid;
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    // `child` kills and reaps the process on the way out: it must not run unwatched.
    return Status::internal(std::string("pidfd_open failed (Linux 5.3 or later is needed): ") +
                            std::strerror(errno));
  }
  child.pidfd_.reset(fd);
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_)
    kill_and_reap();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      reaped_(std::exchange(other.reaped_, false)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !reaped_)
      kill_and_reap();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    reaped_ = std::exchange(other.reaped_, false);
  }
  return *this;
}

Status ChildProcess::signal_group(int sig) {
  if (pid_ <= 0 || reaped_)
    return Status::ok();
  if (::kill(-pid_, sig) != 0 && errno != ESRCH) {
    return Status::internal("cannot signal process group " + std::to_string(pid_) + ": " +
                            std::strerror(errno));
  }
  return Status::ok();
}

ExitInfo ChildProcess::reap_group() {
  CUBE_CHECK(pid_ > 0 && !reaped_) << "the exec driver reaps each child once";
  ExitInfo info;
  // WNOWAIT: the leader stays a zombie, which keeps its pid and the pgid reserved while the
  // rest of the group is killed below.
  siginfo_t si{};
  int rc;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &si, WEXITED | WNOWAIT);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    info.exit_code = -1;  // reaped behind our back: nobody in Cube calls waitpid(-1)
  } else if (si.si_code == CLD_EXITED) {
    info.exit_code = si.si_status;
  } else {
    info.signal = si.si_status;
  }
  // Whatever the task left behind in its group goes with it, as in a container whose main
  // process exits.
  ::kill(-pid_, SIGKILL);
  while (true) {
    siginfo_t member{};
    if (::waitid(P_PGID, static_cast<id_t>(pid_), &member, WEXITED) == 0)
      continue;
    if (errno == EINTR)
      continue;
    break;  // ECHILD: no child of ours is left in the group
  }
  reaped_ = true;
  pidfd_.reset();
  return info;
}

void ChildProcess::release() {
  pid_ = -1;
  pidfd_.reset();
}

void ChildProcess::kill_and_reap() {
  ::kill(-pid_, SIGKILL);
  reap_group();
}

Result<std::string> find_executable(const std::string& name, const std::string& path_var) {
  if (name.empty())
    return Status::invalid("the command is empty: give at least the program to run");
  if (name.find('/') != std::string::npos)
    return name;
  std::string_view path = path_var.empty() ? kDefaultPath : std::string_view(path_var);
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find(':', pos);
    if (end == std::string_view::npos)
      end = path.size();
    std::string_view dir = path.substr(pos, end - pos);
    pos = end + 1;
    if (dir.empty())
      continue;  // an empty entry means the cwd in execvp; a task's cwd holds no programs
    std::string candidate = std::string(dir) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return Status::not_found("executable not found: " + name);
}

}  // namespace cube::agent
