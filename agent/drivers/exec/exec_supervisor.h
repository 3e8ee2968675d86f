// The per-task supervisor of the exec driver: `cube-agent --exec-supervisor ...`, the agent's
// own executable started again in this mode, once per task attempt. It is the task's parent,
// so it alone can wait for the task and read its real exit status, and it survives the agent:
// an agent that is SIGKILLed and restarted finds the supervisor and the task again from the
// task's record (exec_record.h) and learns how the task ended from the exit file the
// supervisor writes.
//
// Command line (built by ChildProcess::spawn, never typed by a person):
//   <exe> --exec-supervisor EXIT_PATH EXECUTABLE ARGV0 [ARG...]
// Started with cwd = the task's work dir, environment = the task's, in a session of its own
// (no terminal signal from the agent's shell reaches it), fd 0 and 1 and 2 on /dev/null,
// kSupervisorLogFd = the task's log (append) and kSupervisorReportFd = the write end of a pipe
// the agent reads.
//
// What it does:
//   1. becomes a child subreaper, so members of the task's group whose parent died are
//      re-parented to it and reaped;
//   2. spawns EXECUTABLE with that argv as the leader of a new process group, stdout and stderr
//      on the log, no other inherited fd, default signal dispositions and an empty mask;
//   3. writes one report line to the pipe and closes it: "ok PID START_TICKS" or "error ERRNO"
//      (then exits 127);
//   4. waits for the leader (leaving it a zombie, which keeps its pid and pgid reserved), then
//      SIGKILLs what is left of the group and reaps every member;
//   5. writes EXIT_PATH (format_exit_record) and exits 0 (1 when it could not write it).
// Signals sent to the supervisor itself are not forwarded: the agent signals the task's group.
#pragma once

#include <string>
#include <string_view>

#include "agent/drivers/exec/process_identity.h"
#include "common/status.h"

namespace cube::agent {

inline constexpr std::string_view kExecSupervisorArg = "--exec-supervisor";
inline constexpr int kSupervisorLogFd = 3;
inline constexpr int kSupervisorReportFd = 4;

// argv[1] is kExecSupervisorArg.
bool is_exec_supervisor_command(int argc, char** argv);

// Runs the supervisor (steps above) and returns its exit code: 0, 1 (exit file not written),
// 2 (bad command line), 127 (the task could not be started; the report says why).
int run_exec_supervisor(int argc, char** argv);

// What the supervisor reported on its pipe.
struct SupervisorReport {
  ProcessIdentity task;  // when started
  int spawn_error = 0;   // errno of the failed spawn, 0 when started
};
// Invalid for anything but "ok PID TICKS\n" (pid > 0) or "error ERRNO\n"; an empty text means
// the supervisor ended before reporting.
Result<SupervisorReport> parse_supervisor_report(std::string_view text);

}  // namespace cube::agent
