// Config files and CUBE_* variables with the real executables (common/config_file.h): a broker
// that takes its port and data dir from --config, a flag and a variable that override the file,
// an agent and a client configured by files only, and a bad file that starts nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "tests/integration/cluster.h"

namespace cube::test {
namespace {

std::string read_first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

class ConfigFileIntegrationTest : public ::testing::Test {
 protected:
  // Writes `text` to DIR/name and returns the path.
  std::string write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // Starts cube-broker with `args` (and `env`) and waits for `ready` to name its address; the
  // address, or "" when the broker exited first (its output is in `out`).
  std::string start_broker(const std::vector<std::string>& args, const std::string& ready,
                           std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {binary("cube-broker")};
    argv.insert(argv.end(), args.begin(), args.end());
    broker_.emplace(argv, (dir_ / ("broker-" + std::to_string(starts_++) + ".log")).string(),
                    std::move(env));
    std::string address;
    eventually(
        [&] {
          address = read_first_line(ready);
          return !address.empty() || !broker_->running();
        },
        15s);
    return address;
  }

  TempDir dir_{"cube-conf"};
  std::optional<Process> broker_;
  int starts_ = 0;
};

// The port comes from the file: a random base, tried again on the rare one that is taken.
TEST_F(ConfigFileIntegrationTest, BrokerTakesItsPortAndDataDirFromTheFile) {
  std::mt19937 random(std::random_device{}());
  std::string ready = (dir_ / "ready").string();
  int port = 0;
  std::string address;
  for (int attempt = 0; attempt < 5 && address.empty(); ++attempt) {
    port = std::uniform_int_distribution<int>(20000, 60000)(random);
    std::string conf = write("broker.conf",
                             "# written by the test\n"
                             "bind = 127.0.0.1:" +
                                 std::to_string(port) +
                                 "\n"
                                 "data-dir = " +
                                 (dir_ / "from-file").string() +
                                 "\n"
                                 "ready-file = " +
                                 ready + "\n");
    address = start_broker({"--config", conf}, ready);
  }
  ASSERT_EQ(address, "127.0.0.1:" + std::to_string(port)) << broker_->output();
  EXPECT_TRUE(std::filesystem::exists(dir_ / "from-file" / "cube.db")) << broker_->output();
  auto status = run_command({binary("cube-client"), "--broker", address, "status"}, 15s);
  EXPECT_EQ(status.status.code, 0) << status.err;
}

TEST_F(ConfigFileIntegrationTest, FlagAndVariableOverrideTheFile) {
  std::string ready = (dir_ / "ready").string();
  std::string conf = write(
      "broker.conf", "bind = 127.0.0.1:0\ndata-dir = " + (dir_ / "from-file").string() + "\n");
  // The variable beats the file.
  std::string address = start_broker({"--config", conf, "--ready-file", ready}, ready,
                                     {"CUBE_DATA_DIR=" + (dir_ / "from-env").string()});
  ASSERT_FALSE(address.empty()) << broker_->output();
  EXPECT_TRUE(std::filesystem::exists(dir_ / "from-env" / "cube.db"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "from-file"));
  broker_->signal(SIGTERM);
  ASSERT_TRUE(broker_->wait(15s).has_value());

  // The flag beats both.
  std::filesystem::remove(ready);
  address = start_broker(
      {"--config", conf, "--ready-file", ready, "--data-dir", (dir_ / "from-flag").string()}, ready,
      {"CUBE_DATA_DIR=" + (dir_ / "from-env-2").string()});
  ASSERT_FALSE(address.empty()) << broker_->output();
  EXPECT_TRUE(std::filesystem::exists(dir_ / "from-flag" / "cube.db"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "from-env-2"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "from-file"));
}

TEST_F(ConfigFileIntegrationTest, PrintConfigNamesEachSourceAndStartsNothing) {
  std::string conf = write("broker.conf", "bind = 127.0.0.1:0\nscheduler = spread\n");
  auto r = run_command({binary("cube-broker"), "--config", conf, "--node-grace", "9s", "--data-dir",
                        (dir_ / "data").string(), "--print-config"},
                       15s, {"CUBE_LOG_LEVEL=warn"});
  ASSERT_EQ(r.status.code, 0) << r.err;
  EXPECT_NE(r.out.find("scheduler = spread"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("# file " + conf + ":2\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("log-level = warn"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("# env CUBE_LOG_LEVEL\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("node-grace = 9s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("# flag\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("# default\n"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data" / "cube.db")) << "nothing may start";
}

TEST_F(ConfigFileIntegrationTest, BadFilesStartNothingAndNameFileLineAndKey) {
  struct Case {
    std::string program;
    std::string text;
    std::string expected;  // after "PATH:"
  };
  const std::vector<Case> cases = {
      {"cube-broker", "bind = 127.0.0.1:0\nnode-gracee = 5s\n", "2: unknown key \"node-gracee\""},
      {"cube-broker", "max-task-cpu = lots\n", "1: key \"max-task-cpu\": "},
      {"cube-broker", "# fine\nbind 127.0.0.1:0\n",
       "2: \"bind 127.0.0.1:0\" is not a \"key = value\" line"},
      {"cube-agent", "slots = four\n", "1: key \"slots\": "},
      {"cube-agent", "\n\ncold-standby = true\n", "3: unknown key \"cold-standby\""},
      {"cube-client", "broker = 127.0.0.1:7100\nimage = nginx\n", "2: unknown key \"image\""},
  };
  for (const auto& c : cases) {
    std::string conf = write("bad.conf", c.text);
    std::vector<std::string> argv = {binary(c.program), "--config", conf, "--data-dir",
                                     (dir_ / "data").string()};
    if (c.program == "cube-client")
      argv = {binary(c.program), "--config", conf, "list"};
    auto r = run_command(argv, 15s);
    EXPECT_EQ(r.status.code, 2) << c.program << " " << c.text << r.out << r.err;
    EXPECT_NE(r.err.find(c.program + ": " + conf + ":" + c.expected), std::string::npos)
        << c.program << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "data")) << c.program << " started";
  }
}

// A value the program refuses (not a type error) names where it came from too.
TEST_F(ConfigFileIntegrationTest, RefusedValueNamesTheFileLine) {
  std::string conf = write("agent.conf", "name = n1\nslots = 0\n");
  auto r = run_command(
      {binary("cube-agent"), "--config", conf, "--data-dir", (dir_ / "data").string()}, 15s);
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_NE(r.err.find("--slots must be between 1 and 100000 (slots from file " + conf + ":2)"),
            std::string::npos)
      << r.err;
  auto env = run_command({binary("cube-agent"), "--data-dir", (dir_ / "data").string()}, 15s,
                         {"CUBE_DRIVER=podman"});
  EXPECT_EQ(env.status.code, 2) << env.err;
  EXPECT_NE(env.err.find("(driver from env CUBE_DRIVER)"), std::string::npos) << env.err;
}

// The files the .deb installs in /etc/cube parse (tests/package/ checks them installed, as root).
TEST_F(ConfigFileIntegrationTest, ThePackagedConfigFilesParse) {
  const std::string etc = std::string(CUBE_SOURCE_DIR) + "/packaging/etc/";
  for (const auto& [program, file] :
       {std::pair{"cube-broker", "broker.conf"}, std::pair{"cube-agent", "agent.conf"},
        std::pair{"cube-client", "client.conf"}}) {
    auto r = run_command({binary(program), "--config", etc + file, "--print-config"}, 15s);
    EXPECT_EQ(r.status.code, 0) << program << ": " << r.err;
  }
  auto broker =
      run_command({binary("cube-broker"), "--config", etc + "broker.conf", "--print-config"}, 15s);
  EXPECT_NE(broker.out.find("data-dir = /var/lib/cube/broker"), std::string::npos) << broker.out;
}

TEST_F(ConfigFileIntegrationTest, AgentAndClientConfiguredByFilesOnly) {
  Cluster c;
  c.start_broker();
  std::string agent_conf =
      write("agent.conf", "broker = " + c.address() +
                              "\nname = from-file\ndriver = sim\n"
                              "data-dir = " +
                              (dir_ / "agent").string() + "\nlabel = zone=a\nlabel = rack=7\n");
  Process agent({binary("cube-agent"), "--config", agent_conf, "--log-level", "debug"},
                (dir_ / "agent.log").string());
  // The client finds the broker through $XDG_CONFIG_HOME/cube/client.conf, its user file.
  std::filesystem::create_directories(dir_ / "xdg" / "cube");
  write("xdg/cube/client.conf", "broker = " + c.address() + "\n");
  std::vector<std::string> client_env = {"XDG_CONFIG_HOME=" + (dir_ / "xdg").string(),
                                         "CUBE_BROKER="};
  nlohmann::json nodes;
  bool listed = eventually(
      [&] {
        auto r = run_command({binary("cube-client"), "nodes", "-o", "json"}, 15s, client_env);
        if (r.status.code != 0)
          return false;
        nodes = nlohmann::json::parse(r.out, nullptr, false);
        return nodes.is_array() && nodes.size() == 1;
      },
      15s);
  ASSERT_TRUE(listed) << nodes.dump() << "\n" << agent.output();
  EXPECT_EQ(nodes[0].value("Name", ""), "from-file") << nodes.dump();
  EXPECT_EQ(nodes[0]["Labels"].value("zone", ""), "a") << nodes.dump();
  EXPECT_EQ(nodes[0]["Labels"].value("rack", ""), "7") << nodes.dump();
}

}  // namespace
}  // namespace cube::test
