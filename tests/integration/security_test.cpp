// Security with real processes: CURVE keys and the ZAP allowlist, agent identity,
// safe defaults, task policy and the per-client rate limit.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include <zmq.hpp>

#include "client/client.h"
#include "common/clock.h"
#include "protocol/codec.h"
#include "protocol/messages.h"
#include "protocol/zmq_io.h"
#include "tests/integration/cluster.h"

namespace cube::test {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `<program> keygen --out DIR --name NAME`; fails the test on error.
void keygen(const std::string& program, const std::filesystem::path& dir, const std::string& name) {
  auto r = run_command({binary(program), "keygen", "--out", dir.string(), "--name", name}, 15s);
  ASSERT_EQ(r.status.code, 0) << r.err;
}

struct Keys {
  std::filesystem::path dir;
  std::string secret(const std::string& name) const { return (dir / (name + ".key")).string(); }
  std::string pub(const std::string& name) const { return (dir / (name + ".pub")).string(); }
};

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_.dir = c_.dir() / "keys";
    keygen("cube-broker", keys_.dir, "broker");
    keygen("cube-agent", keys_.dir, "a1");
    keygen("cube-agent", keys_.dir, "stranger");
    keygen("cube-client", keys_.dir, "alice");
    std::ofstream(c_.dir() / "agents.keys") << "# agents\n" << read_text(keys_.pub("a1"));
    std::ofstream(c_.dir() / "clients.keys") << read_text(keys_.pub("alice"));
  }

  std::vector<std::string> broker_key_args() const {
    return {"--curve-secret",       keys_.secret("broker"),
            "--authorized-agents",  (c_.dir() / "agents.keys").string(),
            "--authorized-clients", (c_.dir() / "clients.keys").string()};
  }
  std::vector<std::string> agent_key_args(const std::string& key) const {
    return {"--curve-secret", keys_.secret(key), "--broker-key", keys_.pub("broker")};
  }
  // cube-client with alice's key.
  CommandResult cli(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 15s) {
    std::vector<std::string> argv = {
        binary("cube-client"), "--broker",     c_.address(),       "--curve-secret",
        keys_.secret("alice"), "--broker-key", keys_.pub("broker")};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, timeout);
  }
  nlohmann::json json_of(const std::vector<std::string>& args) {
    auto r = cli(args);
    if (r.status.code != 0)
      return nlohmann::json();
    return nlohmann::json::parse(r.out, nullptr, false);
  }
  // cube-client with any keys (empty: none).
  CommandResult cli_with(const std::vector<std::string>& key_args,
                         const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = 15s) {
    std::vector<std::string> argv = {binary("cube-client"), "--broker", c_.address()};
    argv.insert(argv.end(), key_args.begin(), key_args.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, timeout);
  }
  uint64_t status_counter(const std::string& name) {
    auto status = json_of({"status", "-o", "json"});
    if (!status.is_object() || !status.contains("Counters"))
      return 0;
    return status["Counters"].value(name, uint64_t{0});
  }
  bool has_node(const std::string& name) {
    auto names = node_names();
    return std::find(names.begin(), names.end(), name) != names.end();
  }
  std::vector<std::string> node_names() {
    std::vector<std::string> names;
    auto nodes = json_of({"nodes", "-o", "json"});
    if (nodes.is_array()) {
      for (const auto& n : nodes)
        names.push_back(n.value("Name", ""));
    }
    return names;
  }

  Cluster c_;
  Keys keys_;
};

TEST_F(SecurityTest, EncryptedClusterRunsTasksAndAdmitsOnlyListedKeys) {
  std::vector<std::string> args = broker_key_args();
  args.insert(args.end(), {"--allow-image", "busybox*"});
  c_.start_broker(args);
  c_.start_agent("a1", agent_key_args("a1"), /*wait_ready=*/false);
  // Not on the list at all.
  c_.start_agent("stranger", agent_key_args("stranger"), false);
  // A listed key presenting another agent's name.
  c_.start_agent("impostor", agent_key_args("a1"), false);

  ASSERT_TRUE(eventually(
      [&] {
        auto names = node_names();
        return std::find(names.begin(), names.end(), "a1") != names.end();
      },
      20s, 200ms))
      << c_.logs();

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = cli({"submit", "--name", "t" + std::to_string(i), "--driver", "exec", "--", "sh", "-c",
                  "echo encrypted"});
    ASSERT_EQ(r.status.code, 0) << r.err << c_.logs();
    std::string id = r.out.substr(0, r.out.find('\n'));
    ids.push_back(id);
  }
  for (const auto& id : ids) {
    ASSERT_TRUE(eventually(
        [&] {
          auto t = json_of({"get", id, "-o", "json"});
          return t.is_object() && t.value("State", -1) == 3;
        },
        30s, 200ms))
        << c_.logs();
  }

  // Wait until the stranger was refused by ZAP and the impostor's HELLO by the broker; then
  // neither is a node.
  EXPECT_TRUE(eventually(
      [&] {
        std::string log = c_.logs();
        return log.find("is not in the authorized agents") != std::string::npos &&
               log.find("cannot say HELLO as \"impostor\"") != std::string::npos;
      },
      20s, 200ms))
      << c_.logs();
  EXPECT_EQ(node_names(), std::vector<std::string>{"a1"});

  // A client without keys is refused at the handshake: exit 4, naming the cause.
  // A generous timeout: the refusal is reported as soon as the handshake fails; under load (CI on
  // 2 cores) the handshake alone can take over a second, and running out first would exit 3.
  auto plain = c_.cli({"--timeout", "5s", "nodes"}, 30s);
  EXPECT_EQ(plain.status.code, 4) << plain.out << plain.err;
  EXPECT_NE(plain.err.find("requires CURVE encryption"), std::string::npos) << plain.err;

  // Task policy: refused at submit, naming the rule.
  auto refused = cli({"submit", "--name", "web", "--image", "nginx:1.25"});
  EXPECT_EQ(refused.status.code, 1);
  EXPECT_NE(refused.err.find("task refused by policy: image \"nginx:1.25\" does not match "
                             "--allow-image \"busybox*\""),
            std::string::npos)
      << refused.err;
}

TEST_F(SecurityTest, BrokerRefusesIncompleteKeysAndNonLoopbackBindWithoutThem) {
  auto no_keys =
      run_command({binary("cube-broker"), "--bind", "192.0.2.1:7100", "--store", "memory"}, 15s);
  EXPECT_EQ(no_keys.status.code, 2);
  EXPECT_NE(no_keys.err.find("cube-broker keygen --out DIR"), std::string::npos) << no_keys.err;

  auto partial = run_command({binary("cube-broker"), "--bind", "127.0.0.1:0", "--store", "memory",
                              "--curve-secret", keys_.secret("broker")},
                             15s);
  EXPECT_EQ(partial.status.code, 2);
  EXPECT_NE(partial.err.find("--authorized-agents"), std::string::npos) << partial.err;

  auto agent = run_command({binary("cube-agent"), "--curve-secret", keys_.secret("a1")}, 15s);
  EXPECT_EQ(agent.status.code, 2);
  EXPECT_NE(agent.err.find("CUBE_BROKER_KEY"), std::string::npos) << agent.err;
}

TEST_F(SecurityTest, ClientsWithoutAListedKeyAreRefusedWithTheCauseAndExitCode4) {
  keygen("cube-client", keys_.dir, "mallory");
  c_.start_broker(broker_key_args());
  std::vector<std::string> broker_key = {"--broker-key", keys_.pub("broker")};

  // No key at all: refused at the handshake (CURVE on one side only), at once, not after the
  // 10 s timeout, with how to get a key.
  auto plain = cli_with({}, {"--timeout", "10s", "nodes"});
  EXPECT_EQ(plain.status.code, 4) << plain.err;
  EXPECT_NE(plain.err.find("requires CURVE encryption and this client has no key"),
            std::string::npos)
      << plain.err;
  EXPECT_NE(plain.err.find("cube-client keygen --out DIR"), std::string::npos) << plain.err;
  EXPECT_LT(plain.elapsed, 5s);

  // A key that is not on --authorized-clients, and an agent's key used as a client's: ZAP 400.
  for (std::string key : {"mallory", "a1"}) {
    std::vector<std::string> key_args = {"--curve-secret", keys_.secret(key)};
    key_args.insert(key_args.end(), broker_key.begin(), broker_key.end());
    auto refused = cli_with(key_args, {"--timeout", "10s", "nodes"});
    EXPECT_EQ(refused.status.code, 4) << key << ": " << refused.err;
    EXPECT_NE(refused.err.find("refused this client's key (ZAP status 400): its public key is "
                               "not in the broker's --authorized-clients"),
              std::string::npos)
        << refused.err;
    EXPECT_LT(refused.elapsed, 5s) << key;
  }

  // The wrong broker key: the broker cannot decrypt the HELLO and hangs up.
  auto wrong = cli_with({"--curve-secret", keys_.secret("alice"), "--broker-key", keys_.pub("a1")},
                        {"--timeout", "1500ms", "nodes"});
  EXPECT_EQ(wrong.status.code, 4) << wrong.err;
  EXPECT_NE(wrong.err.find("check that --broker-key"), std::string::npos) << wrong.err;

  // The listed client still gets in, and the refusals are counted and shown.
  auto status = cli({"status"});
  ASSERT_EQ(status.status.code, 0) << status.err;
  EXPECT_NE(status.out.find("Refused keys"), std::string::npos) << status.out;
  EXPECT_GE(status_counter("zap.refused.clients"), 2u);
  EXPECT_EQ(status_counter("zap.refused.agents"), 0u);
}

TEST_F(SecurityTest, SighupReloadsTheAuthorizedKeys) {
  keygen("cube-agent", keys_.dir, "a2");
  c_.start_broker(broker_key_args());
  c_.start_agent("a1", agent_key_args("a1"), /*wait_ready=*/false);
  c_.start_agent("a2", agent_key_args("a2"), false);
  ASSERT_TRUE(eventually([&] { return has_node("a1"); }, 20s, 200ms)) << c_.logs();
  ASSERT_TRUE(eventually([&] { return status_counter("zap.refused.agents") > 0; }, 20s, 200ms))
      << c_.logs();
  EXPECT_FALSE(has_node("a2"));

  // a2 added, SIGHUP: a2's next connection attempt is admitted.
  std::filesystem::path agents = c_.dir() / "agents.keys";
  std::ofstream(agents, std::ios::app) << read_text(keys_.pub("a2"));
  c_.broker().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return has_node("a2"); }, 40s, 200ms)) << c_.logs();
  EXPECT_EQ(status_counter("zap.reloads"), 1u);

  // A file that does not parse: the lists in use stay, the error is logged and counted.
  std::ofstream(agents, std::ios::trunc) << "not-a-key a3\n";
  c_.broker().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return status_counter("zap.reload_failed") == 1; }, 20s, 200ms))
      << c_.logs();
  EXPECT_NE(c_.broker().output().find("not reloading the authorized keys, keeping the current "
                                      "lists: --authorized-agents"),
            std::string::npos)
      << c_.logs();
  EXPECT_TRUE(c_.broker().running());

  // a1 removed, SIGHUP: a1's connections from now on are refused (a restarted a1 never gets in).
  std::ofstream(agents, std::ios::trunc) << read_text(keys_.pub("a2"));
  c_.broker().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return status_counter("zap.reloads") == 2; }, 20s, 200ms))
      << c_.logs();
  uint64_t refused_before = status_counter("zap.refused.agents");
  c_.start_agent("a1", agent_key_args("a1"), false);  // kills the old a1 and starts a new one
  std::string a1_key = read_text(keys_.pub("a1")).substr(0, 40);
  ASSERT_TRUE(eventually(
      [&] {
        return c_.broker().output().find("key " + a1_key + " is not in the authorized agents") !=
               std::string::npos;
      },
      20s, 200ms))
      << c_.logs();
  EXPECT_GT(status_counter("zap.refused.agents"), refused_before);
}

// Reads a "VmRSS:" or "VmHWM:" line of /proc/PID/status, in bytes; 0 when absent.
int64_t proc_status_bytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(field + ":"))
      return std::stoll(line.substr(field.size() + 1)) * 1024;  // "  12345 kB"
  }
  return 0;
}

struct FloodCounts {
  int ok = 0;
  int unavailable = 0;
  int other = 0;
  int unanswered = 0;
};

// One flooding client: a DEALER that sends `count` SUBMITs of new tasks (each carrying `pad`
// bytes of environment) as fast as the socket takes them, without waiting for answers, and
// reads the answers as they come. Stops when every answer came, when everything was sent and
// nothing arrived for 3 s (a ROUTER drops answers to a peer that does not read fast enough:
// memory stays bounded there too), or at `deadline` (on the system clock).
FloodCounts flood_submits(const std::string& endpoint, int count, const std::string& prefix,
                          size_t pad, SteadyTime deadline) {
  FloodCounts counts;
  zmq::context_t context(1);
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  protocol::apply_socket_defaults(dealer, protocol::kMaxReplyBytes);
  dealer.connect(endpoint);
  std::vector<zmq::message_t> delimiter;
  delimiter.emplace_back();  // the empty frame a REQ socket would add
  int sent = 0;
  int answered = 0;
  SteadyTime last_answer = system_clock().now();
  while (answered < count && system_clock().now() < deadline) {
    if (sent == count && system_clock().now() - last_answer > std::chrono::seconds(3))
      break;
    zmq::pollitem_t item{dealer.handle(), 0,
                         static_cast<short>(ZMQ_POLLIN | (sent < count ? ZMQ_POLLOUT : 0)), 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
    while (sent < count && (item.revents & ZMQ_POLLOUT)) {
      protocol::SubmitRequest submit;
      submit.request_id = static_cast<uint64_t>(sent) + 1;
      submit.task.name = prefix + std::to_string(sent);
      submit.task.driver = "exec";
      submit.task.cmd = {"true"};
      submit.task.env = {"PAD=" + std::string(pad, 'x')};
      if (!protocol::send(dealer, delimiter, submit).is_ok())
        break;  // the socket's queue is full (HWM): read answers first
      ++sent;
    }
    Status envelope_error;
    while (auto received = protocol::receive(dealer, 1, &envelope_error)) {
      ++answered;
      last_answer = system_clock().now();
      auto reply = protocol::decode_as<protocol::Reply>(received->body);
      if (!reply.is_ok() || !envelope_error.is_ok())
        ++counts.other;
      else if (reply->status.is_ok())
        ++counts.ok;
      else if (reply->status.is_unavailable())
        ++counts.unavailable;
      else
        ++counts.other;
    }
  }
  counts.unanswered = count - answered;
  return counts;
}

// Several clients flood one broker with SUBMITs while no agent can take them, so every accepted
// task stays Pending. The broker must answer the excess with `unavailable` (--max-pending) and
// its memory must stay bounded by the configured bound, not by the flood.
//
// The bound: a stored task with 1 KiB of Env costs the broker about 5 KiB (the task, its
// history, queue entry and metrics; measured: the same flood without --max-pending grows RSS by
// ~100 MiB per 20,000 SUBMITs). 500 pending tasks are then ~2.5 MiB, and ZeroMQ holds at most
// its high-water mark of 1,000 messages per connection each way (4 clients x ~1.3 KiB x 2,000
// = ~10 MiB, plus socket buffers); measured peak growth is ~16 MiB. 32 MiB leaves room for
// allocator slack while an unbounded queue would exceed it three times over in the first flood.
TEST(Security, SubmitFloodFromSeveralClientsIsRefusedAndMemoryStaysBounded) {
  constexpr int kClients = 4;
  constexpr int kPerClient = 5000;
  constexpr size_t kMaxPending = 500;
  constexpr size_t kPad = 1024;
  constexpr int64_t kBoundBytes = 32ll << 20;

  Cluster c;
  c.start_broker({"--store", "memory", "--max-pending", std::to_string(kMaxPending)});
  pid_t broker = c.broker().pid();
  auto endpoint = broker_endpoint(c.address());
  ASSERT_TRUE(endpoint.is_ok());
  // One small round first so the baseline includes the loop's steady state.
  ASSERT_EQ(c.cli({"submit", "--name", "warmup", "--driver", "exec", "--", "true"}).status.code, 0);
  int64_t rss_before = proc_status_bytes(broker, "VmRSS");
  ASSERT_GT(rss_before, 0);

  auto run_flood = [&](const std::string& round) {
    std::vector<FloodCounts> results(kClients);
    std::vector<std::thread> clients;
    SteadyTime deadline = system_clock().now() + std::chrono::seconds(120);
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        results[i] =
            flood_submits(*endpoint, kPerClient, round + std::to_string(i) + "-", kPad, deadline);
      });
    }
    for (auto& t : clients)
      t.join();
    FloodCounts total;
    for (const auto& r : results) {
      total.ok += r.ok;
      total.unavailable += r.unavailable;
      total.other += r.other;
      total.unanswered += r.unanswered;
    }
    return total;
  };

  constexpr int kTotal = kClients * kPerClient;
  FloodCounts first = run_flood("a");
  // Only the room left under --max-pending was accepted (the warm-up task holds one place);
  // the rest was told to retry later. (An answer the ROUTER dropped is counted unanswered.)
  EXPECT_LE(first.ok, static_cast<int>(kMaxPending) - 1);
  EXPECT_GE(first.unavailable, kTotal - static_cast<int>(kMaxPending) - first.unanswered);
  EXPECT_EQ(first.other, 0);
  int64_t after_first = proc_status_bytes(broker, "VmRSS");

  // A second flood finds the queue full: everything refused, and memory does not keep growing.
  FloodCounts second = run_flood("b");
  EXPECT_EQ(second.ok, 0);
  EXPECT_EQ(second.other, 0);
  EXPECT_GT(second.unavailable, 0);
  int64_t after_second = proc_status_bytes(broker, "VmRSS");
  std::cerr << "flood answers: ok " << first.ok << "+" << second.ok << ", unavailable "
            << first.unavailable << "+" << second.unavailable << ", unanswered " << first.unanswered
            << "+" << second.unanswered << "\n";
  int64_t peak = proc_status_bytes(broker, "VmHWM");

  EXPECT_LT(peak - rss_before, kBoundBytes)
      << "RSS before " << rss_before << ", after the floods " << after_first << " / "
      << after_second << ", peak " << peak;
  // Refused submits cost nothing that stays: the second flood leaves RSS within 8 MiB of the
  // first (ZeroMQ buffers and allocator caches, not tasks).
  EXPECT_LT(after_second - after_first, 8ll << 20)
      << "after the first flood " << after_first << ", after the second " << after_second;
  std::cerr << "broker RSS: before " << (rss_before >> 10) << " KiB, after flood 1 "
            << (after_first >> 10) << " KiB, after flood 2 " << (after_second >> 10)
            << " KiB, peak " << (peak >> 10) << " KiB\n";

  // Still serving: the refusals are counted and a read works.
  auto status = c.cli({"status", "-o", "json"});
  ASSERT_EQ(status.status.code, 0) << status.err;
  auto json = nlohmann::json::parse(status.out);
  // Every SUBMIT reached the broker (a DEALER never drops what it sends) and each one beyond
  // the bound was refused.
  EXPECT_EQ(json["Counters"].value("client.submit_queue_full", 0),
            2 * kTotal - (static_cast<int>(kMaxPending) - 1));
  EXPECT_EQ(json["Tasks"].value("Pending", 0), static_cast<int>(kMaxPending)) << status.out;
}

TEST(Security, SubmitFloodIsRateLimitedPerClient) {
  Cluster c;
  c.start_broker({"--store", "memory", "--client-rate", "1/m", "--client-burst", "2"});
  EXPECT_EQ(c.cli({"submit", "--name", "a", "--driver", "exec", "--", "true"}).status.code, 0);
  EXPECT_EQ(c.cli({"submit", "--name", "b", "--driver", "exec", "--", "true"}).status.code, 0);
  auto third = c.cli({"submit", "--name", "c", "--driver", "exec", "--", "true"});
  EXPECT_EQ(third.status.code, 1);
  EXPECT_NE(third.err.find("rate limit: retry later"), std::string::npos) << third.err;
  // Reads are not limited.
  EXPECT_EQ(c.cli({"list"}).status.code, 0);
}

}  // namespace
}  // namespace cube::test
