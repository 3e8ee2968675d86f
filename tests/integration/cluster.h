// Cluster: real cube-broker and cube-agent processes on an ephemeral port in a temp dir, driven
// through the real cube-client binary. Every process is killed and reaped when the fixture goes
// away, even when the test failed.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/client.h"
#include "protocol/task.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace cube::test {

using namespace std::chrono_literals;

std::string binary(const std::string& name);  // build/<folder>/<name>

// Where a Cluster's processes run. The default is all of them on loopback in the test's own
// network namespace; nat_test.cpp gives each role its own namespace with a prefix such as
// {"/usr/sbin/ip", "netns", "exec", NS} (which execs in place, so Process::signal still reaches
// the cube process).
struct ClusterNetwork {
  std::string broker_host = "127.0.0.1";   // cube-broker --bind HOST:PORT
  std::vector<std::string> broker_prefix;  // prepended to the cube-broker command
  std::vector<std::string> agent_prefix;   // prepended to every cube-agent command
  std::vector<std::string> client_prefix;  // prepended to every cube-client command (cli())
};

class Cluster {
 public:
  explicit Cluster(ClusterNetwork network = {});
  ~Cluster();

  // Starts cube-broker on the network's broker_host, 127.0.0.1 by default (port 0 = any free
  // base port), and waits until it has bound.
  void start_broker(const std::vector<std::string>& extra_args = {}, int port = 0);
  void stop_broker(int sig);  // signal and reap
  Process& broker() { return *broker_; }
  const std::string& address() const { return address_; }
  int port() const { return port_; }

  // Starts an agent named `name` with its own data dir (<dir>/<name>; its ID is in agent-id
  // there), with the exec driver unless extra_args give --driver; waits until `nodes` lists it
  // ready.
  void start_agent(const std::string& name, const std::vector<std::string>& extra_args = {},
                   bool wait_ready = true);
  Process& agent(const std::string& name) { return agents_.at(name); }
  void forget_agent(const std::string& name) { agents_.erase(name); }

  // cube-client --broker <address> args...
  CommandResult cli(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 15s);
  // Submits and returns the task ID (fails the test on error).
  std::string submit(const std::vector<std::string>& args);
  nlohmann::json list();
  nlohmann::json get(const std::string& id);
  nlohmann::json nodes();
  // Polls `get id` until pred(task) or timeout.
  bool wait_task(const std::string& id, const std::function<bool(const nlohmann::json&)>& pred,
                 std::chrono::milliseconds timeout);

  const TempDir& dir() const { return dir_; }
  std::string logs() const;  // broker and agent output, for failure messages

 private:
  ClusterNetwork network_;
  TempDir dir_;
  std::optional<Process> broker_;
  std::map<std::string, Process> agents_;
  std::string address_;
  int port_ = 0;
  int broker_starts_ = 0;
};

// A cube::Client for the cluster's broker (one try by default: a test that expects the broker to
// be gone wants to know at once).
Client client_for(const Cluster& c, Millis timeout_per_try = Millis(1000), int tries = 1);

// What submit_stream_and_kill_broker saw.
struct KilledStream {
  std::vector<std::string> acknowledged;  // IDs of the submits the broker answered OK
  int failed_after_kill = 0;              // submits in flight when the broker died
  bool reached_kill_point = false;        // kill_after submits were acknowledged within 60 s
};

// `threads` client threads stream submits of exec tasks (each with its own UUIDv7 ID, one
// request in flight per thread) until `kill_after` have been acknowledged, then the broker is
// SIGKILLed and reaped, and every thread stops at its first failed submit. For "nothing
// acknowledged is lost" tests: restart the broker on the same store and look for every ID.
KilledStream submit_stream_and_kill_broker(Cluster& c, int threads, size_t kill_after);

// Of `ids`, how many the broker behind `client` does not list (`missing`), and how many tasks
// it lists in all (`listed`). The list call's error when it fails.
struct ListedIds {
  size_t missing = 0;
  size_t listed = 0;
};
Result<ListedIds> check_listed(Client& client, const std::vector<std::string>& ids);

// A task for the exec driver.
Task exec_task(const std::string& name, std::vector<std::string> cmd,
               const std::string& restart_policy = "");

// Kills a whole process group if it still exists (tasks left by a killed agent).
void kill_group(pid_t pgid);

// One live process of an exec task, as the kernel sees it: the exec driver points a task's
// stdout at <agent data dir>/tasks/<task id>/<attempt>.log, so /proc/PID/fd/1 names the task and
// the attempt whatever the agent or the broker believe.
struct ExecTaskProcess {
  pid_t pid = 0;
  std::string task_id;
  uint32_t attempt = 0;
};
// Every live process started by the exec agent whose data dir is `agent_dir` (its task process
// and anything that inherited its stdout).
std::vector<ExecTaskProcess> exec_task_processes(const std::filesystem::path& agent_dir);

// Task processes outlive a SIGKILLed agent (tasks keep running when the agent exits). When the
// test ends, even on failure, kills the process groups recorded in `groups` and those of every
// exec task process then found under `agent_dirs`. Declare it after the Cluster, so it runs
// while the agents' dirs still exist.
struct GroupReaper {
  std::set<pid_t> groups;
  std::vector<std::filesystem::path> agent_dirs;
  ~GroupReaper();
};

// Reads an integer written by a task into a file; 0 when absent.
pid_t read_pid_file(const std::string& path);

// A task's numeric State in the JSON of `cube-client get/list -o json` (-1 when missing).
inline int state_of(const nlohmann::json& task) {
  return task.value("State", -1);
}

inline bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace cube::test
