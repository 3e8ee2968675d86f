// decide_outcome (protocol/task_outcome.h): every row of its table, and ended_status.
#include "protocol/task_outcome.h"

#include <gtest/gtest.h>

namespace cube {
namespace {

using Kind = TaskExit::Kind;
using Stop = StopCause::Kind;

TaskExit exited(int32_t code, std::string error = "") {
  return {Kind::Exited, code, 0, false, std::move(error)};
}

TEST(TaskOutcomeTest, EveryRowOfTheTable) {
  struct Case {
    const char* name;
    TaskExit exit;
    StopCause stop;
    TaskOutcome want;
  };
  const TaskExit signaled{Kind::Signaled, std::nullopt, 15, false, ""};
  const TaskExit stopped_by_driver{Kind::Signaled, std::nullopt, 15, true, ""};
  const Case cases[] = {
      // What the agent knows comes first; the exit code stays.
      {"unhealthy",
       signaled,
       {Stop::Unhealthy, "health check failed 2 times: GET /"},
       {TaskState::Failed, 143, "health check failed 2 times: GET /"}},
      {"unhealthy beats an exit 0",
       exited(0),
       {Stop::Unhealthy, "health check failed"},
       {TaskState::Failed, 0, "health check failed"}},
      {"STOP with a reason",
       signaled,
       {Stop::Requested, "user asked"},
       {TaskState::Completed, 143, "user asked"}},
      {"STOP without a reason",
       exited(1),
       {Stop::Requested, ""},
       {TaskState::Completed, 1, "stopped"}},
      {"STOP of a container that never started",
       {Kind::NeverStarted, std::nullopt, 0, false, ""},
       {Stop::Requested, "stopped"},
       {TaskState::Completed, std::nullopt, "stopped"}},
      // The driver was asked to stop it, the agent does not know (re-adopted after a restart).
      {"stopped on request", stopped_by_driver, {}, {TaskState::Completed, 143, "stopped"}},
      {"stopped on request, gone",
       {Kind::Vanished, std::nullopt, 0, true, ""},
       {},
       {TaskState::Completed, std::nullopt, "stopped"}},
      // Facts alone.
      {"exit 0", exited(0), {}, {TaskState::Completed, 0, "exit code 0"}},
      {"exit 0 with an error", exited(0, "ignored"), {}, {TaskState::Completed, 0, "exit code 0"}},
      {"exit 3", exited(3), {}, {TaskState::Failed, 3, "exit code 3"}},
      {"exit 127", exited(127), {}, {TaskState::Failed, 127, "exit code 127: command not found"}},
      {"exit 126",
       exited(126),
       {},
       {TaskState::Failed, 126, "exit code 126: command not executable"}},
      {"exit with the backend's error",
       exited(128, "OCI runtime exec failed"),
       {},
       {TaskState::Failed, 128, "OCI runtime exec failed"}},
      {"exited without a code",
       {Kind::Exited, std::nullopt, 0, false, ""},
       {},
       {TaskState::Failed, std::nullopt, "exit status unknown"}},
      {"killed by signal 9",
       {Kind::Signaled, std::nullopt, 9, false, ""},
       {},
       {TaskState::Failed, 137, "killed by signal 9"}},
      {"out of memory",
       {Kind::OutOfMemory, 137, 0, false, "ignored"},
       {},
       {TaskState::Failed, 137, "out of memory"}},
      {"OOM flag with exit 0",
       {Kind::OutOfMemory, 0, 0, false, ""},
       {},
       {TaskState::Completed, 0, "exit code 0"}},
      {"never started",
       {Kind::NeverStarted, std::nullopt, 0, false, ""},
       {},
       {TaskState::Failed, std::nullopt, "container was created but never started"}},
      {"never started, with the runtime's error",
       {Kind::NeverStarted, std::nullopt, 0, false, "exec format error"},
       {},
       {TaskState::Failed, std::nullopt, "exec format error"}},
      {"vanished",
       {Kind::Vanished, std::nullopt, 0, false, ""},
       {},
       {TaskState::Failed, std::nullopt, "container was removed outside Cube"}},
      {"unknown",
       {Kind::Unknown, std::nullopt, 0, false, ""},
       {},
       {TaskState::Failed, std::nullopt, "exit status unknown"}},
      {"unknown, with why (an exec task whose supervisor is gone)",
       {Kind::Unknown, std::nullopt, 0, false, "its supervisor (pid 7) ended without recording"},
       {},
       {TaskState::Failed, std::nullopt,
        "exit status unknown: its supervisor (pid 7) ended without recording"}},
  };
  for (const Case& c : cases) {
    TaskOutcome got = decide_outcome(c.exit, c.stop);
    EXPECT_EQ(got.state, c.want.state) << c.name;
    EXPECT_EQ(got.exit_code, c.want.exit_code) << c.name;
    EXPECT_EQ(got.reason, c.want.reason) << c.name;
  }
}

TEST(TaskOutcomeTest, EndedStatusKeepsWhatWasObservedAndAddsTheVerdict) {
  AttemptStatus running;
  running.task_id = "t1";
  running.attempt = 2;
  running.state = TaskState::Running;
  running.container_id = "c0ffee";
  running.port_bindings["8080/tcp"] = {{"127.0.0.1", "49153"}};
  running.start_time_ms = 10;
  AttemptStatus ended = ended_status(running, exited(3), 20);
  EXPECT_EQ(ended.task_id, "t1");
  EXPECT_EQ(ended.attempt, 2u);
  EXPECT_EQ(ended.container_id, "c0ffee");
  EXPECT_EQ(ended.port_bindings, running.port_bindings);
  EXPECT_EQ(ended.start_time_ms, 10);
  EXPECT_EQ(ended.finish_time_ms, 20);
  EXPECT_EQ(ended.state, TaskState::Failed);
  EXPECT_EQ(ended.exit_code, 3);
  EXPECT_EQ(ended.reason, "exit code 3");
  AttemptStatus stopped = ended_status(running, exited(3), 20, {StopCause::Kind::Requested, "bye"});
  EXPECT_EQ(stopped.state, TaskState::Completed);
  EXPECT_EQ(stopped.reason, "bye");
}

}  // namespace
}  // namespace cube
