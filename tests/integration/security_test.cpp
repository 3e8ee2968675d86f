// Issue 9, security, with real processes: CURVE keys and the ZAP allowlist, agent identity,
// safe defaults, task policy and the per-client rate limit.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

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

  // A client without keys gets no answer (its plaintext handshake fails): exit 3.
  auto plain = c_.cli({"--timeout", "1500ms", "nodes"}, 15s);
  EXPECT_EQ(plain.status.code, 3) << plain.out << plain.err;

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
