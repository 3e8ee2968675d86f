// ExecDriver against real processes: fork/exec, exit codes, process groups, logs.
#include "agent/drivers/exec/exec_driver.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "common/ids.h"
#include "common/mutex.h"
#include "common/unique_fd.h"
#include "tests/support/temp_dir.h"

namespace cube::agent {
namespace {

constexpr Millis kExitTimeout{10000};

// Receives the driver's exit notifications; tests wait on it with a deadline.
class ExitCollector {
 public:
  ExitSink sink() {
    return [this](AttemptEnd end) {
      MutexLock lock(mu_);
      exits_[end.task_id].push_back(std::move(end));
      cv_.notify_all();
    };
  }
  std::optional<AttemptEnd> wait_for(const std::string& task_id, size_t nth = 1,
                                     Millis timeout = kExitTimeout) {
    MutexLock lock(mu_);
    if (!mu_.wait_for(cv_, timeout,
                      [&]() CUBE_REQUIRES(mu_) { return exits_[task_id].size() >= nth; }))
      return std::nullopt;
    return exits_[task_id][nth - 1];
  }
  size_t count(const std::string& task_id) {
    MutexLock lock(mu_);
    return exits_[task_id].size();
  }

 private:
  Mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<AttemptEnd>> exits_ CUBE_GUARDED_BY(mu_);
};

// What an agent that did not stop the task reports for `end` (protocol/task_outcome.h).
TaskOutcome outcome(const AttemptEnd& end) {
  return decide_outcome(end.exit);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ExecDriverTest : public ::testing::Test {
 protected:
  ExecDriverTest() : driver_(dir_.path(), clock_) { driver_.set_exit_sink(exits_.sink()); }

  // A FIFO the task writes to once it has set itself up; ready() waits for that write, so a
  // signal sent afterwards cannot overtake the task's own setup (a trap, a background child).
  std::string make_ready_fifo() {
    auto path = dir_ / "ready";
    EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0);
    ready_fd_.reset(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    EXPECT_TRUE(ready_fd_.valid());
    return path.string();
  }
  bool ready() {
    pollfd pfd{ready_fd_.get(), POLLIN, 0};
    return ::poll(&pfd, 1, static_cast<int>(kExitTimeout.count())) == 1 &&
           (pfd.revents & POLLIN) != 0;
  }

  Task task(std::vector<std::string> cmd, uint32_t attempt = 1) {
    Task t;
    t.id = new_random_id();
    t.driver = "exec";
    t.attempt = attempt;
    t.cmd = std::move(cmd);
    return t;
  }

  test::TempDir dir_;
  ManualClock clock_;
  ExitCollector exits_;
  ExecDriver driver_;
  UniqueFd ready_fd_;
};

TEST_F(ExecDriverTest, ExitZeroCompletes) {
  Task t = task({"true"});
  auto started = driver_.start(t);
  ASSERT_TRUE(started.is_ok()) << started.status().to_string();
  EXPECT_EQ(started->state, TaskState::Running);
  EXPECT_EQ(started->task_id, t.id);
  EXPECT_EQ(started->attempt, 1u);
  EXPECT_EQ(started->start_time_ms, to_unix_ms(clock_.wall()));

  auto end = exits_.wait_for(t.id);
  ASSERT_TRUE(end.has_value()) << "no exit notification";
  EXPECT_EQ(outcome(*end).state, TaskState::Completed);
  EXPECT_EQ(outcome(*end).exit_code, 0);
  EXPECT_EQ(outcome(*end).reason, "exit code 0");
  EXPECT_EQ(end->attempt, 1u);
  EXPECT_EQ(end->finish_time_ms, to_unix_ms(clock_.wall()));

  auto inspected = driver_.inspect(t.id);
  ASSERT_TRUE(inspected.is_ok());
  EXPECT_EQ(inspected->state, TaskState::Completed);
}

TEST_F(ExecDriverTest, NonZeroExitFails) {
  Task t = task({"sh", "-c", "exit 3"});
  ASSERT_TRUE(driver_.start(t).is_ok());
  auto end = exits_.wait_for(t.id);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(outcome(*end).state, TaskState::Failed);
  EXPECT_EQ(outcome(*end).exit_code, 3);
  EXPECT_EQ(outcome(*end).reason, "exit code 3");
}

TEST_F(ExecDriverTest, KilledBySignalReportsIt) {
  Task t = task({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(driver_.start(t).is_ok());
  auto end = exits_.wait_for(t.id);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(outcome(*end).state, TaskState::Failed);
  EXPECT_EQ(outcome(*end).exit_code, 128 + 9);
  EXPECT_EQ(outcome(*end).reason, "killed by signal 9");
}

TEST_F(ExecDriverTest, MissingExecutableIsNotFoundBeforeRunning) {
  Task t = task({"cube-no-such-program", "arg"});
  auto started = driver_.start(t);
  ASSERT_FALSE(started.is_ok());
  EXPECT_EQ(started.status().code(), ErrorCode::NotFound);
  EXPECT_EQ(started.status().message(), "executable not found: cube-no-such-program");
  EXPECT_TRUE(driver_.inspect(t.id).status().is_not_found()) << "nothing was started";
  EXPECT_TRUE(driver_.list_owned()->empty());

  Task abs = task({"/nonexistent/dir/prog"});
  auto started_abs = driver_.start(abs);
  ASSERT_FALSE(started_abs.is_ok());
  EXPECT_EQ(started_abs.status().code(), ErrorCode::NotFound);
  EXPECT_EQ(started_abs.status().message(), "executable not found: /nonexistent/dir/prog");
}

TEST_F(ExecDriverTest, NotExecutableIsInvalid) {
  auto script = dir_ / "script.sh";
  std::ofstream(script) << "#!/bin/sh\necho hi\n";  // mode 0644: not executable
  Task t = task({script.string()});
  auto started = driver_.start(t);
  ASSERT_FALSE(started.is_ok());
  EXPECT_EQ(started.status().code(), ErrorCode::Invalid);
  EXPECT_NE(started.status().message().find(script.string()), std::string::npos);
}

TEST_F(ExecDriverTest, InvalidSpecsAreRefused) {
  Task no_cmd = task({});
  EXPECT_EQ(driver_.start(no_cmd).status().code(), ErrorCode::Invalid);
  Task bad_id = task({"true"});
  bad_id.id = "../escape";
  EXPECT_EQ(driver_.start(bad_id).status().code(), ErrorCode::Invalid);
  Task bad_env = task({"true"});
  bad_env.env = {"NOVALUE"};
  EXPECT_EQ(driver_.start(bad_env).status().code(), ErrorCode::Invalid);
}

TEST_F(ExecDriverTest, StopKillsTheWholeProcessGroup) {
  auto fifo = make_ready_fifo();
  Task t = task({"sh", "-c", "sleep 300 & echo ready > " + fifo + "; sleep 300"});
  ASSERT_TRUE(driver_.start(t).is_ok());
  ASSERT_TRUE(ready()) << "the task did not start its background child";
  pid_t pgid = driver_.pid_for_test(t.id);
  ASSERT_GT(pgid, 0);
  ASSERT_EQ(::kill(-pgid, 0), 0) << "the group runs";

  Status stopped = driver_.stop(t.id, Millis(5000));
  EXPECT_TRUE(stopped.is_ok()) << stopped.to_string();
  auto end = exits_.wait_for(t.id);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->exit.kind, TaskExit::Kind::Signaled);
  EXPECT_EQ(end->exit.signal, 15);
  EXPECT_TRUE(end->exit.stopped_on_request);
  EXPECT_EQ(outcome(*end).exit_code, 128 + 15);
  errno = 0;
  EXPECT_EQ(::kill(-pgid, 0), -1) << "a process of the task's group survived the stop";
  EXPECT_EQ(errno, ESRCH);
  EXPECT_TRUE(driver_.stop(t.id, Millis(5000)).is_ok()) << "stop is idempotent";
  EXPECT_EQ(exits_.count(t.id), 1u) << "one final status";
}

TEST_F(ExecDriverTest, LeftoverGroupMembersDieWithTheLeader) {
  // The main process exits at once and leaves a background child in its group.
  Task t = task({"sh", "-c", "sleep 300 & exit 0"});
  ASSERT_TRUE(driver_.start(t).is_ok());
  pid_t pgid = driver_.pid_for_test(t.id);
  auto end = exits_.wait_for(t.id);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(outcome(*end).state, TaskState::Completed);
  errno = 0;
  EXPECT_EQ(::kill(-pgid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST_F(ExecDriverTest, StopEscalatesToSigkillAfterTheGrace) {
  // SIG_IGN is inherited across exec: both sh and sleep ignore SIGTERM.
  auto fifo = make_ready_fifo();
  Task t = task({"sh", "-c", "trap '' TERM; echo ready > " + fifo + "; sleep 300"});
  ASSERT_TRUE(driver_.start(t).is_ok());
  ASSERT_TRUE(ready()) << "the task did not set its trap";
  pid_t pgid = driver_.pid_for_test(t.id);
  EXPECT_TRUE(driver_.stop(t.id, Millis(200)).is_ok());
  auto end = exits_.wait_for(t.id);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->exit.kind, TaskExit::Kind::Signaled);
  EXPECT_EQ(end->exit.signal, 9);
  EXPECT_TRUE(end->exit.stopped_on_request);
  EXPECT_EQ(outcome(*end).exit_code, 128 + 9);
  errno = 0;
  EXPECT_EQ(::kill(-pgid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST_F(ExecDriverTest, ChildDoesNotInheritTheAgentsBlockedSignals) {
  // The agent blocks SIGTERM process-wide (ShutdownSignal). If the task inherited the mask,
  // SIGTERM would stay pending and stop() would have to escalate to SIGKILL.
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
  Task t = task({"sleep", "300"});
  auto started = driver_.start(t);
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
  ASSERT_TRUE(started.is_ok());
  EXPECT_TRUE(driver_.stop(t.id, Millis(8000)).is_ok());
  auto end = exits_.wait_for(t.id);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->exit.kind, TaskExit::Kind::Signaled);
  EXPECT_EQ(end->exit.signal, 15);
}

TEST_F(ExecDriverTest, EnvironmentWorkDirAndLogFile) {
  ASSERT_EQ(::setenv("CUBE_EXEC_TEST_AGENT_VAR", "from-agent", 1), 0);
  ASSERT_EQ(::setenv("CUBE_EXEC_TEST_OVERRIDE", "agent", 1), 0);
  Task t = task({"sh", "-c",
                 "echo agent=$CUBE_EXEC_TEST_AGENT_VAR task=$TASK_VAR "
                 "override=$CUBE_EXEC_TEST_OVERRIDE; echo to-stderr >&2; pwd"},
                2);
  t.env = {"TASK_VAR=from-task", "CUBE_EXEC_TEST_OVERRIDE=task"};
  ASSERT_TRUE(driver_.start(t).is_ok());
  auto end = exits_.wait_for(t.id);
  ASSERT_TRUE(end.has_value());
  ASSERT_EQ(outcome(*end).state, TaskState::Completed);

  auto log = driver_.log_path(t.id, 2);
  EXPECT_EQ(log, dir_ / "tasks" / t.id / "2.log");
  auto work = std::filesystem::canonical(dir_ / "tasks" / t.id / "work");
  EXPECT_EQ(read_file(log),
            "agent=from-agent task=from-task override=task\nto-stderr\n" + work.string() + "\n");
  ::unsetenv("CUBE_EXEC_TEST_AGENT_VAR");
  ::unsetenv("CUBE_EXEC_TEST_OVERRIDE");
}

TEST_F(ExecDriverTest, TaskPathIsUsedToFindTheExecutable) {
  auto bin = dir_ / "bin";
  std::filesystem::create_directories(bin);
  auto prog = bin / "cube-test-prog";
  std::ofstream(prog) << "#!/bin/sh\necho found-me\n";
  std::filesystem::permissions(prog, std::filesystem::perms::owner_all);
  Task t = task({"cube-test-prog"});
  t.env = {"PATH=" + bin.string() + ":/usr/bin:/bin"};
  ASSERT_TRUE(driver_.start(t).is_ok());
  ASSERT_TRUE(exits_.wait_for(t.id).has_value());
  EXPECT_EQ(read_file(driver_.log_path(t.id, 1)), "found-me\n");
}

TEST_F(ExecDriverTest, LogsByOffset) {
  Task t = task({"sh", "-c", "printf 0123456789"});
  ASSERT_TRUE(driver_.start(t).is_ok());
  ASSERT_TRUE(exits_.wait_for(t.id).has_value());

  auto a = driver_.logs(t.id, 0, 4);
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  EXPECT_EQ(a->data, "0123");
  EXPECT_EQ(a->next_offset, 4);
  EXPECT_FALSE(a->eof);
  auto b = driver_.logs(t.id, a->next_offset, 100);
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(b->data, "456789");
  EXPECT_EQ(b->next_offset, 10);
  EXPECT_TRUE(b->eof) << "the task ended and everything was read";
  auto c = driver_.logs(t.id, 10, 5);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->data, "");
  EXPECT_TRUE(c->eof);

  EXPECT_EQ(driver_.logs(t.id, 11, 5).status().code(), ErrorCode::Invalid);
  EXPECT_EQ(driver_.logs(t.id, -1, 5).status().code(), ErrorCode::Invalid);
  EXPECT_EQ(driver_.logs(t.id, 0, 0).status().code(), ErrorCode::Invalid);
  EXPECT_EQ(driver_.logs("unknown-task", 0, 5).status().code(), ErrorCode::NotFound);
}

TEST_F(ExecDriverTest, LogsOfARunningTaskAreNotEof) {
  Task t = task({"sh", "-c", "echo started; sleep 300"});
  ASSERT_TRUE(driver_.start(t).is_ok());
  auto chunk = driver_.logs(t.id, 0, 1000);
  ASSERT_TRUE(chunk.is_ok());
  EXPECT_FALSE(chunk->eof);
  EXPECT_TRUE(driver_.stop(t.id, Millis(5000)).is_ok());
  ASSERT_TRUE(exits_.wait_for(t.id).has_value());
}

TEST_F(ExecDriverTest, SecondStartWhileRunningConflictsAndANewAttemptRunsAfterExit) {
  Task t = task({"sleep", "300"});
  ASSERT_TRUE(driver_.start(t).is_ok());
  Task again = t;
  again.attempt = 2;
  EXPECT_EQ(driver_.start(again).status().code(), ErrorCode::Conflict);
  auto owned = driver_.list_owned();
  ASSERT_TRUE(owned.is_ok());
  ASSERT_EQ(owned->size(), 1u);
  EXPECT_EQ((*owned)[0].state, TaskState::Running);

  ASSERT_TRUE(driver_.stop(t.id, Millis(5000)).is_ok());
  ASSERT_TRUE(exits_.wait_for(t.id).has_value());
  again.cmd = {"sh", "-c", "echo attempt two"};
  ASSERT_TRUE(driver_.start(again).is_ok());
  auto end = exits_.wait_for(t.id, 2);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->attempt, 2u);
  EXPECT_EQ(outcome(*end).state, TaskState::Completed);
  EXPECT_EQ(read_file(driver_.log_path(t.id, 2)), "attempt two\n");
  EXPECT_EQ(driver_.list_owned()->size(), 1u);
}

TEST_F(ExecDriverTest, StopOfUnknownTaskIsOk) {
  EXPECT_TRUE(driver_.stop("no-such-task", Millis(10)).is_ok());
  EXPECT_TRUE(driver_.inspect("no-such-task").status().is_not_found());
}

TEST(ExecDriverLifetimeTest, DestroyingTheDriverLeavesTasksRunning) {
  test::TempDir dir;
  ManualClock clock;
  Task t;
  t.id = new_random_id();
  t.attempt = 1;
  t.cmd = {"sleep", "300"};
  pid_t pid = -1;
  {
    ExecDriver driver(dir.path(), clock);
    ASSERT_TRUE(driver.start(t).is_ok());
    pid = driver.pid_for_test(t.id);
  }
  ASSERT_GT(pid, 0);
  EXPECT_EQ(::kill(pid, 0), 0) << "the agent's exit must not stop its tasks";
  // Clean up what the test started: the process is still our child.
  ::kill(-pid, SIGKILL);
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
}

TEST(FindExecutableTest, SearchesThePathLikeExecvp) {
  auto sh = find_executable("sh", "/nonexistent:/bin:/usr/bin");
  ASSERT_TRUE(sh.is_ok());
  EXPECT_TRUE(*sh == "/bin/sh" || *sh == "/usr/bin/sh") << *sh;
  EXPECT_EQ(*find_executable("./relative/prog", "/bin"), "./relative/prog");
  EXPECT_TRUE(find_executable("cube-nope", "/bin:/usr/bin").status().is_not_found());
  EXPECT_TRUE(find_executable("", "/bin").status().is_invalid());
  EXPECT_TRUE(find_executable("sh", "").is_ok()) << "default PATH when none is set";
}

}  // namespace
}  // namespace cube::agent
