// common/config_file.h: flags over CUBE_* environment over config files over defaults, and
// every error naming its source (file, line and key; variable; flag).
#include "common/config_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace cube {
namespace {

namespace po = boost::program_options;
using Kind = SettingOrigin::Kind;

// A program with one setting of each shape: a value with a default, one without, an integer, a
// list, a plain switch and a bool_switch.
class ConfigFileTest : public ::testing::Test {
 protected:
  ConfigFileTest() {
    settings_.add_options()("log-level", po::value<std::string>()->default_value("info"), "")(
        "name", po::value<std::string>(), "")("port", po::value<int>()->default_value(7100), "")(
        "label", po::value<std::vector<std::string>>()->composing(), "")("insecure", "")(
        "cold-standby", po::bool_switch(), "");
    all_.add_options()("help", "");
    add_config_options(all_);
    all_.add(settings_);
  }

  // Writes a config file under the test's temp dir and returns its path.
  std::string write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  Result<Settings> load(std::vector<std::string> args,
                        std::vector<std::string> default_files = {}) {
    args.insert(args.begin(), "prog");
    std::vector<const char*> argv;
    for (const auto& a : args)
      argv.push_back(a.c_str());
    auto flags =
        po::command_line_parser(static_cast<int>(argv.size()), argv.data()).options(all_).run();
    SettingsSpec spec;
    spec.settings = &settings_;
    for (const auto& f : default_files)
      spec.default_files.push_back(f);
    spec.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end())
        return std::nullopt;
      return it->second;
    };
    return Settings::load(spec, flags);
  }

  po::options_description settings_;
  po::options_description all_;
  std::map<std::string, std::string> env_;
  test::TempDir dir_{"cube-config"};
};

TEST_F(ConfigFileTest, EnvironmentVariableNames) {
  EXPECT_EQ(setting_env_name("log-level"), "CUBE_LOG_LEVEL");
  EXPECT_EQ(setting_env_name("broker"), "CUBE_BROKER");
  EXPECT_EQ(setting_env_name("broker-key"), "CUBE_BROKER_KEY");
}

TEST_F(ConfigFileTest, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  std::string path = write("a.conf",
                           "# a comment\n"
                           "name = from-file\n"
                           "log-level = debug   # trailing comment\n"
                           "port = 9000\n");
  env_["CUBE_NAME"] = "from-env";
  env_["CUBE_LOG_LEVEL"] = "warn";
  auto s = load({"--config", path, "--name", "from-flag"});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  po::notify(s->values());
  EXPECT_EQ(s->values()["name"].as<std::string>(), "from-flag");
  EXPECT_EQ(s->origin("name").kind, Kind::kFlag);
  EXPECT_EQ(s->values()["log-level"].as<std::string>(), "warn");
  EXPECT_EQ(s->origin("log-level").describe(), "env CUBE_LOG_LEVEL");
  EXPECT_EQ(s->values()["port"].as<int>(), 9000);
  EXPECT_EQ(s->origin("port").describe(), "file " + path + ":4");
  EXPECT_FALSE(s->print_requested());
}

TEST_F(ConfigFileTest, DefaultsWhenNothingSetsAValue) {
  auto s = load({});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->values()["port"].as<int>(), 7100);
  EXPECT_EQ(s->origin("port").describe(), "default");
  EXPECT_EQ(s->values().count("name"), 0u);
  EXPECT_EQ(s->origin("name").describe(), "not set");
  EXPECT_EQ(s->values().count("insecure"), 0u);
  EXPECT_EQ(s->origin("insecure").describe(), "default");
}

TEST_F(ConfigFileTest, DefaultFilesFirstOneWinsPerKeyMissingOnesSkipped) {
  std::string user = write("user.conf", "name = user\n");
  std::string system = write("system.conf", "name = system\nport = 8000\n");
  auto s = load({}, {(dir_ / "missing.conf").string(), user, system});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->values()["name"].as<std::string>(), "user");
  EXPECT_EQ(s->origin("name").describe(), "file " + user + ":1");
  EXPECT_EQ(s->values()["port"].as<int>(), 8000);
  EXPECT_EQ(s->origin("port").describe(), "file " + system + ":2");
}

TEST_F(ConfigFileTest, ExplicitConfigReplacesTheDefaultFiles) {
  std::string defaults = write("default.conf", "port = 8000\nname = default\n");
  std::string mine = write("mine.conf", "name = mine\n");
  auto s = load({"--config", mine}, {defaults});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->values()["name"].as<std::string>(), "mine");
  EXPECT_EQ(s->values()["port"].as<int>(), 7100);  // not from default.conf
}

TEST_F(ConfigFileTest, AListFromAHigherSourceReplacesTheLowerOnesList) {
  std::string path = write("a.conf", "label = zone=a\nlabel = rack=3\n");
  auto from_file = load({"--config", path});
  ASSERT_TRUE(from_file.is_ok()) << from_file.status().to_string();
  EXPECT_EQ(from_file->values()["label"].as<std::vector<std::string>>(),
            (std::vector<std::string>{"zone=a", "rack=3"}));
  EXPECT_EQ(from_file->origin("label").describe(), "file " + path + ":1");

  env_["CUBE_LABEL"] = "zone=b, gpu=yes";
  auto from_env = load({"--config", path});
  ASSERT_TRUE(from_env.is_ok()) << from_env.status().to_string();
  EXPECT_EQ(from_env->values()["label"].as<std::vector<std::string>>(),
            (std::vector<std::string>{"zone=b", "gpu=yes"}));

  auto from_flag = load({"--config", path, "--label", "zone=c"});
  ASSERT_TRUE(from_flag.is_ok()) << from_flag.status().to_string();
  EXPECT_EQ(from_flag->values()["label"].as<std::vector<std::string>>(),
            (std::vector<std::string>{"zone=c"}));
}

TEST_F(ConfigFileTest, SwitchesTakeBooleansAndFalseFromAHigherSourceWins) {
  std::string path = write("a.conf", "insecure = yes\ncold-standby = true\n");
  auto on = load({"--config", path});
  ASSERT_TRUE(on.is_ok()) << on.status().to_string();
  EXPECT_EQ(on->values().count("insecure"), 1u);
  EXPECT_TRUE(on->values()["cold-standby"].as<bool>());

  env_["CUBE_INSECURE"] = "false";
  env_["CUBE_COLD_STANDBY"] = "off";
  auto off = load({"--config", path});
  ASSERT_TRUE(off.is_ok()) << off.status().to_string();
  EXPECT_EQ(off->values().count("insecure"), 0u) << "env false must beat the file's true";
  EXPECT_FALSE(off->values()["cold-standby"].as<bool>());
  EXPECT_EQ(off->origin("insecure").describe(), "env CUBE_INSECURE");
}

TEST_F(ConfigFileTest, UnknownKeyNamesFileLineAndKey) {
  std::string path = write("a.conf", "name = x\n\nprot = 9000\n");
  auto s = load({"--config", path});
  ASSERT_FALSE(s.is_ok());
  EXPECT_TRUE(s.status().is_invalid());
  EXPECT_NE(s.status().message().find(path + ":3: unknown key \"prot\""), std::string::npos)
      << s.status().message();
}

TEST_F(ConfigFileTest, KeysInASectionAreUnknownWithTheirSectionName) {
  std::string path = write("a.conf", "[broker]\nport = 9000\n");
  auto s = load({"--config", path});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find(path + ":2: unknown key \"broker.port\""), std::string::npos)
      << s.status().message();
}

TEST_F(ConfigFileTest, OptionsThatAreNotSettingsAreUnknownKeys) {
  std::string path = write("a.conf", "config = /etc/other.conf\n");
  auto s = load({"--config", path});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find(path + ":1: unknown key \"config\""), std::string::npos)
      << s.status().message();
}

TEST_F(ConfigFileTest, BadValueNamesFileLineAndKey) {
  std::string path = write("a.conf", "name = x\nport = abc\n");
  auto s = load({"--config", path});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find(path + ":2: key \"port\": "), std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().message().find("abc"), std::string::npos) << s.status().message();
}

TEST_F(ConfigFileTest, BadValueIsAnErrorEvenWhenAFlagOverridesIt) {
  std::string path = write("a.conf", "port = abc\n");
  auto s = load({"--config", path, "--port", "1"});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find(path + ":1: key \"port\""), std::string::npos)
      << s.status().message();
}

TEST_F(ConfigFileTest, BadSwitchValueNamesFileLineAndKey) {
  std::string path = write("a.conf", "insecure = maybe\n");
  auto s = load({"--config", path});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(
      s.status().message().find(path + ":1: key \"insecure\": \"maybe\" is not true or false"),
      std::string::npos)
      << s.status().message();
}

TEST_F(ConfigFileTest, LineThatIsNotKeyEqualsValueIsNamed) {
  std::string path = write("a.conf", "name = x\nport 9000\n");
  auto s = load({"--config", path});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find(path + ":2: \"port 9000\" is not a \"key = value\" line"),
            std::string::npos)
      << s.status().message();
}

TEST_F(ConfigFileTest, KeySetTwiceNamesBothLines) {
  std::string path = write("a.conf", "port = 1\nname = x\nport = 2\n");
  auto s = load({"--config", path});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find(path + ":3: key \"port\" is set again (first on line 1)"),
            std::string::npos)
      << s.status().message();
}

TEST_F(ConfigFileTest, MissingExplicitConfigFileIsAnError) {
  std::string path = (dir_ / "nope.conf").string();
  auto s = load({"--config", path});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("cannot read config file " + path), std::string::npos)
      << s.status().message();
}

TEST_F(ConfigFileTest, BadEnvironmentValueNamesTheVariable) {
  env_["CUBE_PORT"] = "many";
  auto s = load({});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("env CUBE_PORT: "), std::string::npos)
      << s.status().message();
}

TEST_F(ConfigFileTest, UnknownAndEmptyEnvironmentVariablesAreIgnored) {
  env_["CUBE_SOMETHING_ELSE"] = "1";
  env_["CUBE_NAME"] = "";
  auto s = load({});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->values().count("name"), 0u);
}

TEST_F(ConfigFileTest, BadFlagKeepsProgramOptionsMessage) {
  auto s = load({"--port", "abc"});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("port"), std::string::npos) << s.status().message();
  EXPECT_EQ(s.status().message().find("env"), std::string::npos) << s.status().message();
}

TEST_F(ConfigFileTest, PrintShowsEveryValueAndWhereItCameFrom) {
  std::string path = write("a.conf", "port = 9000\nlabel = a=1\nlabel = b=2\n");
  env_["CUBE_LOG_LEVEL"] = "debug";
  auto s = load({"--config", path, "--insecure", "--print-config"});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_TRUE(s->print_requested());
  std::ostringstream out;
  s->print(out);
  std::string text = out.str();
  auto has_line = [&](const std::string& setting, const std::string& origin) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with(setting + " ") && line.ends_with("# " + origin))
        return true;
    }
    return false;
  };
  EXPECT_TRUE(has_line("log-level = debug", "env CUBE_LOG_LEVEL")) << text;
  EXPECT_TRUE(has_line("port = 9000", "file " + path + ":1")) << text;
  EXPECT_TRUE(has_line("label = a=1", "file " + path + ":2")) << text;
  EXPECT_TRUE(has_line("label = b=2", "file " + path + ":2")) << text;
  EXPECT_TRUE(has_line("insecure = true", "flag")) << text;
  EXPECT_TRUE(has_line("cold-standby = false", "default")) << text;
  EXPECT_TRUE(has_line("# name =", "not set")) << text;
  EXPECT_EQ(text.find("print-config"), std::string::npos) << "not a setting:\n" << text;
}

TEST_F(ConfigFileTest, AnnotateAddsWhereASettingCameFrom) {
  std::string path = write("a.conf", "port = 0\n");
  env_["CUBE_NAME"] = "x";
  auto s = load({"--config", path, "--log-level", "bad"});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->annotate("--port must be more than 0"),
            "--port must be more than 0 (port from file " + path + ":1)");
  EXPECT_EQ(s->annotate("--name: bad"), "--name: bad (name from env CUBE_NAME)");
  EXPECT_EQ(s->annotate("--log-level: bad"), "--log-level: bad");
  EXPECT_EQ(s->annotate("no flag named"), "no flag named");
}

}  // namespace
}  // namespace cube
