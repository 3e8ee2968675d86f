// End-to-end tests of the core slice with real cube-broker, cube-agent and cube-client
// processes on ephemeral ports.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <set>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/clock.h"
#include "protocol/zmq_io.h"
#include "tests/integration/cluster.h"

namespace cube::test {
namespace {

TEST(Cluster, TwentyTasksOverTwoAgentsAllCompleteOnBothNodes) {
  Cluster c;
  c.start_broker();
  c.start_agent("a1", {"--slots", "4"});
  c.start_agent("a2", {"--slots", "4"});

  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(c.submit({"--name", "t" + std::to_string(i), "--driver", "exec", "--", "sh",
                            "-c", "sleep 0.2"}));
  }
  bool done = eventually(
      [&] {
        auto tasks = c.list();
        if (!tasks.is_array()) return false;
        int completed = 0;
        for (const auto& t : tasks) completed += state_of(t) == 3;
        return completed == 20;
      },
      30s, 200ms);
  ASSERT_TRUE(done) << c.cli({"list"}).out << c.logs();

  std::set<std::string> nodes;
  for (const auto& t : c.list()) nodes.insert(t.value("Node", ""));
  EXPECT_EQ(nodes, (std::set<std::string>{"a1", "a2"}));
  for (const auto& id : ids) {
    auto t = c.get(id);
    EXPECT_EQ(state_of(t), 3) << t.dump();
    EXPECT_EQ(t.value("ExitCode", -1), 0) << t.dump();
  }
}

TEST(Cluster, StopKillsTheWholeProcessGroup) {
  Cluster c;
  c.start_broker();
  c.start_agent("a1");
  std::string pid_file = (c.dir() / "task.pid").string();
  // The shell is the group leader; it leaves a background sleep in the same group.
  std::string id = c.submit({"--name", "long", "--driver", "exec", "--", "sh", "-c",
                             "echo $$ > " + pid_file + "; sleep 300 & sleep 300"});
  ASSERT_TRUE(c.wait_task(id, [](const auto& t) { return state_of(t) == 2; }, 15s)) << c.logs();
  pid_t pgid = 0;
  ASSERT_TRUE(eventually([&] { return (pgid = read_pid_file(pid_file)) > 0; }, 5s));
  ASSERT_EQ(::kill(-pgid, 0), 0) << "the task's process group should be alive";

  auto r = c.cli({"stop", id});
  ASSERT_EQ(r.status.code, 0) << r.err;
  ASSERT_TRUE(c.wait_task(id, [](const auto& t) { return state_of(t) == 3; }, 20s)) << c.logs();
  EXPECT_EQ(c.get(id).value("Reason", ""), "stopped");
  bool gone = eventually([&] { return ::kill(-pgid, 0) != 0 && errno == ESRCH; }, 5s);
  EXPECT_TRUE(gone) << "processes of group " << pgid << " survived the stop";
  kill_group(pgid);

  // Stopping again is fine and changes nothing.
  EXPECT_EQ(c.cli({"stop", id}).status.code, 0);
  EXPECT_EQ(state_of(c.get(id)), 3);
}

TEST(Cluster, KilledAgentsTasksFailWithNodeLostWithinTheGrace) {
  Cluster c;
  c.start_broker({"--node-grace", "2s"});
  c.start_agent("doomed");
  std::string pid_file = (c.dir() / "orphan.pid").string();
  std::string id = c.submit(
      {"--name", "orphan", "--driver", "exec", "--", "sh", "-c", "echo $$ > " + pid_file + "; sleep 300"});
  ASSERT_TRUE(c.wait_task(id, [](const auto& t) { return state_of(t) == 2; }, 15s)) << c.logs();

  const Clock& clock = system_clock();
  auto killed_at = clock.now();
  c.agent("doomed").signal(SIGKILL);
  ASSERT_TRUE(c.agent("doomed").wait(5s).has_value());
  bool failed = c.wait_task(
      id, [](const auto& t) { return state_of(t) == 4 && t.value("Reason", "") == "node lost"; },
      10s);
  auto detected_after = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - killed_at);
  kill_group(read_pid_file(pid_file));
  ASSERT_TRUE(failed) << c.get(id).dump() << c.logs();
  // Grace 2 s plus one heartbeat period and polling slack.
  EXPECT_LT(detected_after, 4500ms);
  bool lost = false;
  for (const auto& n : c.nodes()) lost |= n.value("Name", "") == "doomed" && n.value("State", "") == "lost";
  EXPECT_TRUE(lost) << c.nodes().dump();
}

TEST(Cluster, RestartedBrokerSeesTheAgentAgain) {
  Cluster c;
  c.start_broker();
  c.start_agent("survivor");
  int port = c.port();
  c.stop_broker(SIGKILL);
  EXPECT_EQ(c.cli({"nodes"}, 10s).status.code, 3) << "the broker is down";

  c.start_broker({}, port);
  bool back = eventually(
      [&] {
        for (const auto& n : c.nodes()) {
          if (n.value("Name", "") == "survivor" && n.value("State", "") == "ready") return true;
        }
        return false;
      },
      40s, 250ms);
  EXPECT_TRUE(back) << c.logs();
  EXPECT_TRUE(c.agent("survivor").running());
}

TEST(Cluster, ClientExitCodesAndErrors) {
  Cluster c;
  c.start_broker();

  // Broker unreachable: exit 3, one line naming the address, within the timeout.
  auto r = run_command({binary("cube-client"), "--broker", "127.0.0.1:1", "--timeout", "2s", "list"}, 15s);
  EXPECT_EQ(r.status.code, 3) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1:1"), std::string::npos) << r.err;
  EXPECT_LT(r.elapsed, 5s);

  r = c.cli({"get", "0190a3c4-0000-7000-8000-000000000000"});
  EXPECT_EQ(r.status.code, 1);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;

  r = c.cli({"frobnicate"});
  EXPECT_EQ(r.status.code, 2) << r.err;

  std::string file = (c.dir() / "bad.json").string();
  {
    std::ofstream out(file);
    out << R"({"Name": "x", "Imagee": "busybox"})";
  }
  r = c.cli({"submit", "-f", file});
  EXPECT_NE(r.status.code, 0);
  EXPECT_NE(r.err.find("Imagee"), std::string::npos) << r.err;

  r = c.cli({"submit", "--name", "nocmd", "--driver", "exec"});
  EXPECT_NE(r.status.code, 0);
  EXPECT_NE(r.err.find("Cmd"), std::string::npos) << r.err;

  // Nothing was stored by the failed submits.
  auto tasks = c.list();
  ASSERT_TRUE(tasks.is_array());
  EXPECT_TRUE(tasks.empty()) << tasks.dump();
}

TEST(Cluster, PrefixedTaskEventFileIsAccepted) {
  Cluster c;
  c.start_broker();
  c.start_agent("a1");
  std::string file = (c.dir() / "event.json").string();
  {
    std::ofstream out(file);
    out << R"({"ID": "266592cd-960d-4091-981c-8c25c44b1018", "State": 2, "Timestamp": "2025-11-23T10:00:00Z",
              "Task": {"State": 1, "ID": "266592cd-960d-4091-981c-8c25c44b1018", "Name": "from-file",
                       "Driver": "exec", "Cmd": ["sh", "-c", "exit 3"]}})";
  }
  auto r = c.cli({"submit", "-f", file});
  ASSERT_EQ(r.status.code, 0) << r.err;
  EXPECT_EQ(r.out, "266592cd-960d-4091-981c-8c25c44b1018\n");
  ASSERT_TRUE(c.wait_task("266592cd-960d-4091-981c-8c25c44b1018",
                          [](const auto& t) { return state_of(t) == 4; }, 15s))
      << c.logs();
  auto t = c.get("266592cd-960d-4091-981c-8c25c44b1018");
  EXPECT_EQ(t.value("ExitCode", -1), 3) << t.dump();
  // Submitting the same ID again is idempotent: still one task.
  ASSERT_EQ(c.cli({"submit", "-f", file}).status.code, 0);
  EXPECT_EQ(c.list().size(), 1u);
}

TEST(Cluster, MalformedFramesOnEveryPortAreDroppedAndTheBrokerKeepsServing) {
  Cluster c;
  c.start_broker();
  c.start_agent("a1");
  zmq::context_t ctx;
  auto endpoint = [&](int offset) { return "tcp://127.0.0.1:" + std::to_string(c.port() + offset); };

  // Client port: garbage, a wrong major version, a truncated body.
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.connect(endpoint(0));
  std::vector<zmq::message_t> frames;
  frames.emplace_back(std::string("CUBE2"));
  frames.emplace_back(std::string("\x2d"));
  frames.emplace_back(std::string("\x80"));
  ASSERT_TRUE(zmq::send_multipart(req, frames));
  zmq::pollitem_t item{static_cast<void*>(req), 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(5000)), 1) << "no answer to CUBE2";
  std::vector<zmq::message_t> reply;
  ASSERT_TRUE(zmq::recv_multipart(req, std::back_inserter(reply)));
  ASSERT_EQ(reply.size(), 3u);
  auto decoded = protocol::decode_as<protocol::Reply>(reply[2].to_string_view());
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_FALSE(decoded->status.is_ok());
  EXPECT_NE(decoded->status.message().find("CUBE2"), std::string::npos);
  EXPECT_NE(decoded->status.message().find("CUBE1"), std::string::npos);

  // Work port and events port: garbage of several shapes.
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect(endpoint(1));
  zmq::socket_t pub(ctx, zmq::socket_type::pub);
  pub.set(zmq::sockopt::linger, 0);
  pub.connect(endpoint(2));
  for (int i = 0; i < 50; ++i) {
    std::string junk(static_cast<size_t>(i * 7 + 1), static_cast<char>(0xc1 + i));
    dealer.send(zmq::buffer(junk), zmq::send_flags::dontwait);
    std::vector<zmq::message_t> env;
    env.emplace_back(std::string("CUBE1"));
    env.emplace_back(std::string(1, static_cast<char>(i % 64)));
    env.emplace_back(junk);
    zmq::send_multipart(dealer, env, zmq::send_flags::dontwait);
    std::vector<zmq::message_t> ev;
    ev.emplace_back(std::string("CUBE1"));
    ev.emplace_back(std::string(1, static_cast<char>(20 + i % 2)));
    ev.emplace_back(junk);
    zmq::send_multipart(pub, ev, zmq::send_flags::dontwait);
  }

  // The broker still serves clients and agents.
  auto r = c.cli({"status"});
  EXPECT_EQ(r.status.code, 0) << r.err;
  std::string id = c.submit({"--name", "after-garbage", "--driver", "exec", "--", "true"});
  EXPECT_TRUE(c.wait_task(id, [](const auto& t) { return state_of(t) == 3; }, 15s)) << c.logs();
  EXPECT_TRUE(c.broker().running());
}

}  // namespace
}  // namespace cube::test
