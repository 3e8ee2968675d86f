// Exec re-adoption end to end: a real cube-broker and a real `cube-agent --driver exec`. The
// agent is SIGKILLed while its task runs and restarted on the same data dir; the new agent finds
// the task from its record (agent/drivers/exec/exec_record.h), reports it in HELLO, and the
// broker keeps it Running on the same attempt: nothing is started twice. The task then ends with
// its real exit code (read by its supervisor, which outlived the agent), and a stop after the
// restart kills the task's whole process group. The shape follows the docker driver's
// AKilledAgentRestartsAndReadoptsItsContainerWithoutADuplicate (docker_cluster_test.cpp).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "common/unique_fd.h"
#include "tests/integration/cluster.h"

namespace cube::test {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t line_count(const std::filesystem::path& path) {
  const std::string text = read_text(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

class ExecAdoption : public ::testing::Test {
 protected:
  void SetUp() override {
    c_.start_broker({"--store", "memory"});
    c_.start_agent("ex");
    reaper_.agent_dirs = {c_.dir() / "ex"};
  }

  std::filesystem::path work_dir(const std::string& id) {
    return c_.dir() / "ex" / "tasks" / id / "work";
  }

  // SIGKILLs the agent and starts it again on the same data dir (same agent ID), then waits
  // until the new agent says it adopted task `id`.
  void kill_and_restart_agent(const std::string& id) {
    c_.agent("ex").signal(SIGKILL);
    ASSERT_TRUE(c_.agent("ex").wait(10s).has_value());
    c_.start_agent("ex");
    ASSERT_TRUE(eventually(
        [&] { return contains(read_text(c_.dir() / "ex.log"), "adopted task " + id); }, 15s, 50ms))
        << "the restarted agent did not adopt " << id << "\n"
        << c_.logs();
  }

  bool wait_state(const std::string& id, int state, std::chrono::milliseconds timeout) {
    return c_.wait_task(
        id, [state](const auto& t) { return state_of(t) == state; }, timeout);
  }

  Cluster c_;
  GroupReaper reaper_;  // after c_: kills what a failed test left while the dirs still exist
};

TEST_F(ExecAdoption, AKilledAgentRestartsReadoptsItsTaskWithoutADuplicateAndReportsItsExitCode) {
  const auto go = c_.dir() / "go";
  const auto starts = c_.dir() / "starts";
  ASSERT_EQ(::mkfifo(go.c_str(), 0600), 0);
  // Notes each start, then waits until the test writes to the FIFO, and exits 3.
  std::string id =
      c_.submit({"--name", "waiter", "--driver", "exec", "--restart", "no", "--", "sh", "-c",
                 "echo $$ >> " + starts.string() + "; read line < " + go.string() + "; exit 3"});
  ASSERT_TRUE(wait_state(id, 2, 15s)) << c_.get(id).dump() << c_.logs();
  ASSERT_TRUE(eventually([&] { return line_count(starts) == 1; }, 10s, 20ms));
  const pid_t pid = static_cast<pid_t>(std::stol(read_text(starts)));
  reaper_.groups.insert(pid);
  nlohmann::json before = c_.get(id);

  kill_and_restart_agent(id);
  EXPECT_EQ(::kill(pid, 0), 0) << "the task outlives its agent";
  nlohmann::json after = c_.get(id);
  EXPECT_EQ(state_of(after), 2) << after.dump() << c_.logs();
  EXPECT_EQ(after.value("Attempt", 0), before.value("Attempt", -1)) << after.dump();

  // Let the task end: the restarted agent reports the real exit code.
  ASSERT_TRUE(eventually(
      [&] {
        UniqueFd fd(::open(go.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));  // ENXIO: no reader
        return fd.valid() && ::write(fd.get(), "go\n", 3) == 3;
      },
      10s, 20ms));
  ASSERT_TRUE(wait_state(id, 4, 20s)) << c_.get(id).dump() << c_.logs();
  nlohmann::json done = c_.get(id);
  EXPECT_EQ(done.value("ExitCode", -1), 3) << done.dump();
  EXPECT_EQ(done.value("Reason", ""), "exit code 3") << done.dump();
  EXPECT_EQ(done.value("Attempt", 0), before.value("Attempt", -1)) << done.dump();
  EXPECT_EQ(line_count(starts), 1u) << "the task ran once: adopted, not started again\n"
                                    << read_text(starts);
}

TEST_F(ExecAdoption, AStopAfterReadoptionKillsTheTasksWholeProcessGroup) {
  std::string id = c_.submit({"--name", "family", "--driver", "exec", "--restart", "no", "--", "sh",
                              "-c", "sleep 300 & echo $! > child; echo $$ > pid; wait"});
  ASSERT_TRUE(wait_state(id, 2, 15s)) << c_.get(id).dump() << c_.logs();
  const auto pid_file = (work_dir(id) / "pid").string();
  const auto child_file = (work_dir(id) / "child").string();
  ASSERT_TRUE(eventually(
      [&] { return read_pid_file(pid_file) > 0 && read_pid_file(child_file) > 0; }, 10s, 20ms));
  const pid_t pgid = read_pid_file(pid_file);
  const pid_t child = read_pid_file(child_file);
  reaper_.groups.insert(pgid);

  kill_and_restart_agent(id);
  ASSERT_EQ(::kill(-pgid, 0), 0) << "the task's group outlives its agent";

  ASSERT_EQ(c_.cli({"stop", id}).status.code, 0);
  ASSERT_TRUE(wait_state(id, 3, 20s)) << c_.get(id).dump() << c_.logs();
  EXPECT_EQ(c_.get(id).value("Reason", ""), "stopped");
  EXPECT_TRUE(eventually([&] { return ::kill(-pgid, 0) != 0 && ::kill(child, 0) != 0; }, 10s, 20ms))
      << "the adopted task's process group (leader " << pgid << ", member " << child
      << ") is still there";
}

}  // namespace
}  // namespace cube::test
