// Settings: the values of a Cube program's settings, layered from four sources, the first that
// has a setting winning: command-line flags, CUBE_* environment variables, config files, the
// flags' defaults. One piece of code for cube-broker, cube-agent and cube-client
// (docs/configuration.md).
//
//   - Every setting is a long flag. Its config-file key is the flag's name without the dashes
//     ("log-level = debug"), its environment variable CUBE_ and the name upper-cased with '-' as
//     '_' (CUBE_LOG_LEVEL).
//   - Config files are INI, read with Boost.Program_options' parse_config_file: "key = value"
//     lines, '#' starts a comment (anywhere on a line). A switch (a flag without a value) takes
//     true/false, yes/no, on/off or 1/0. A list (a repeatable flag) takes one line per item in a
//     file and comma-separated items in the environment; a list from a higher source replaces
//     a lower one's whole list.
//   - `--config FILE` reads FILE only; without it, the program's default files that exist are
//     read, a key taken from the first file that has it.
//   - An unknown key, a value of the wrong type or a line that is not "key = value" is Invalid,
//     naming the file, the line and the key. Unknown CUBE_* variables are ignored: they may be
//     meant for another Cube program.
//
// Thread-safety: Settings::load reads the environment and files; call it from main().
#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "common/status.h"

namespace cube {

// Adds --config FILE and --print-config to `desc`: the options every program with Settings has.
void add_config_options(boost::program_options::options_description& desc);

// CUBE_LOG_LEVEL for "log-level".
std::string setting_env_name(const std::string& key);

// Where a setting's value came from.
struct SettingOrigin {
  enum class Kind { kUnset, kDefault, kFile, kEnv, kFlag };
  Kind kind = Kind::kUnset;
  std::string where;  // kFile: the path; kEnv: the variable's name
  int line = 0;       // kFile: 1-based line

  // "flag", "env CUBE_SLOTS", "file /etc/cube/agent.conf:7", "default" or "not set".
  std::string describe() const;
};

struct SettingsSpec {
  // The options that env and files may set: every setting of the program, not --help,
  // --version, --config nor --print-config. Must outlive the Settings.
  const boost::program_options::options_description* settings = nullptr;
  // Read when no --config is given, most important first; those that do not exist are skipped.
  std::vector<std::filesystem::path> default_files;
  // The environment; std::getenv when empty. Tests give their own.
  std::function<std::optional<std::string>(const std::string& name)> getenv;
};

class Settings {
 public:
  // Layers `flags` (the command line as parsed against a description holding spec.settings'
  // options and add_config_options', among others) over the environment, the config file
  // (flags' --config, else spec.default_files) and the defaults. Invalid, naming the source (flag,
  // variable, or file, line and key), for a value that does not parse as its option's type, an
  // unknown key, a file that is not INI, or a --config file that cannot be read.
  static Result<Settings> load(const SettingsSpec& spec,
                               const boost::program_options::parsed_options& flags);

  // The layered values: call po::notify on them, then read them as from a command line.
  boost::program_options::variables_map& values() { return values_; }
  const boost::program_options::variables_map& values() const { return values_; }
  // kUnset for a key that has no value and no default (or is not a setting).
  SettingOrigin origin(const std::string& key) const;
  // --print-config was given.
  bool print_requested() const { return print_requested_; }
  // What --print-config prints: every setting in spec.settings' order as "key = value", with
  // where its value came from in a comment; a list one line per item, settings with no value
  // commented out. Fit to paste into a config file.
  void print(std::ostream& out) const;
  // `message`, a usage error about a setting found after load() (it names it "--KEY"), with
  // where that setting's value came from appended when not from the command line: "--slots
  // must be ... (slots from file /etc/cube/agent.conf:7)". Unchanged otherwise.
  std::string annotate(const std::string& message) const;

 private:
  Settings() = default;

  const boost::program_options::options_description* settings_ = nullptr;
  boost::program_options::variables_map values_;
  std::map<std::string, SettingOrigin> origins_;
  bool print_requested_ = false;
};

}  // namespace cube
