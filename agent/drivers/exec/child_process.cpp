#include "agent/drivers/exec/child_process.h"

#include <fcntl.h>
#include <poll.h>
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

#include "agent/drivers/exec/exec_supervisor.h"
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

// posix_spawn's dup2 of an fd onto itself would keep its close-on-exec flag: make sure the
// fds handed to the supervisor sit above the numbers they are moved to.
UniqueFd above_supervisor_fds(UniqueFd fd) {
  if (fd.get() > kSupervisorReportFd)
    return fd;
  return UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, kSupervisorReportFd + 1));
}

int open_pidfd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// Everything the supervisor writes on its report pipe, until it closes it.
std::string read_report(int fd) {
  std::string out;
  char buf[128];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

void reap_pid(pid_t pid) {
  siginfo_t si{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED) != 0 && errno == EINTR) {
  }
}

}  // namespace

Result<ChildProcess> ChildProcess::spawn(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.executable.empty())
    return Status::invalid("the command is empty: give at least the program to run");
  UniqueFd log = above_supervisor_fds(UniqueFd(
      ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644)));
  if (!log.valid()) {
    return Status::internal("cannot open log file " + spec.log_path.string() + ": " +
                            std::strerror(errno));
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return Status::internal(std::string("pipe2: ") + std::strerror(errno));
  UniqueFd report_read(pipe_fds[0]);
  UniqueFd report_write = above_supervisor_fds(UniqueFd(pipe_fds[1]));
  if (!report_write.valid())
    return Status::internal(std::string("fcntl: ") + std::strerror(errno));

  SpawnActions actions;
  int rc = ::posix_spawn_file_actions_addchdir_np(actions.get(), spec.cwd.c_str());
  if (rc == 0)
    rc = ::posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0)
    rc = ::posix_spawn_file_actions_addopen(actions.get(), 1, "/dev/null", O_WRONLY, 0);
  if (rc == 0)
    rc = ::posix_spawn_file_actions_adddup2(actions.get(), 1, 2);
  if (rc == 0)
    rc = ::posix_spawn_file_actions_adddup2(actions.get(), log.get(), kSupervisorLogFd);
  if (rc == 0)
    rc = ::posix_spawn_file_actions_adddup2(actions.get(), report_write.get(), kSupervisorReportFd);
  // Sockets, eventfds and the log fds of other tasks must not leak into the supervisor.
  if (rc == 0)
    rc = ::posix_spawn_file_actions_addclosefrom_np(actions.get(), kSupervisorReportFd + 1);
  if (rc != 0)
    return Status::internal(std::string("posix_spawn file actions: ") + std::strerror(rc));

  SpawnAttr attr;
  // Its own session: a Ctrl-C or hangup meant for the agent's terminal does not reach it.
  rc = attr.reset_signals(POSIX_SPAWN_SETSID);
  if (rc != 0)
    return Status::internal(std::string("posix_spawn attributes: ") + std::strerror(rc));

  std::vector<std::string> argv = {"cube-exec-supervisor", std::string(kExecSupervisorArg),
                                   spec.exit_path.string(), spec.executable};
  argv.insert(argv.end(), spec.argv.begin(), spec.argv.end());
  auto c_argv = c_strings(argv);
  auto envp = c_strings(spec.env);
  pid_t pid = -1;
  rc = ::posix_spawn(&pid, spec.supervisor.c_str(), actions.get(), attr.get(), c_argv.data(),
                     envp.data());
  if (rc != 0) {
    return Status::internal("cannot start the task's supervisor " + spec.supervisor.string() +
                            ": " + std::strerror(rc));
  }
  report_write.reset();  // EOF on the read end once the supervisor closes its copy
  const std::string report_text = read_report(report_read.get());
  auto report = parse_supervisor_report(report_text);
  if (!report.is_ok() || report->spawn_error != 0) {
    reap_pid(pid);
    if (!report.is_ok())
      return Status::internal(report.status().message());
    return spawn_error(report->spawn_error, spec.argv[0]);
  }

  ChildProcess child;
  child.own_child_ = true;
  child.task_ = report->task;
  child.exit_path_ = spec.exit_path;
  // Our unreaped child: its pid and start time cannot change under us.
  auto ticks = read_start_ticks(pid);
  child.supervisor_ = {pid, ticks.is_ok() ? *ticks : 0};
  int fd = open_pidfd(pid);
  if (fd < 0) {
    // `child` kills the task and reaps the supervisor on the way out: nothing runs unwatched.
    child.pidfd_.reset();
    return Status::internal(std::string("pidfd_open failed (Linux 5.3 or later is needed): ") +
                            std::strerror(errno));
  }
  child.pidfd_.reset(fd);
  return child;
}

Result<ChildProcess> ChildProcess::adopt(const ExecRecord& record) {
  const std::string who = "the supervisor of task " + record.task_id + " (pid " +
                          std::to_string(record.supervisor.pid) + ")";
  int fd = open_pidfd(record.supervisor.pid);
  if (fd < 0)
    return Status::not_found(who + " is gone");
  UniqueFd pidfd(fd);
  // Checked after opening: if the start time matches now, the pidfd refers to that process.
  switch (match_process(record.supervisor)) {
    case ProcessMatch::Same:
      break;
    case ProcessMatch::Gone:
      return Status::not_found(who + " is gone");
    case ProcessMatch::Reused:
      return Status::not_found(who + " is gone: " + reused_pid_message(record.supervisor));
  }
  ChildProcess child;
  child.supervisor_ = record.supervisor;
  child.task_ = record.task;
  child.exit_path_ = record.exit_path;
  child.pidfd_ = std::move(pidfd);
  child.own_child_ = false;  // its parent died: init (or a subreaper) reaps it
  return child;
}

ChildProcess::~ChildProcess() {
  if (task_.pid > 0 && !reaped_)
    kill_and_reap();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : supervisor_(std::exchange(other.supervisor_, {-1, 0})),
      task_(std::exchange(other.task_, {-1, 0})),
      exit_path_(std::move(other.exit_path_)),
      pidfd_(std::move(other.pidfd_)),
      own_child_(std::exchange(other.own_child_, false)),
      reaped_(std::exchange(other.reaped_, false)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (task_.pid > 0 && !reaped_)
      kill_and_reap();
    supervisor_ = std::exchange(other.supervisor_, {-1, 0});
    task_ = std::exchange(other.task_, {-1, 0});
    exit_path_ = std::move(other.exit_path_);
    pidfd_ = std::move(other.pidfd_);
    own_child_ = std::exchange(other.own_child_, false);
    reaped_ = std::exchange(other.reaped_, false);
  }
  return *this;
}

Status ChildProcess::signal_group(int sig) {
  if (task_.pid <= 0 || reaped_)
    return Status::ok();
  // The pgid is the task's only while its leader (alive or a zombie) is the recorded process.
  if (match_process(task_) != ProcessMatch::Same)
    return Status::ok();
  if (::kill(-task_.pid, sig) != 0 && errno != ESRCH) {
    return Status::internal("cannot signal process group " + std::to_string(task_.pid) + ": " +
                            std::strerror(errno));
  }
  return Status::ok();
}

ExitInfo ChildProcess::reap_group() {
  CUBE_CHECK(task_.pid > 0 && !reaped_) << "the exec driver reaps each child once";
  if (pidfd_.valid()) {
    pollfd pfd{pidfd_.get(), POLLIN, 0};
    while (::poll(&pfd, 1, -1) < 0 && errno == EINTR) {
    }
  }
  if (own_child_)
    reap_pid(supervisor_.pid);
  reaped_ = true;
  pidfd_.reset();
  return read_exit_or_kill(exit_path_, task_, supervisor_);
}

void ChildProcess::release() {
  task_ = {-1, 0};
  supervisor_ = {-1, 0};
  pidfd_.reset();
}

void ChildProcess::kill_and_reap() {
  [[maybe_unused]] Status s = signal_group(SIGKILL);
  reap_group();
}

ExitInfo read_exit_or_kill(const std::filesystem::path& exit_path, const ProcessIdentity& task,
                           const ProcessIdentity& supervisor) {
  ExitInfo info;
  auto text = read_small_file(exit_path);
  if (text.is_ok()) {
    auto parsed = parse_exit_record(*text);
    if (parsed.is_ok())
      return parsed->info;
    info.exit_code = -1;
    info.error =
        "its exit file " + exit_path.string() + " is corrupt: " + parsed.status().message();
    return info;
  }
  info.exit_code = -1;
  info.error = "its supervisor (pid " + std::to_string(supervisor.pid) +
               ") ended without recording the exit status";
  if (match_process(task) == ProcessMatch::Same) {
    // Nothing could report this task's end any more: it must not run on unwatched.
    ::kill(-task.pid, SIGKILL);
    info.error += "; the task's process group " + std::to_string(task.pid) + " was killed";
  }
  return info;
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
