#include "common/config_file.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>

namespace po = boost::program_options;

namespace cube {
namespace {

// A "key = value" line of a config file, as parse_config_file reads it: the same comment,
// section and trimming rules, so its N-th entry is the N-th option the parser returns.
struct FileEntry {
  int line = 0;
  std::string key;
};

std::string trim(const std::string& s) {
  auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos)
    return "";
  auto end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

// The entries of `text`, or Invalid naming the first line that is not "key = value", "[section]",
// a comment or blank (parse_config_file would throw without saying which line).
Result<std::vector<FileEntry>> scan_entries(const std::string& path, const std::string& text) {
  std::vector<FileEntry> entries;
  std::istringstream in(text);
  std::string raw;
  std::string prefix;
  for (int line = 1; std::getline(in, raw); ++line) {
    std::string s = raw.substr(0, raw.find('#'));
    s = trim(s);
    if (s.empty())
      continue;
    if (s.front() == '[' && s.back() == ']') {
      prefix = s.substr(1, s.size() - 2);
      if (!prefix.empty() && prefix.back() != '.')
        prefix += '.';
      continue;
    }
    auto eq = s.find('=');
    if (eq == std::string::npos) {
      return Status::invalid(path + ":" + std::to_string(line) + ": \"" + s +
                             "\" is not a \"key = value\" line");
    }
    std::string key = trim(s.substr(0, eq));
    if (key.empty())
      return Status::invalid(path + ":" + std::to_string(line) + ": no key before '='");
    entries.push_back({line, prefix + key});
  }
  return entries;
}

bool is_switch(const po::option_description& d) {
  return d.semantic()->max_tokens() == 0;
}

bool is_list(const po::option_description& d) {
  return d.semantic()->is_composing() || d.semantic()->max_tokens() > 1;
}

// A switch's value in a file or the environment.
std::optional<bool> parse_bool(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (text == "true" || text == "yes" || text == "on" || text == "1")
    return true;
  if (text == "false" || text == "no" || text == "off" || text == "0")
    return false;
  return std::nullopt;
}

// What one text value of `d` from a file or the environment becomes on the command line: a
// switch that is true is the bare flag, one that is false is no flag at all.
Result<std::optional<po::option>> to_option(const po::option_description& d,
                                            const std::string& value) {
  const std::string& key = d.long_name();
  if (is_switch(d)) {
    auto on = parse_bool(value);
    if (!on)
      return Status::invalid("\"" + value +
                             "\" is not true or false (a switch: true, false, yes, "
                             "no, on, off, 1 or 0)");
    if (!*on)
      return std::optional<po::option>();
    return std::optional<po::option>(po::option(key, {}));
  }
  return std::optional<po::option>(po::option(key, {value}));
}

// Stores `options` in a throw-away map: the type check of their values, done per source so that
// an error can say where the value came from. Returns po's message on failure.
std::optional<std::string> type_error(const po::options_description& desc,
                                      const std::vector<po::option>& options) {
  po::parsed_options parsed(&desc);
  parsed.options = options;
  po::variables_map scratch;
  try {
    po::store(parsed, scratch);
  } catch (const po::error& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

std::optional<std::string> system_getenv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr)
    return std::nullopt;
  return std::string(value);
}

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::invalid("cannot read config file " + path.string() + ": " +
                           std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad() || std::filesystem::is_directory(path))
    return Status::invalid("cannot read config file " + path.string() + ": not a regular file");
  return text.str();
}

// The values a setting holds, as text, whatever the type its flag declared.
std::vector<std::string> value_texts(const boost::any& value) {
  auto text = [](const auto& v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  if (const auto* s = boost::any_cast<std::string>(&value))
    return {*s};
  if (const auto* list = boost::any_cast<std::vector<std::string>>(&value))
    return *list;
  if (const auto* b = boost::any_cast<bool>(&value))
    return {*b ? "true" : "false"};
  if (const auto* i = boost::any_cast<int>(&value))
    return {text(*i)};
  if (const auto* l = boost::any_cast<long>(&value))
    return {text(*l)};
  if (const auto* ll = boost::any_cast<long long>(&value))
    return {text(*ll)};
  if (const auto* u = boost::any_cast<unsigned>(&value))
    return {text(*u)};
  if (const auto* ul = boost::any_cast<unsigned long>(&value))
    return {text(*ul)};
  if (const auto* d = boost::any_cast<double>(&value))
    return {text(*d)};
  return {"(a value of an unprintable type)"};
}

// Everything one source (the environment or a file) sets, before the layering.
struct SourceValues {
  std::vector<po::option> options;
  std::map<std::string, SettingOrigin> origins;  // every key it sets, a false switch included
};

Result<SourceValues> read_environment(const SettingsSpec& spec) {
  auto getenv = spec.getenv ? spec.getenv : system_getenv;
  SourceValues out;
  for (const auto& d : spec.settings->options()) {
    const std::string& key = d->long_name();
    std::string name = setting_env_name(key);
    auto value = getenv(name);
    // Empty is unset, as CUBE_BROKER= always was.
    if (!value || value->empty())
      continue;
    std::vector<std::string> items;
    if (is_list(*d)) {
      std::istringstream in(*value);
      for (std::string item; std::getline(in, item, ',');) {
        if (!trim(item).empty())
          items.push_back(trim(item));
      }
    } else {
      items.push_back(*value);
    }
    std::vector<po::option> options;
    for (const auto& item : items) {
      auto option = to_option(*d, item);
      if (!option)
        return Status::invalid("env " + name + ": " + option.status().message());
      if (*option)
        options.push_back(**option);
    }
    if (auto error = type_error(*spec.settings, options))
      return Status::invalid("env " + name + ": " + *error);
    out.options.insert(out.options.end(), options.begin(), options.end());
    out.origins[key] = {SettingOrigin::Kind::kEnv, name, 0};
  }
  return out;
}

Result<SourceValues> read_config_file(const SettingsSpec& spec, const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text)
    return text.status();
  const std::string file = path.string();
  auto entries = scan_entries(file, *text);
  if (!entries)
    return entries.status();
  po::parsed_options parsed(spec.settings);
  try {
    std::istringstream in(*text);
    parsed = po::parse_config_file(in, *spec.settings, /*allow_unregistered=*/true);
  } catch (const po::error& e) {
    return Status::invalid(file + ": " + e.what());
  }
  if (parsed.options.size() != entries->size()) {
    return Status::invalid(file + ": read " + std::to_string(parsed.options.size()) +
                           " settings but found " + std::to_string(entries->size()) +
                           " \"key = value\" lines");
  }
  SourceValues out;
  std::map<std::string, int> first_line;
  for (size_t i = 0; i < parsed.options.size(); ++i) {
    const po::option& option = parsed.options[i];
    const FileEntry& entry = (*entries)[i];
    std::string where = file + ":" + std::to_string(entry.line);
    const po::option_description* d =
        option.unregistered ? nullptr : spec.settings->find_nothrow(option.string_key, false);
    if (d == nullptr) {
      return Status::invalid(where + ": unknown key \"" + entry.key +
                             "\" (keys are the long option names without the dashes; see "
                             "--help)");
    }
    const std::string value = option.value.empty() ? std::string() : option.value.front();
    auto [seen, fresh] = first_line.emplace(option.string_key, entry.line);
    if (!fresh && !is_list(*d)) {
      return Status::invalid(where + ": key \"" + option.string_key +
                             "\" is set again (first on line " + std::to_string(seen->second) +
                             ")");
    }
    auto converted = to_option(*d, value);
    if (!converted)
      return Status::invalid(where + ": key \"" + option.string_key +
                             "\": " + converted.status().message());
    if (*converted) {
      if (auto error = type_error(*spec.settings, {**converted}))
        return Status::invalid(where + ": key \"" + option.string_key + "\": " + *error);
      out.options.push_back(**converted);
    }
    if (fresh)
      out.origins[option.string_key] = {SettingOrigin::Kind::kFile, file, entry.line};
  }
  return out;
}

}  // namespace

void add_config_options(po::options_description& desc) {
  desc.add_options()("config", po::value<std::string>()->value_name("FILE"),
                     "read settings from this INI file (\"key = value\" lines, keys named like "
                     "the long options) instead of the default file; flags and CUBE_* "
                     "environment variables override it (docs/configuration.md)")(
      "print-config",
      "print every setting's value and where it came from (flag, env, file:line or default), "
      "then exit");
}

std::string setting_env_name(const std::string& key) {
  std::string name = "CUBE_";
  for (char c : key)
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::string SettingOrigin::describe() const {
  switch (kind) {
    case Kind::kFlag:
      return "flag";
    case Kind::kEnv:
      return "env " + where;
    case Kind::kFile:
      return "file " + where + ":" + std::to_string(line);
    case Kind::kDefault:
      return "default";
    case Kind::kUnset:
      break;
  }
  return "not set";
}

Result<Settings> Settings::load(const SettingsSpec& spec, const po::parsed_options& flags) {
  Settings out;
  out.settings_ = spec.settings;
  // The command line on its own first: its errors read as they did before config files.
  po::variables_map flag_values;
  try {
    po::store(flags, flag_values);
  } catch (const po::error& e) {
    return Status::invalid(e.what());
  }
  out.print_requested_ = flag_values.count("print-config") > 0;
  std::vector<po::option> layered;
  for (const auto& option : flags.options) {
    layered.push_back(option);
    if (!option.string_key.empty() && !option.unregistered)
      out.origins_[option.string_key] = {SettingOrigin::Kind::kFlag, "", 0};
  }

  // Then each lower source, for the keys that no higher one set.
  auto add_below = [&](SourceValues source) {
    std::set<std::string> taken;
    for (const auto& [key, origin] : source.origins) {
      if (out.origins_.count(key) == 0) {
        out.origins_[key] = origin;
        taken.insert(key);
      }
    }
    for (auto& option : source.options) {
      if (taken.count(option.string_key))
        layered.push_back(std::move(option));
    }
  };
  auto env = read_environment(spec);
  if (!env)
    return env.status();
  add_below(std::move(*env));

  std::vector<std::filesystem::path> files;
  if (flag_values.count("config")) {
    files.push_back(flag_values["config"].as<std::string>());
  } else {
    for (const auto& path : spec.default_files) {
      std::error_code ec;
      if (std::filesystem::exists(path, ec))
        files.push_back(path);
    }
  }
  for (const auto& path : files) {
    auto file = read_config_file(spec, path);
    if (!file)
      return file.status();
    add_below(std::move(*file));
  }

  po::parsed_options all(flags.description, flags.m_options_prefix);
  all.options = std::move(layered);
  try {
    po::store(all, out.values_);
  } catch (const po::error& e) {
    return Status::invalid(e.what());
  }
  for (const auto& d : spec.settings->options()) {
    const std::string& key = d->long_name();
    if (out.origins_.count(key))
      continue;
    if (out.values_.count(key) || is_switch(*d))
      out.origins_[key] = {SettingOrigin::Kind::kDefault, "", 0};
  }
  return out;
}

SettingOrigin Settings::origin(const std::string& key) const {
  auto it = origins_.find(key);
  return it == origins_.end() ? SettingOrigin{} : it->second;
}

void Settings::print(std::ostream& out) const {
  constexpr size_t kCommentColumn = 40;
  auto line = [&](const std::string& text, const SettingOrigin& origin) {
    out << text << std::string(text.size() < kCommentColumn ? kCommentColumn - text.size() : 1, ' ')
        << "# " << origin.describe() << "\n";
  };
  for (const auto& d : settings_->options()) {
    const std::string& key = d->long_name();
    SettingOrigin from = origin(key);
    bool present = values_.count(key) > 0;
    if (is_switch(*d)) {
      bool on = present;
      if (present) {
        if (const auto* b = boost::any_cast<bool>(&values_[key].value()))
          on = *b;
      }
      line(key + " = " + (on ? "true" : "false"), from);
      continue;
    }
    std::vector<std::string> texts =
        present ? value_texts(values_[key].value()) : std::vector<std::string>();
    if (texts.empty()) {
      line("# " + key + " =", from);
      continue;
    }
    for (const auto& text : texts)
      line(key + " = " + text, from);
  }
}

std::string Settings::annotate(const std::string& message) const {
  auto at = message.find("--");
  if (at == std::string::npos)
    return message;
  size_t end = at + 2;
  while (end < message.size() &&
         (std::isalnum(static_cast<unsigned char>(message[end])) || message[end] == '-'))
    ++end;
  std::string key = message.substr(at + 2, end - at - 2);
  SettingOrigin from = origin(key);
  if (from.kind != SettingOrigin::Kind::kEnv && from.kind != SettingOrigin::Kind::kFile)
    return message;
  return message + " (" + key + " from " + from.describe() + ")";
}

}  // namespace cube
