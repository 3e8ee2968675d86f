#include "agent/drivers/exec/exec_supervisor.h"

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>

#include "agent/drivers/exec/exec_record.h"
#include "common/clock.h"
#include "common/spawn.h"

extern char** environ;

namespace cube::agent {
namespace {

void write_report(const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(kSupervisorReportFd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;  // the agent is gone: the exit file still tells the next one
    done += static_cast<size_t>(n);
  }
}

int spawn_task(const char* executable, char** argv, pid_t* pid) {
  SpawnActions actions;
  int rc = ::posix_spawn_file_actions_adddup2(actions.get(), kSupervisorLogFd, 1);
  if (rc == 0)
    rc = ::posix_spawn_file_actions_adddup2(actions.get(), kSupervisorLogFd, 2);
  // Neither the log fd nor the report pipe belongs to the task.
  if (rc == 0)
    rc = ::posix_spawn_file_actions_addclosefrom_np(actions.get(), 3);
  if (rc != 0)
    return rc;
  SpawnAttr attr;
  rc = attr.reset_signals(POSIX_SPAWN_SETPGROUP);
  if (rc == 0)
    rc = ::posix_spawnattr_setpgroup(attr.get(), 0);  // a new group led by the task
  if (rc != 0)
    return rc;
  return ::posix_spawn(pid, executable, actions.get(), attr.get(), argv, environ);
}

}  // namespace

bool is_exec_supervisor_command(int argc, char** argv) {
  return argc >= 2 && std::string_view(argv[1]) == kExecSupervisorArg;
}

int run_exec_supervisor(int argc, char** argv) {
  if (argc < 5)
    return 2;
  const std::filesystem::path exit_path = argv[2];
  const char* executable = argv[3];
  char** task_argv = argv + 4;
  ::signal(SIGPIPE, SIG_IGN);  // the agent may be gone when the report is written
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  pid_t pid = -1;
  int rc = spawn_task(executable, task_argv, &pid);
  if (rc != 0) {
    write_report("error " + std::to_string(rc) + "\n");
    return 127;
  }
  // The task is our unreaped child: its pid, and so its stat, cannot change under us.
  auto ticks = read_start_ticks(pid);
  write_report("ok " + std::to_string(pid) + " " + std::to_string(ticks.is_ok() ? *ticks : 0) +
               "\n");
  ::close(kSupervisorReportFd);
  ::close(kSupervisorLogFd);

  ExitRecord exit;
  siginfo_t si{};
  int wait_rc;
  do {
    wait_rc = ::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOWAIT);
  } while (wait_rc != 0 && errno == EINTR);
  if (wait_rc != 0) {
    exit.info.exit_code = -1;
    exit.info.error = "waitid failed";
  } else if (si.si_code == CLD_EXITED) {
    exit.info.exit_code = si.si_status;
  } else {
    exit.info.signal = si.si_status;
  }
  // Whatever the task left behind in its group goes with it, as in a container whose main
  // process exits; the leader, still a zombie, keeps the pgid from being reused meanwhile.
  ::kill(-pid, SIGKILL);
  while (true) {
    siginfo_t member{};
    if (::waitid(P_PGID, static_cast<id_t>(pid), &member, WEXITED) == 0)
      continue;
    if (errno == EINTR)
      continue;
    break;  // ECHILD: no child of ours is left in the group
  }
  exit.finish_time_ms = to_unix_ms(system_clock().wall());
  return write_file_atomically(exit_path, format_exit_record(exit)).is_ok() ? 0 : 1;
}

Result<SupervisorReport> parse_supervisor_report(std::string_view text) {
  if (text.empty())
    return Status::invalid("the task's supervisor ended before reporting whether it started");
  std::string_view line = text.substr(0, text.find('\n'));
  auto number = [](std::string_view s, auto& out) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && ptr == s.data() + s.size();
  };
  auto bad = [&] {
    return Status::invalid("the task's supervisor reported \"" + std::string(line.substr(0, 64)) +
                           "\"");
  };
  SupervisorReport out;
  if (line.starts_with("error ")) {
    if (!number(line.substr(6), out.spawn_error) || out.spawn_error <= 0)
      return bad();
    return out;
  }
  if (!line.starts_with("ok "))
    return bad();
  std::string_view rest = line.substr(3);
  size_t space = rest.find(' ');
  if (space == std::string_view::npos || !number(rest.substr(0, space), out.task.pid) ||
      !number(rest.substr(space + 1), out.task.start_ticks) || out.task.pid <= 0)
    return bad();
  return out;
}

}  // namespace cube::agent
