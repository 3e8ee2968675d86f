// Resource-aware scheduling end to end, with real cube-broker, cube-agent (exec
// driver) and cube-client processes: declared capacity, allocation accounting, the visible
// pending queue and its event-driven release, binpack versus spread, label constraints, the
// scheduler flag, and live node stats in `nodes -o json`.
//
// Every task writes its process group id to a file; TaskGuard stops the tasks through the CLI
// and, whatever happened, kills the groups that are left, so no `sleep` outlives a test.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "tests/integration/cluster.h"

namespace cube::test {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kMiB = int64_t{1} << 20;

// Long-running exec tasks, cleaned up when the test ends.
class TaskGuard {
 public:
  explicit TaskGuard(Cluster& c) : c_(c) {}
  ~TaskGuard() {
    // Polite first (the broker records Completed), then make sure.
    for (const auto& [id, pid_file] : tasks_)
      c_.cli({"stop", id}, 5s);
    for (const auto& [id, pid_file] : tasks_) {
      c_.wait_task(
          id, [](const nlohmann::json& t) { return state_of(t) >= 3; }, 10s);
      kill_group(read_pid_file(pid_file));
    }
  }

  // Submits `sh -c 'echo $$ > PIDFILE; exec sleep 300'` with the given flags.
  std::string submit(const std::string& name, const std::vector<std::string>& flags) {
    std::string pid_file = (c_.dir() / (name + ".pid")).string();
    std::vector<std::string> args = {"--name", name, "--driver", "exec"};
    args.insert(args.end(), flags.begin(), flags.end());
    for (const char* word : {"--", "sh", "-c"})
      args.emplace_back(word);
    args.push_back("echo $$ > " + pid_file + "; exec sleep 300");
    std::string id = c_.submit(args);
    tasks_[id] = pid_file;
    return id;
  }

 private:
  Cluster& c_;
  std::map<std::string, std::string> tasks_;  // id -> pid file
};

// Node name -> how many of `ids` run there (Running only).
std::map<std::string, int> running_per_node(Cluster& c, const std::vector<std::string>& ids) {
  std::map<std::string, int> out;
  for (const auto& id : ids) {
    auto t = c.get(id);
    if (state_of(t) == 2)
      ++out[t.value("Node", "")];
  }
  return out;
}

bool all_running(Cluster& c, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    if (state_of(c.get(id)) != 2)
      return false;
  }
  return true;
}

nlohmann::json node_named(Cluster& c, const std::string& name) {
  for (const auto& n : c.nodes()) {
    if (n.value("Name", "") == name)
      return n;
  }
  return nullptr;
}

TEST(Scheduling, MemoryFitsTwoOfThreeThePendingOneSaysWhyAndRunsOnceRoomFrees) {
  Cluster c;
  c.start_broker();
  c.start_agent("a1", {"--memory", "1GiB", "--stats-interval", "1s"});
  c.start_agent("a2", {"--memory", "1GiB", "--stats-interval", "1s"});
  TaskGuard guard(c);

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(guard.submit("m" + std::to_string(i), {"--memory", "600MiB"}));

  std::string pending;
  bool settled = eventually(
      [&] {
        int running = 0;
        pending.clear();
        for (const auto& id : ids) {
          auto t = c.get(id);
          if (state_of(t) == 2)
            ++running;
          else if (state_of(t) == 0 && !t.value("Reason", "").empty())
            pending = id;
        }
        return running == 2 && !pending.empty();
      },
      20s, 100ms);
  ASSERT_TRUE(settled) << c.cli({"list", "-o", "wide"}).out << c.logs();

  // Two Running on different nodes: 600 MiB + 600 MiB does not fit in one 1 GiB node.
  auto per_node = running_per_node(c, ids);
  EXPECT_EQ(per_node, (std::map<std::string, int>{{"a1", 1}, {"a2", 1}}));
  // The third is Pending with a reason that names memory, visible in get and list.
  auto t = c.get(pending);
  EXPECT_EQ(state_of(t), 0);
  std::string reason = t.value("Reason", "");
  EXPECT_NE(reason.find("memory"), std::string::npos) << reason;
  EXPECT_NE(reason.find("600 MiB"), std::string::npos) << reason;
  auto list = c.cli({"list", "-o", "wide"});
  EXPECT_NE(list.out.find(reason), std::string::npos) << list.out;

  // Accounting: each node declares 1 GiB and has 600 MiB allocated; live stats arrive.
  bool stats = eventually(
      [&] {
        auto a1 = node_named(c, "a1"), a2 = node_named(c, "a2");
        return a1.is_object() && a2.is_object() && a1["Stats"].is_object() &&
               a2["Stats"].is_object();
      },
      15s, 200ms);
  ASSERT_TRUE(stats) << c.nodes().dump(2);
  for (const char* name : {"a1", "a2"}) {
    auto n = node_named(c, name);
    SCOPED_TRACE(n.dump(2));
    EXPECT_EQ(n["Memory"], kGiB);
    EXPECT_EQ(n["Allocated"]["Memory"], 600 * kMiB);
    EXPECT_EQ(n["Allocated"]["Tasks"], 1);
    EXPECT_GT(n["Stats"]["CPUTotal"].get<double>(), 0);
    EXPECT_GE(n["Stats"]["CPUUsed"].get<double>(), 0);
    EXPECT_GT(n["Stats"]["MemoryTotal"].get<int64_t>(), 0);
    EXPECT_GT(n["Stats"]["MemoryUsed"].get<int64_t>(), 0);
    EXPECT_GT(n["Stats"]["DiskTotal"].get<int64_t>(), 0);
    EXPECT_GE(n["Stats"]["Load1"].get<double>(), 0);
    EXPECT_EQ(n["Stats"]["Running"], 1);
    EXPECT_FALSE(n["Stats"]["SampledAt"].get<std::string>().empty());
  }
  auto table = c.cli({"nodes"});
  EXPECT_EQ(table.status.code, 0) << table.err;
  EXPECT_NE(table.out.find("LOAD"), std::string::npos) << table.out;

  // Stopping one frees its node's memory: the pending task runs there, without any timer.
  std::string stopped;
  for (const auto& id : ids) {
    if (id != pending) {
      stopped = id;
      break;
    }
  }
  std::string freed_node = c.get(stopped).value("Node", "");
  const Clock& clock = system_clock();
  auto stop_at = clock.now();
  ASSERT_EQ(c.cli({"stop", stopped}).status.code, 0);
  ASSERT_TRUE(c.wait_task(
      pending, [](const auto& task) { return state_of(task) == 2; }, 10s))
      << c.cli({"list", "-o", "wide"}).out << c.logs();
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - stop_at);
  EXPECT_LT(waited, 5000ms) << "the pending task should run as soon as the stop completes";
  EXPECT_EQ(c.get(pending).value("Node", ""), freed_node);
  EXPECT_EQ(c.get(pending).value("Reason", ""), "");
}

TEST(Scheduling, BinpackFillsOneNodeBeforeTheNext) {
  Cluster c;
  c.start_broker({"--scheduler", "binpack"});
  c.start_agent("a1", {"--slots", "4", "--memory", "1GiB", "--cpu", "2"});
  c.start_agent("a2", {"--slots", "4", "--memory", "1GiB", "--cpu", "2"});
  TaskGuard guard(c);

  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(guard.submit("b" + std::to_string(i), {"--memory", "100MiB"}));
  ASSERT_TRUE(eventually([&] { return all_running(c, ids); }, 20s, 100ms))
      << c.cli({"list"}).out << c.logs();

  auto per_node = running_per_node(c, ids);
  ASSERT_EQ(per_node.size(), 1u) << "binpack spread the tasks: " << c.cli({"list"}).out;
  EXPECT_EQ(per_node.begin()->second, 4);
  auto full = node_named(c, per_node.begin()->first);
  EXPECT_EQ(full["Allocated"]["Memory"], 400 * kMiB);
  EXPECT_EQ(full["Allocated"]["Tasks"], 4);
}

TEST(Scheduling, SpreadAlternatesBetweenNodes) {
  Cluster c;
  c.start_broker({"--scheduler", "spread"});
  c.start_agent("a1", {"--slots", "4", "--memory", "1GiB", "--cpu", "2"});
  c.start_agent("a2", {"--slots", "4", "--memory", "1GiB", "--cpu", "2"});
  TaskGuard guard(c);

  std::vector<std::string> ids;
  std::vector<std::string> order;  // node of each task, in submit order
  for (int i = 0; i < 4; ++i) {
    ids.push_back(guard.submit("s" + std::to_string(i), {"--memory", "100MiB"}));
    // One at a time, so the alternation is visible in placement order.
    ASSERT_TRUE(c.wait_task(
        ids.back(), [](const auto& t) { return state_of(t) == 2; }, 15s))
        << c.logs();
    order.push_back(c.get(ids.back()).value("Node", ""));
  }
  for (size_t i = 1; i < order.size(); ++i)
    EXPECT_NE(order[i], order[i - 1]) << "placement " << i << " did not alternate";
  EXPECT_EQ(running_per_node(c, ids), (std::map<std::string, int>{{"a1", 2}, {"a2", 2}}));
}

TEST(Scheduling, ConstraintsMatchNodeLabelsAndAnUnmatchedOneWaitsWithAReason) {
  Cluster c;
  c.start_broker();
  c.start_agent("eu", {"--label", "zone=eu"});
  c.start_agent("us", {"--label", "zone=us-east"});
  TaskGuard guard(c);

  std::vector<std::string> eu;
  for (int i = 0; i < 3; ++i)
    eu.push_back(guard.submit("eu" + std::to_string(i), {"--constraint", "zone=eu"}));
  std::string nowhere = guard.submit("nowhere", {"--constraint", "zone=mars"});
  ASSERT_TRUE(eventually([&] { return all_running(c, eu); }, 20s, 100ms))
      << c.cli({"list"}).out << c.logs();
  EXPECT_EQ(running_per_node(c, eu), (std::map<std::string, int>{{"eu", 3}}));

  ASSERT_TRUE(c.wait_task(
      nowhere, [](const auto& t) { return !t.value("Reason", std::string()).empty(); }, 10s));
  auto t = c.get(nowhere);
  EXPECT_EQ(state_of(t), 0);
  EXPECT_EQ(t.value("Reason", ""), "no node matches zone=mars");
  auto details = c.cli({"get", nowhere});
  EXPECT_NE(details.out.find("no node matches zone=mars"), std::string::npos) << details.out;
  auto list = c.cli({"list"});
  EXPECT_NE(list.out.find("no node matches zone=mars"), std::string::npos) << list.out;

  // The labels are on show.
  auto table = c.cli({"nodes"});
  EXPECT_NE(table.out.find("zone=eu"), std::string::npos) << table.out;
  EXPECT_EQ(node_named(c, "eu")["Labels"]["zone"], "eu");
}

TEST(Scheduling, BrokerTakesEveryPolicyNameAndStatusShowsIt) {
  for (const char* policy : {"roundrobin", "greedy", "epvm", "binpack", "spread"}) {
    SCOPED_TRACE(policy);
    Cluster c;
    c.start_broker({"--scheduler", policy});
    auto status = c.cli({"status", "-o", "json"});
    ASSERT_EQ(status.status.code, 0) << status.err;
    EXPECT_EQ(nlohmann::json::parse(status.out).value("Scheduler", ""), policy);
    auto human = c.cli({"status"});
    std::istringstream lines(human.out);
    std::string line;
    while (std::getline(lines, line) && !line.starts_with("Scheduler:")) {
    }
    EXPECT_TRUE(line.ends_with(std::string(" ") + policy)) << human.out;
  }
  auto bad = run_command({binary("cube-broker"), "--scheduler", "fastest"}, 10s);
  EXPECT_EQ(bad.status.code, 2) << bad.err;
  EXPECT_NE(bad.err.find("fastest"), std::string::npos) << bad.err;
}

TEST(Scheduling, AgentRefusesCapacityFlagsThatAreNotAmounts) {
  TempDir dir;
  for (const std::vector<std::string>& flags : std::vector<std::vector<std::string>>{
           {"--memory", "lots"}, {"--cpu", "0"}, {"--disk", "0"}, {"--stats-interval", "x"}}) {
    std::vector<std::string> argv = {binary("cube-agent"), "--data-dir", dir.str()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto r = run_command(argv, 10s);
    EXPECT_EQ(r.status.code, 2) << flags[0] << ": " << r.err;
    EXPECT_NE(r.err.find(flags[0]), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace cube::test
