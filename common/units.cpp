#include "common/units.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

namespace cube {
namespace {

struct Unit {
  std::string_view suffix;
  double factor;
};

// Longest suffixes first so "MiB" wins over "M" and "B".
constexpr Unit kSizeUnits[] = {
    {"KiB", 1024.0},
    {"MiB", 1048576.0},
    {"GiB", 1073741824.0},
    {"TiB", 1099511627776.0},
    {"kB", 1e3},
    {"KB", 1e3},
    {"MB", 1e6},
    {"GB", 1e9},
    {"TB", 1e12},
    {"k", 1024.0},
    {"K", 1024.0},
    {"m", 1048576.0},
    {"M", 1048576.0},
    {"g", 1073741824.0},
    {"G", 1073741824.0},
    {"t", 1099511627776.0},
    {"T", 1099511627776.0},
    {"B", 1.0},
    {"b", 1.0},
};

bool parse_number(std::string_view text, double& out) {
  if (text.empty())
    return false;
  std::string s(text);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(out);
}

}  // namespace

Result<int64_t> parse_size(std::string_view text) {
  auto bad = [&] {
    // Built with append(): GCC 12 at -O3 raises a false -Wrestrict on "..." + std::string.
    std::string message = "\"";
    message.append(text).append("\" is not a size (use bytes or a unit such as 512MiB or 1GiB)");
    return Status::invalid(std::move(message));
  };
  std::string_view number = text;
  double factor = 1.0;
  for (const auto& unit : kSizeUnits) {
    if (text.size() > unit.suffix.size() && text.ends_with(unit.suffix)) {
      number = text.substr(0, text.size() - unit.suffix.size());
      factor = unit.factor;
      break;
    }
  }
  while (!number.empty() && number.back() == ' ')
    number.remove_suffix(1);
  double value = 0;
  if (!parse_number(number, value) || value < 0)
    return bad();
  double bytes = std::round(value * factor);
  if (bytes > 4.6e18)
    return bad();
  return static_cast<int64_t>(bytes);
}

std::string format_size(int64_t bytes) {
  static constexpr const char* kNames[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (std::fabs(value) >= 1024.0 && unit + 1 < std::size(kNames)) {
    value /= 1024.0;
    ++unit;
  }
  char buf[48];
  if (unit == 0 || std::fabs(value - std::round(value)) < 0.05) {
    std::snprintf(buf, sizeof buf, "%.0f %s", value, kNames[unit]);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", value, kNames[unit]);
  }
  return buf;
}

Result<Millis> parse_duration(std::string_view text) {
  auto bad = [&] {
    std::string message = "\"";  // append(): see parse_size
    message.append(text).append("\" is not a duration (use for example 500ms, 5s, 2m)");
    return Status::invalid(std::move(message));
  };
  double factor_ms = 1000.0;
  std::string_view number = text;
  if (text.ends_with("ms")) {
    factor_ms = 1.0;
    number.remove_suffix(2);
  } else if (text.ends_with("s")) {
    number.remove_suffix(1);
  } else if (text.ends_with("m")) {
    factor_ms = 60'000.0;
    number.remove_suffix(1);
  } else if (text.ends_with("h")) {
    factor_ms = 3'600'000.0;
    number.remove_suffix(1);
  }
  double value = 0;
  if (!parse_number(number, value) || value < 0 || value * factor_ms > 1e15)
    return bad();
  return Millis(static_cast<int64_t>(std::llround(value * factor_ms)));
}

std::string format_age(Millis age) {
  int64_t s = std::max<int64_t>(0, age.count() / 1000);
  if (s < 120)
    return std::to_string(s) + "s";
  if (s < 2 * 3600)
    return std::to_string(s / 60) + "m";
  if (s < 2 * 86400)
    return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

}  // namespace cube
