// Agents behind NAT, on a real routed network (NetNamespaceLab): cube-broker runs
// in a "public" namespace, cube-agent in a "private" one that reaches it only through a router
// that masquerades, and that the public side has no route to. The agent connects out, registers,
// pulls and completes tasks; when the router drops everything the broker declares it lost and
// fails its running task "node lost"; when the link comes back the agent says HELLO again and
// the broker reconciles. Every cube-client call runs in the public namespace, like an operator
// on the broker's side.
//
// Needs root. Without it: skipped, or failed under CI=true (.ci/run), where it must run.
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string_view>

#include "common/clock.h"
#include "tests/integration/cluster.h"
#include "tests/integration/net_namespace_lab.h"

namespace cube::test {
namespace {

constexpr int kRunning = 2;
constexpr int kCompleted = 3;
constexpr int kFailed = 4;

Millis since(SteadyTime start) {
  return std::chrono::duration_cast<Millis>(system_clock().now() - start);
}

// "ready", "suspect", "lost", or "" when `nodes` does not list `name`.
std::string node_state(Cluster& c, const std::string& name) {
  for (const auto& n : c.nodes()) {
    if (n.value("Name", "") == name)
      return n.value("State", "");
  }
  return "";
}

// Whether a TCP connection to ip:port opens from inside `ns` (bash's /dev/tcp: no netcat needed).
bool tcp_connects(const NetNamespaceLab& lab, const std::string& ns, const std::string& ip,
                  int port) {
  auto r =
      lab.run_in(ns, {"/bin/bash", "-c", "exec 3<>/dev/tcp/" + ip + "/" + std::to_string(port)});
  return r.status.exited() && r.status.code == 0;
}

class NatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = NetNamespaceLab::unavailable_reason();
    if (!why.empty()) {
      const char* ci = std::getenv("CI");
      if (ci != nullptr && std::string_view(ci) == "true")
        FAIL() << "CI=true: the NAT tests must run here (as root, with iproute2 and iptables): "
               << why;
      GTEST_SKIP() << "needs root with network namespaces and iptables (run as root, or in CI): "
                   << why;
    }
    lab_.emplace();
    Status built = lab_->build();
    ASSERT_TRUE(built.is_ok()) << built.to_string();
    for (const auto& ns : {lab_->public_ns(), lab_->router_ns(), lab_->private_ns()})
      ASSERT_TRUE(lab_->loopback_up(ns)) << "loopback is down in " << ns;
  }

  // Broker and clients in the public namespace, agents in the private one.
  ClusterNetwork network() const {
    ClusterNetwork net;
    net.broker_host = NetNamespaceLab::kPublicIp;
    net.broker_prefix = lab_->exec_prefix(lab_->public_ns());
    net.client_prefix = lab_->exec_prefix(lab_->public_ns());
    net.agent_prefix = lab_->exec_prefix(lab_->private_ns());
    return net;
  }

  std::optional<NetNamespaceLab> lab_;  // declared first: outlives every process in it
};

// The network itself is what the other test relies on: from the private side the public one is
// reachable (through the router), from the public side nothing in the private one is, even with
// a listener there.
TEST_F(NatTest, PrivateSideIsUnreachableFromThePublicSide) {
  // A real listener in the private namespace: a throwaway cube-broker on the private address.
  TempDir dir("cube-nat-probe");
  std::string ready = (dir / "ready").string();
  std::vector<std::string> argv = lab_->exec_prefix(lab_->private_ns());
  argv.insert(argv.end(), {binary("cube-broker"), "--bind",
                           std::string(NetNamespaceLab::kPrivateIp) + ":0", "--insecure", "--store",
                           "memory", "--data-dir", (dir / "data").string(), "--ready-file", ready});
  Process listener(argv, (dir / "listener.log").string());
  std::string bound;
  ASSERT_TRUE(eventually(
      [&] {
        std::ifstream in(ready);
        std::getline(in, bound);
        return !bound.empty();
      },
      15s))
      << listener.output();
  int port = std::stoi(bound.substr(bound.rfind(':') + 1));

  // Control: the listener is real and the router, which has a route, reaches it.
  EXPECT_TRUE(tcp_connects(*lab_, lab_->router_ns(), NetNamespaceLab::kPrivateIp, port));
  // The public side has no route to the private subnet, so no connection can start there.
  EXPECT_FALSE(tcp_connects(*lab_, lab_->public_ns(), NetNamespaceLab::kPrivateIp, port));
  auto route = lab_->run_in(
      lab_->public_ns(), {NetNamespaceLab::ip_path(), "route", "get", NetNamespaceLab::kPrivateIp});
  EXPECT_NE(route.status.code, 0) << route.out;
  EXPECT_NE(route.err.find("unreachable"), std::string::npos) << route.err;
  // The private side reaches the public address through the router.
  auto out = lab_->run_in(lab_->private_ns(),
                          {NetNamespaceLab::ip_path(), "route", "get", NetNamespaceLab::kPublicIp});
  EXPECT_EQ(out.status.code, 0) << out.err;
  EXPECT_NE(out.out.find("via 10.231.2.1"), std::string::npos) << out.out;
}

// The lab cleans up after itself: its namespaces go, and with them whatever still ran inside.
TEST_F(NatTest, LabRemovesItsNamespacesAndWhatRunsInThem) {
  std::vector<std::string> argv = lab_->exec_prefix(lab_->private_ns());
  argv.insert(argv.end(), {"/bin/sleep", "300"});
  TempDir dir("cube-nat-lab");
  Process inside(argv, (dir / "sleep.log").string());
  std::vector<std::string> names = {lab_->public_ns(), lab_->router_ns(), lab_->private_ns()};
  auto listed = [&] { return run_command({NetNamespaceLab::ip_path(), "netns", "list"}, 15s).out; };
  ASSERT_TRUE(eventually(
      [&] {
        auto pids = lab_->run_in(lab_->private_ns(),
                                 {NetNamespaceLab::ip_path(), "netns", "pids", lab_->private_ns()});
        return pids.out.find(std::to_string(inside.pid())) != std::string::npos;
      },
      10s))
      << "the process never entered " << lab_->private_ns();

  lab_.reset();
  auto status = inside.wait(10s);
  ASSERT_TRUE(status.has_value()) << "the process in the namespace is still running";
  EXPECT_EQ(status->signal, SIGKILL);
  std::string after = listed();
  for (const auto& name : names)
    EXPECT_EQ(after.find(name), std::string::npos) << name << " is still there:\n" << after;
}

TEST_F(NatTest, AgentBehindNatRunsTasksIsLostWhenCutAndReconcilesWhenRestored) {
  Cluster c(network());
  // A non-loopback plaintext bind needs --insecure, and exec tasks there --allow-exec; a short
  // grace keeps the test short.
  c.start_broker({"--insecure", "--allow-exec", "--node-grace", "2s"});
  ASSERT_EQ(c.address().substr(0, c.address().rfind(':')), NetNamespaceLab::kPublicIp);
  c.start_agent("natted");
  GroupReaper reaper;

  // The broker sees the agent's connections come from the router's address: it went through
  // the MASQUERADE rule, and nothing comes from the private address it cannot reach.
  auto sockets = lab_->run_in(lab_->public_ns(), {"/bin/sh", "-c", "ss -tnH state established"});
  ASSERT_EQ(sockets.status.code, 0) << sockets.err;
  EXPECT_NE(sockets.out.find(std::string(NetNamespaceLab::kRouterPublicIp) + ":"),
            std::string::npos)
      << sockets.out;
  EXPECT_EQ(sockets.out.find(NetNamespaceLab::kPrivateIp), std::string::npos) << sockets.out;
  EXPECT_GT(lab_->masqueraded_packets(), 0);

  // It pulls and completes tasks.
  std::vector<std::string> before;
  for (int i = 0; i < 3; ++i) {
    before.push_back(c.submit(
        {"--name", "before-" + std::to_string(i), "--driver", "exec", "--", "sh", "-c", "true"}));
  }
  for (const auto& id : before) {
    ASSERT_FALSE(id.empty()) << c.logs();
    ASSERT_TRUE(c.wait_task(
        id, [](const auto& t) { return state_of(t) == kCompleted; }, 30s))
        << c.get(id).dump() << c.logs();
    EXPECT_EQ(c.get(id).value("Node", ""), "natted");
    EXPECT_EQ(c.get(id).value("ExitCode", -1), 0);
  }

  // A long task (RestartPolicy none), running when the link goes.
  std::string held = c.submit(
      {"--name", "held", "--driver", "exec", "--", "sh", "-c", "echo $$ > pid; exec sleep 300"});
  ASSERT_TRUE(c.wait_task(
      held, [](const auto& t) { return state_of(t) == kRunning; }, 30s))
      << c.get(held).dump() << c.logs();
  std::string pid_file = (c.dir() / "natted" / "tasks" / held / "work" / "pid").string();
  ASSERT_TRUE(eventually([&] { return read_pid_file(pid_file) > 0; }, 10s));
  pid_t copy = read_pid_file(pid_file);
  reaper.groups.insert(copy);

  // Cut: the router drops everything, both ways, silently.
  SteadyTime cut_at = system_clock().now();
  Status cut = lab_->cut();
  ASSERT_TRUE(cut.is_ok()) << cut.to_string();
  bool lost = eventually([&] { return node_state(c, "natted") == "lost"; }, 20s, 100ms);
  Millis lost_after = since(cut_at);
  ASSERT_TRUE(lost) << c.nodes().dump() << c.logs();
  // Any message counts as a beat and the last one may have come up to a heartbeat (1 s) before
  // the cut, so the 2 s grace ends at least 1 s after it.
  EXPECT_GE(lost_after, 1000ms);
  ASSERT_TRUE(c.wait_task(
      held, [](const auto& t) { return state_of(t) == kFailed; }, 10s))
      << c.get(held).dump();
  EXPECT_EQ(c.get(held).value("Reason", ""), "node lost") << c.get(held).dump();
  // The task itself never noticed: tasks keep running when their agent loses the broker.
  EXPECT_EQ(::kill(-copy, 0), 0) << "the task's process ended with the link";

  // Submitted while the only node is lost: it waits.
  std::string during = c.submit(
      {"--name", "during", "--driver", "exec", "--", "sh", "-c", "echo submitted during the cut"});
  auto waiting = c.get(during);
  EXPECT_TRUE(state_of(waiting) == 0 || state_of(waiting) == 1) << waiting.dump();
  EXPECT_NE(waiting.value("Node", ""), "natted") << waiting.dump();

  // Keep the link down until the agent has noticed too (3 missed beacons) and dropped its
  // connection, so that it has to come back on new connections through the NAT rather than
  // resume the old one. Its log is the only place that says so.
  ASSERT_TRUE(eventually(
      [&] { return c.agent("natted").output().find("no beacon from broker") != std::string::npos; },
      20s, 100ms))
      << c.logs();
  int64_t masqueraded_before = lab_->masqueraded_packets();

  // Restore: the agent, which kept retrying HELLO with backoff, comes back.
  SteadyTime restored_at = system_clock().now();
  Status restored = lab_->restore();
  ASSERT_TRUE(restored.is_ok()) << restored.to_string();
  bool ready = eventually([&] { return node_state(c, "natted") == "ready"; }, 60s, 100ms);
  Millis ready_after = since(restored_at);
  ASSERT_TRUE(ready) << c.nodes().dump() << c.logs();
  // The new connections were NAT'ed (the rule counts the first packet of each connection).
  EXPECT_GT(lab_->masqueraded_packets(), masqueraded_before);

  // Reconciled: its HELLO reported the copy still running, and the broker adopted it back (a
  // task with no restart policy, still Failed "node lost") instead of starting another.
  ASSERT_TRUE(c.wait_task(
      held, [](const auto& t) { return state_of(t) == kRunning; }, 20s))
      << c.get(held).dump() << c.logs();
  auto back = c.get(held);
  EXPECT_EQ(back.value("Node", ""), "natted") << back.dump();
  EXPECT_EQ(back.value("Reason", ""), "node returned") << back.dump();
  EXPECT_EQ(back.value("Attempt", -1), 1) << "the task was started again: " << back.dump();
  EXPECT_EQ(read_pid_file(pid_file), copy);
  EXPECT_EQ(::kill(-copy, 0), 0);
  auto history = c.cli({"get", held});
  EXPECT_NE(history.out.find("node lost"), std::string::npos) << history.out;

  // The task that waited runs, and new tasks complete as before.
  EXPECT_TRUE(c.wait_task(
      during, [](const auto& t) { return state_of(t) == kCompleted; }, 30s))
      << c.get(during).dump() << c.logs();
  EXPECT_EQ(c.get(during).value("Node", ""), "natted");
  std::string after =
      c.submit({"--name", "after", "--driver", "exec", "--", "sh", "-c", "echo after"});
  EXPECT_TRUE(c.wait_task(
      after, [](const auto& t) { return state_of(t) == kCompleted; }, 30s))
      << c.get(after).dump() << c.logs();
  EXPECT_EQ(c.get(after).value("Node", ""), "natted");

  // The transitions are the broker's published ones.
  auto status = c.cli({"status", "-o", "json"});
  EXPECT_NE(status.out.find("agents.lost"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("agents.returned"), std::string::npos) << status.out;

  // Stopping works across the NAT too: the STOP reaches the agent and ends the copy.
  ASSERT_EQ(c.cli({"stop", held}).status.code, 0);
  EXPECT_TRUE(c.wait_task(
      held, [](const auto& t) { return state_of(t) == kCompleted; }, 30s))
      << c.get(held).dump();
  EXPECT_TRUE(eventually([&] { return ::kill(-copy, 0) != 0 && errno == ESRCH; }, 30s, 100ms))
      << "the stopped task still runs";

  std::printf(
      "[nat] agent behind NAT (grace 2s, heartbeat 1s): declared lost %lld ms after the link "
      "was cut; ready again %lld ms after it was restored\n",
      static_cast<long long>(lost_after.count()), static_cast<long long>(ready_after.count()));
}

}  // namespace
}  // namespace cube::test
