// ExecDriver against real processes: fork/exec, exit codes, process groups, logs.
#include "agent/drivers/exec/exec_driver.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "agent/drivers/exec/exec_record.h"
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
  ExecDriverTest() : driver_(dir_.path(), clock_, CUBE_AGENT_BINARY) {
    driver_.set_exit_sink(exits_.sink());
  }

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
  std::filesystem::path record_path, exit_path;
  {
    ExecDriver driver(dir.path(), clock, CUBE_AGENT_BINARY);
    ASSERT_TRUE(driver.start(t).is_ok());
    pid = driver.pid_for_test(t.id);
    record_path = driver.record_path(t.id, 1);
    exit_path = driver.exit_path(t.id, 1);
  }
  ASSERT_GT(pid, 0);
  EXPECT_EQ(::kill(pid, 0), 0) << "the agent's exit must not stop its tasks";
  auto record = parse_exec_record(read_file(record_path));
  ASSERT_TRUE(record.is_ok()) << record.status().to_string();
  EXPECT_EQ(record->task.pid, pid);
  EXPECT_EQ(record->pgid, pid);
  // Clean up what the test started: the supervisor, still our child, records the kill.
  ::kill(-pid, SIGKILL);
  int status = 0;
  EXPECT_EQ(::waitpid(record->supervisor.pid, &status, 0), record->supervisor.pid);
  EXPECT_TRUE(WIFEXITED(status)) << "the supervisor exits by itself once the task is gone";
  auto exit = parse_exit_record(read_file(exit_path));
  ASSERT_TRUE(exit.is_ok()) << exit.status().to_string();
  EXPECT_EQ(exit->info.signal, SIGKILL);
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

// --- Re-adoption: a second driver on the same data dir, as a restarted agent ---

namespace cube::agent {
namespace {

class ExecReadoptionTest : public ::testing::Test {
 protected:
  ExecReadoptionTest() { EXPECT_EQ(::mkfifo(go_path().c_str(), 0600), 0); }
  ~ExecReadoptionTest() override {
    for (pid_t group : groups_)
      ::kill(-group, SIGKILL);  // whatever a failed test left running
  }

  std::unique_ptr<ExecDriver> new_driver() {
    auto d = std::make_unique<ExecDriver>(dir_.path(), clock_, CUBE_AGENT_BINARY);
    d->set_exit_sink(exits_.sink());
    return d;
  }
  std::filesystem::path go_path() const { return dir_ / "go"; }
  std::filesystem::path starts_path() const { return dir_ / "starts"; }

  // A task that notes each start, then waits for release() and exits with `code`.
  Task waiting_task(int code) {
    Task t;
    t.id = new_random_id();
    t.driver = "exec";
    t.attempt = 1;
    t.cmd = {"sh", "-c",
             "echo started >> " + starts_path().string() + "; read line < " + go_path().string() +
                 "; exit " + std::to_string(code)};
    return t;
  }

  // Lets the waiting task go: opens the FIFO once the task reads it (ENXIO before), within a
  // deadline.
  bool release() {
    const SteadyTime deadline = system_clock().now() + kExitTimeout;
    while (system_clock().now() < deadline) {
      UniqueFd fd(::open(go_path().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
      if (fd.valid())
        return ::write(fd.get(), "go\n", 3) == 3;
      pollfd none{-1, 0, 0};
      ::poll(&none, 0, 10);  // the task has not opened its end yet
    }
    return false;
  }

  size_t starts() {
    const std::string text = read_file(starts_path());
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  }

  // Whether the task noted its start within a deadline (a loaded machine may not have run its
  // first line yet when start() returns).
  bool started_once() {
    const SteadyTime deadline = system_clock().now() + kExitTimeout;
    while (starts() == 0 && system_clock().now() < deadline) {
      pollfd none{-1, 0, 0};
      ::poll(&none, 0, 10);
    }
    return starts() == 1;
  }

  // Starts `t` with a first driver, then destroys it as a SIGKILLed agent would leave things
  // (the task keeps running); returns the task's pid.
  pid_t start_with_a_first_agent(const Task& t) {
    auto first = new_driver();
    EXPECT_TRUE(first->start(t).is_ok());
    pid_t pid = first->pid_for_test(t.id);
    groups_.push_back(pid);
    return pid;
  }

  test::TempDir dir_;
  ManualClock clock_;
  ExitCollector exits_;
  std::vector<pid_t> groups_;
};

TEST_F(ExecReadoptionTest, ARestartedDriverAdoptsTheRunningTaskAndReportsItsRealExitCode) {
  Task t = waiting_task(3);
  pid_t pid = start_with_a_first_agent(t);
  ASSERT_GT(pid, 0);

  auto second = new_driver();
  auto owned = second->list_owned();
  ASSERT_TRUE(owned.is_ok()) << owned.status().to_string();
  ASSERT_EQ(owned->size(), 1u);
  EXPECT_EQ((*owned)[0].task_id, t.id);
  EXPECT_EQ((*owned)[0].attempt, 1u);
  EXPECT_EQ((*owned)[0].state, TaskState::Running);
  EXPECT_EQ((*owned)[0].start_time_ms, to_unix_ms(clock_.wall()));
  EXPECT_EQ(second->recovery_counts().running, 1);
  EXPECT_EQ(second->pid_for_test(t.id), pid);
  // A second listing adopts nothing twice.
  EXPECT_EQ(second->list_owned()->size(), 1u);

  ASSERT_TRUE(release());
  auto end = exits_.wait_for(t.id);
  ASSERT_TRUE(end.has_value()) << "the adopted task's end was not reported";
  EXPECT_EQ(outcome(*end).state, TaskState::Failed);
  EXPECT_EQ(outcome(*end).exit_code, 3);
  EXPECT_EQ(outcome(*end).reason, "exit code 3");
  EXPECT_EQ(starts(), 1u) << "started once, adopted once";
  auto inspected = second->inspect(t.id);
  ASSERT_TRUE(inspected.is_ok());
  EXPECT_EQ(inspected->exit_code, 3);
  auto log = second->logs(t.id, 0, 1 << 20);
  ASSERT_TRUE(log.is_ok()) << log.status().to_string();
  EXPECT_TRUE(log->eof);

  // Forgotten by the agent: the record and exit files go, the log stays.
  EXPECT_EQ(*second->remove_untracked({t.id}, Millis(0)), 0);
  EXPECT_EQ(*second->remove_untracked({}, Millis(0)), 1);
  EXPECT_FALSE(std::filesystem::exists(second->record_path(t.id, 1)));
  EXPECT_FALSE(std::filesystem::exists(second->exit_path(t.id, 1)));
  EXPECT_TRUE(std::filesystem::exists(second->log_path(t.id, 1)));
  auto third = new_driver();
  EXPECT_TRUE(third->list_owned()->empty());
}

TEST_F(ExecReadoptionTest, StopAfterReadoptionKillsTheWholeProcessGroup) {
  Task t;
  t.id = new_random_id();
  t.attempt = 1;
  const auto child_file = dir_ / "child";
  t.cmd = {"sh", "-c", "sleep 300 & echo $! > " + child_file.string() + "; wait"};
  pid_t pgid = start_with_a_first_agent(t);
  pid_t child = 0;
  const SteadyTime deadline = system_clock().now() + kExitTimeout;
  while ((child = static_cast<pid_t>(std::atoi(read_file(child_file).c_str()))) <= 0 &&
         system_clock().now() < deadline) {
    pollfd none{-1, 0, 0};
    ::poll(&none, 0, 10);
  }
  ASSERT_GT(child, 0);

  auto second = new_driver();
  ASSERT_EQ(second->list_owned()->size(), 1u);
  ASSERT_TRUE(second->stop(t.id, Millis(2000)).is_ok());
  auto end = exits_.wait_for(t.id);
  ASSERT_TRUE(end.has_value());
  EXPECT_TRUE(end->exit.stopped_on_request);
  EXPECT_EQ(outcome(*end).state, TaskState::Completed);
  EXPECT_NE(::kill(-pgid, 0), 0) << "the group is gone";
  EXPECT_NE(::kill(child, 0), 0) << "the group's other member is gone";
}

TEST_F(ExecReadoptionTest, ATaskThatEndedWhileTheAgentWasAwayIsReportedWithItsExitCode) {
  Task t = waiting_task(5);
  start_with_a_first_agent(t);
  const auto exit_file = dir_.path() / "tasks" / t.id / "1.exit";
  ASSERT_TRUE(release());
  const SteadyTime deadline = system_clock().now() + kExitTimeout;
  while (!std::filesystem::exists(exit_file) && system_clock().now() < deadline) {
    pollfd none{-1, 0, 0};
    ::poll(&none, 0, 10);
  }
  ASSERT_TRUE(std::filesystem::exists(exit_file));

  auto second = new_driver();
  auto owned = second->list_owned();
  ASSERT_TRUE(owned.is_ok());
  ASSERT_EQ(owned->size(), 1u);
  EXPECT_EQ((*owned)[0].state, TaskState::Failed);
  EXPECT_EQ((*owned)[0].exit_code, 5);
  EXPECT_EQ((*owned)[0].reason, "exit code 5");
  EXPECT_EQ(second->recovery_counts().ended, 1);
  EXPECT_EQ(exits_.count(t.id), 0u) << "an end found in the records is listed, not sunk";
}

// /proc/PID/stat's state is 'Z', or there is no such process any more.
bool gone_or_zombie(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] == 'Z';
}

TEST_F(ExecReadoptionTest, ATaskWhoseSupervisorWasKilledIsKilledWithItsGroupAndReportedLost) {
  Task t = waiting_task(3);
  pid_t pid = start_with_a_first_agent(t);
  ASSERT_TRUE(started_once()) << "killed before it ran, the task could not say it started";
  auto record = parse_exec_record(read_file(dir_.path() / "tasks" / t.id / "1.record"));
  ASSERT_TRUE(record.is_ok()) << record.status().to_string();
  // The supervisor is this test process's child (the first driver ran here): kill and reap it.
  ASSERT_EQ(::kill(record->supervisor.pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(record->supervisor.pid, &status, 0), record->supervisor.pid);
  ASSERT_EQ(::kill(pid, 0), 0) << "the task outlives its supervisor";

  auto second = new_driver();
  auto owned = second->list_owned();
  ASSERT_TRUE(owned.is_ok());
  ASSERT_EQ(owned->size(), 1u);
  EXPECT_EQ((*owned)[0].state, TaskState::Failed);
  const std::string reason = (*owned)[0].reason;
  EXPECT_NE(reason.find("exit status unknown: its supervisor (pid " +
                        std::to_string(record->supervisor.pid) +
                        ") ended without recording the exit status"),
            std::string::npos)
      << reason;
  EXPECT_NE(reason.find("the task's process group " + std::to_string(pid) + " was killed"),
            std::string::npos)
      << reason;
  EXPECT_EQ(second->recovery_counts().lost, 1);
  const SteadyTime deadline = system_clock().now() + kExitTimeout;
  while (!gone_or_zombie(pid) && system_clock().now() < deadline) {
    pollfd none{-1, 0, 0};
    ::poll(&none, 0, 10);
  }
  EXPECT_TRUE(gone_or_zombie(pid)) << "nothing would report the end of an unfollowed task";
  EXPECT_EQ(starts(), 1u);
}

// Records written by hand: nothing of what they name may be adopted or signalled.
TEST_F(ExecReadoptionTest, CorruptGoneAndReusedPidRecordsAreReportedNeverAdoptedOrKilled) {
  auto write_record = [&](const ExecRecord& r) {
    std::filesystem::create_directories(dir_.path() / "tasks" / r.task_id);
    auto path = dir_.path() / "tasks" / r.task_id / (std::to_string(r.attempt) + ".record");
    ASSERT_TRUE(write_file_atomically(path, format_exec_record(r)).is_ok());
  };
  // Corrupt.
  std::filesystem::create_directories(dir_.path() / "tasks" / "bad");
  ASSERT_TRUE(write_file_atomically(dir_.path() / "tasks" / "bad" / "1.record", "junk\n").is_ok());

  // Gone: the pid of a process that has ended and been reaped.
  pid_t dead = ::fork();
  ASSERT_GE(dead, 0);
  if (dead == 0)
    ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(dead, &status, 0), dead);
  ExecRecord gone;
  gone.task_id = "gone";
  gone.attempt = 1;
  gone.supervisor = {dead, 1};
  gone.task = {dead, 1};
  gone.pgid = dead;
  gone.log_path = dir_ / "gone.log";
  gone.exit_path = dir_ / "gone.exit";
  write_record(gone);

  // Reused: this very test process, with another start time than its own.
  auto own_ticks = read_start_ticks(::getpid());
  ASSERT_TRUE(own_ticks.is_ok());
  ExecRecord reused = gone;
  reused.task_id = "reused";
  reused.supervisor = {::getpid(), *own_ticks + 7};
  reused.task = {::getpid(), *own_ticks + 7};
  reused.pgid = ::getpid();
  reused.exit_path = dir_ / "reused.exit";
  write_record(reused);

  auto driver = new_driver();
  auto owned = driver->list_owned();  // a SIGKILL to our pid or group would end the test here
  ASSERT_TRUE(owned.is_ok()) << owned.status().to_string();
  auto counts = driver->recovery_counts();
  EXPECT_EQ(counts.corrupt, 1);
  EXPECT_EQ(counts.lost, 2);
  EXPECT_EQ(counts.running, 0);
  std::map<std::string, AttemptStatus> by_id;
  for (const auto& s : *owned)
    by_id[s.task_id] = s;
  ASSERT_EQ(by_id.size(), 2u) << "the corrupt record lists nothing";
  EXPECT_EQ(by_id["gone"].state, TaskState::Failed);
  EXPECT_NE(by_id["gone"].reason.find("exit status unknown: the supervisor of task gone"),
            std::string::npos)
      << by_id["gone"].reason;
  EXPECT_NE(by_id["gone"].reason.find("no exit status recorded"), std::string::npos)
      << by_id["gone"].reason;
  EXPECT_EQ(by_id["reused"].state, TaskState::Failed);
  EXPECT_NE(by_id["reused"].reason.find("is now another program"), std::string::npos)
      << by_id["reused"].reason;
  EXPECT_NE(by_id["reused"].reason.find("not adopted, not signalled"), std::string::npos);
  EXPECT_TRUE(driver->stop("reused", Millis(10)).is_ok()) << "stopping an ended task is a no-op";
  EXPECT_EQ(::kill(::getpid(), 0), 0);
}

}  // namespace
}  // namespace cube::agent
