// Failover of clients, agents and the gateway between brokers (docs/ha.md), with real processes:
// one etcd member (etcd_cluster.h), three cube-broker processes on the same `--store etcd://...`
// (each in its own Cluster), two exec cube-agents given the list of the three brokers, and
// cube::Clients given the same list.
//
// The issue's target: the leader SIGKILLed during a stream of submits; a standby serves as
// leader within 5 s (TTL 3 s), no acknowledged submit is lost, tasks that were Running stay
// Running with the same attempt and the same process (not restarted, no second process), the
// agents register with the new leader, and the clients' submits resume by themselves.
// Skipped without etcd on PATH, failed under CI=true.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "common/clock.h"
#include "common/ids.h"
#include "tests/integration/cluster.h"
#include "tests/integration/etcd_cluster.h"

namespace cube::test {
namespace {

constexpr int kBrokers = 3;
constexpr Millis kTtl{3000};

Millis since(SteadyTime start) {
  return std::chrono::duration_cast<Millis>(system_clock().now() - start);
}

class FailoverTest : public OneEtcdTest {
 protected:
  // Three brokers on the etcd store, each with its HTTP gateway on a free port.
  void start_brokers() {
    for (auto& b : brokers_) {
      b = std::make_unique<Cluster>();
      std::string ready = (b->dir() / "http.ready").string();
      ASSERT_NO_FATAL_FAILURE(
          b->start_broker({"--store", etcd_.store_spec("/failover"), "--leader-ttl",
                           std::to_string(kTtl.count()) + "ms", "--http", "127.0.0.1:0",
                           "--http-ready-file", ready}));
    }
    for (const auto& b : brokers_)
      list_ += (list_.empty() ? "" : ",") + b->address();
  }

  // The HTTP port of broker i's gateway (written before the broker's own ready file).
  int http_port(int i) const {
    std::ifstream in(brokers_[i]->dir() / "http.ready");
    std::string address;
    std::getline(in, address);
    return address.empty() ? 0 : std::stoi(address.substr(address.rfind(':') + 1));
  }

  // The role broker i reports ("" when it does not answer within a second).
  std::string role_of(int i) {
    if (!brokers_[i])
      return "";
    Client client = client_for(*brokers_[i], Millis(1000), 1);
    auto status = client.status();
    return status.is_ok() ? status->role : "";
  }

  // The broker among `alive` that reports leader, within `timeout`; -1 when none does.
  int wait_for_leader(const std::vector<int>& alive, Millis timeout) {
    int leader = -1;
    eventually(
        [&] {
          for (int i : alive) {
            if (role_of(i) == "leader") {
              leader = i;
              return true;
            }
          }
          return false;
        },
        timeout, Millis(50));
    return leader;
  }

  // A client of the whole set, as `cube-client --broker A,B,C` makes.
  Client list_client() const {
    auto options = client_options_for(list_);
    EXPECT_TRUE(options.is_ok()) << options.status().to_string();
    options->timeout_per_try = Millis(1000);
    return Client(*options);
  }

  // An exec agent given the list of every broker.
  void start_agent(const std::string& name) {
    std::filesystem::path dir = agents_dir_.path() / name;
    agent_dirs_.push_back(dir);
    reaper_.agent_dirs.push_back(dir);
    agents_.emplace(name,
                    Process({binary("cube-agent"), "--broker", list_, "--name", name, "--data-dir",
                             dir.string(), "--driver", "exec", "--log-level", "debug"},
                            (agents_dir_.path() / (name + ".log")).string()));
  }

  // True when the broker behind `client` lists every agent in `names` as ready.
  static bool agents_ready(Client& client, const std::vector<std::string>& names) {
    auto nodes = client.nodes();
    if (!nodes.is_ok())
      return false;
    size_t ready = 0;
    for (const auto& n : *nodes) {
      if (n.state == "ready" && std::find(names.begin(), names.end(), n.name) != names.end())
        ++ready;
    }
    return ready == names.size();
  }

  // Every live exec task process of the agents, by task ID.
  std::multimap<std::string, ExecTaskProcess> task_processes() const {
    std::multimap<std::string, ExecTaskProcess> out;
    for (const auto& dir : agent_dirs_) {
      for (auto& p : exec_task_processes(dir))
        out.emplace(p.task_id, p);
    }
    return out;
  }

  std::string logs() const {
    std::string out = etcd_.logs();
    for (const auto& b : brokers_) {
      if (b)
        out += b->logs();
    }
    for (const auto& [name, agent] : agents_)
      out += "----- agent " + name + "\n" + agent.output();
    return out;
  }

  std::array<std::unique_ptr<Cluster>, kBrokers> brokers_;
  std::string list_;  // "127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3"
  TempDir agents_dir_;
  std::vector<std::filesystem::path> agent_dirs_;
  std::map<std::string, Process> agents_;
  GroupReaper reaper_;  // the agents' sleep tasks outlive them; killed when the test ends
};

TEST_F(FailoverTest, AKilledLeaderIsReplacedWhileAgentsAndClientsFollowAndNoTaskRestarts) {
  ASSERT_NO_FATAL_FAILURE(start_brokers());
  int leader = wait_for_leader({0, 1, 2}, 15s);
  ASSERT_GE(leader, 0) << logs();
  const std::vector<std::string> names = {"agent-1", "agent-2"};
  for (const auto& name : names)
    start_agent(name);
  Client client = list_client();
  ASSERT_TRUE(eventually([&] { return agents_ready(client, names); }, 20s, 100ms))
      << "the agents did not register with the leader\n"
      << logs();

  // Long tasks that must survive the failover untouched: two per agent's worth of slots.
  std::vector<std::string> long_ids;
  for (int i = 0; i < 4; ++i) {
    auto stored = client.submit(exec_task("long-" + std::to_string(i), {"sleep", "600"}));
    ASSERT_TRUE(stored.is_ok()) << stored.status().to_string();
    long_ids.push_back(stored->id);
  }
  std::map<std::string, Task> before;
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& id : long_ids) {
          auto details = client.get(id);
          if (!details.is_ok() || details->task.state != TaskState::Running)
            return false;
          before[id] = details->task;
        }
        return task_processes().size() >= long_ids.size();
      },
      20s, 100ms))
      << logs();
  std::map<std::string, pid_t> pid_before;
  for (const auto& [id, process] : task_processes())
    pid_before[id] = process.pid;

  // A stream of submits, each thread with its own client of the whole list.
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::vector<std::string> failures;
  Millis longest{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  // Stops and joins the stream at the latest when the test returns (an ASSERT included).
  struct StopAndJoin {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    void now() {
      stop = true;
      for (auto& t : threads) {
        if (t.joinable())
          t.join();
      }
    }
    ~StopAndJoin() { now(); }
  } stop_stream{stop, threads};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Client c = list_client();
      for (int n = 0; !stop.load(); ++n) {
        Task task = exec_task("stream-" + std::to_string(t) + "-" + std::to_string(n), {"true"});
        task.id = new_uuid_v7(system_clock().wall());
        SteadyTime sent = system_clock().now();
        auto stored = c.submit(task);
        Millis took = since(sent);
        std::lock_guard lock(mu);
        longest = std::max(longest, took);
        if (stored.is_ok())
          acknowledged.push_back(stored->id);
        else
          failures.push_back(stored.status().to_string());
      }
    });
  }
  auto acknowledged_count = [&] {
    std::lock_guard lock(mu);
    return acknowledged.size();
  };
  ASSERT_TRUE(eventually([&] { return acknowledged_count() >= 100; }, 60s, 5ms)) << logs();

  brokers_[leader]->stop_broker(SIGKILL);
  SteadyTime killed = system_clock().now();
  const size_t at_kill = acknowledged_count();
  std::vector<int> alive;
  for (int i = 0; i < kBrokers; ++i) {
    if (i != leader)
      alive.push_back(i);
  }
  int successor = wait_for_leader(alive, 20s);
  Millis takeover = since(killed);
  ASSERT_GE(successor, 0) << logs();
  const size_t at_takeover = acknowledged_count();

  // The agents register with the new leader by themselves (it lists them ready), while the
  // stream goes on.
  Client to_successor = client_for(*brokers_[successor], Millis(2000), 3);
  EXPECT_TRUE(eventually([&] { return agents_ready(to_successor, names); }, 20s, 20ms)) << logs();
  Millis agents_back = since(killed);

  // The stream goes on by itself: 100 more submits acknowledged after the takeover.
  bool resumed = eventually([&] { return acknowledged_count() >= at_takeover + 100; }, 30s, 5ms);
  Millis resumed_after = since(killed);
  stop_stream.now();
  ASSERT_TRUE(resumed) << "submits did not resume\n" << logs();
  EXPECT_TRUE(failures.empty()) << failures.size()
                                << " submits failed, the first: " << failures.front();

  // The agents registered with the new leader (it lists them ready), and no task restarted.
  for (const auto& [name, agent] : agents_) {
    EXPECT_NE(agent.output().find("registered with broker " + brokers_[successor]->address()),
              std::string::npos)
        << name << " did not register with the new leader\n"
        << agent.output();
  }
  for (const auto& id : long_ids) {
    auto details = to_successor.get(id);
    ASSERT_TRUE(details.is_ok()) << details.status().to_string();
    EXPECT_EQ(details->task.state, TaskState::Running) << id << " " << details->task.reason;
    EXPECT_EQ(details->task.attempt, before[id].attempt) << id;
    EXPECT_EQ(details->task.node_id, before[id].node_id) << id;
  }
  auto processes = task_processes();
  for (const auto& id : long_ids) {
    EXPECT_EQ(processes.count(id), 1u)
        << "task " << id << " has " << processes.count(id) << " processes";
    auto it = processes.find(id);
    if (it != processes.end()) {
      EXPECT_EQ(it->second.pid, pid_before[id]) << "task " << id << " was restarted";
      EXPECT_EQ(it->second.attempt, before[id].attempt);
    }
  }

  // Nothing acknowledged is lost.
  auto listed = check_listed(to_successor, acknowledged);
  ASSERT_TRUE(listed.is_ok()) << listed.status().to_string();
  EXPECT_EQ(listed->missing, 0u);
  std::printf(
      "[failover] leader SIGKILLed after %zu acknowledged submits; a standby served as leader "
      "%lld ms later (TTL %lld ms); the clients' longest submit took %lld ms; 100 more submits "
      "were acknowledged %lld ms after the kill, %zu in all, %zu failed, %zu missing; both agents "
      "listed ready by the new leader %lld ms after the kill; %zu Running tasks "
      "kept their attempt and process\n",
      at_kill, static_cast<long long>(takeover.count()), static_cast<long long>(kTtl.count()),
      static_cast<long long>(longest.count()), static_cast<long long>(resumed_after.count()),
      acknowledged.size(), failures.size(), listed->missing,
      static_cast<long long>(agents_back.count()), long_ids.size());
  // The issue's target: serving within 5 s of the kill with a 3 s TTL.
  EXPECT_LE(takeover, Millis(5000));
}

TEST_F(FailoverTest, AStandbysGatewayProxiesToTheLeaderAndHealthzSaysTheRole) {
  ASSERT_NO_FATAL_FAILURE(start_brokers());
  int leader = wait_for_leader({0, 1, 2}, 15s);
  ASSERT_GE(leader, 0) << logs();
  int standby = (leader + 1) % kBrokers;
  ASSERT_TRUE(eventually([&] { return role_of(standby) == "standby"; }, 10s, 50ms)) << logs();
  httplib::Client to_standby("127.0.0.1", http_port(standby));
  to_standby.set_read_timeout(20, 0);
  httplib::Client to_leader("127.0.0.1", http_port(leader));

  auto health = to_standby.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\nrole: standby\nleader: " + brokers_[leader]->address() + "\n");
  EXPECT_EQ(health->get_header_value("X-Cube-Role"), "standby");
  auto leader_health = to_leader.Get("/healthz");
  ASSERT_TRUE(leader_health);
  EXPECT_EQ(leader_health->status, 200);
  EXPECT_EQ(leader_health->body, "ok\nrole: leader\nleader: " + brokers_[leader]->address() + "\n");
  EXPECT_EQ(leader_health->get_header_value("X-Cube-Role"), "leader");

  // A task POSTed to the standby's gateway is stored by the leader.
  auto posted =
      to_standby.Post("/tasks", R"({"Name": "via-standby", "Driver": "exec", "Cmd": ["true"]})",
                      "application/json");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 201) << posted->body;
  std::string id = nlohmann::json::parse(posted->body).value("ID", "");
  Client leader_client = client_for(*brokers_[leader], Millis(2000), 3);
  auto stored = leader_client.get(id);
  ASSERT_TRUE(stored.is_ok()) << stored.status().to_string();
  EXPECT_EQ(stored->task.name, "via-standby");
  auto fetched = to_standby.Get(("/tasks/" + id).c_str());
  ASSERT_TRUE(fetched);
  EXPECT_EQ(fetched->status, 200);

  // The leader dies: the standby's gateway follows whoever takes over, without a restart.
  brokers_[leader]->stop_broker(SIGKILL);
  SteadyTime killed = system_clock().now();
  auto after = to_standby.Post(
      "/tasks", R"({"Name": "after-kill", "Driver": "exec", "Cmd": ["true"]})", "application/json");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 201) << after->body << "\n" << logs();
  std::printf(
      "[failover] a POST to a standby's gateway sent when the leader was killed was "
      "answered %lld ms later\n",
      static_cast<long long>(since(killed).count()));
  auto health_after = to_standby.Get("/healthz");
  ASSERT_TRUE(health_after);
  EXPECT_EQ(health_after->status, 200);
  EXPECT_NE(health_after->body.find("role: "), std::string::npos) << health_after->body;
}

TEST_F(FailoverTest, CubeClientWithAListNamesEveryBrokerWhenNoneAnswers) {
  ASSERT_NO_FATAL_FAILURE(start_brokers());
  for (auto& b : brokers_)
    b->stop_broker(SIGKILL);
  CommandResult r = run_command({binary("cube-client"), "--broker", list_, "--timeout", "300ms",
                                 "--failover-timeout", "1s", "list"},
                                20s);
  EXPECT_EQ(r.status.code, 3) << r.out << r.err;
  for (const auto& b : brokers_)
    EXPECT_NE(r.err.find(b->address() + ": did not answer"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cube::test
