#include "tests/support/prometheus_text_parser.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

namespace cube::test {
namespace {

bool is_name_start(char c, bool allow_colon) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (allow_colon && c == ':');
}
bool is_name_char(char c, bool allow_colon) {
  return is_name_start(c, allow_colon) || std::isdigit(static_cast<unsigned char>(c));
}

// Reads a metric (allow_colon) or label name at `pos`.
bool read_name(const std::string& line, size_t& pos, bool allow_colon, std::string& out) {
  if (pos >= line.size() || !is_name_start(line[pos], allow_colon))
    return false;
  size_t start = pos;
  while (pos < line.size() && is_name_char(line[pos], allow_colon))
    ++pos;
  out = line.substr(start, pos - start);
  return true;
}

bool parse_float(const std::string& text, double& out) {
  if (text.empty())
    return false;
  if (text == "+Inf") {
    out = HUGE_VAL;
    return true;
  }
  if (text == "-Inf") {
    out = -HUGE_VAL;
    return true;
  }
  if (text == "NaN") {
    out = NAN;
    return true;
  }
  // Only the characters of a decimal float: strtod alone would also take "inf", "0x1p3"...
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != 'e' && c != 'E' &&
        c != '+' && c != '-') {
      return false;
    }
  }
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

bool parse_sample(const std::string& line, PrometheusSample& sample, std::string& why) {
  size_t pos = 0;
  if (!read_name(line, pos, true, sample.name)) {
    why = "expected a metric name";
    return false;
  }
  if (pos < line.size() && line[pos] == '{') {
    ++pos;
    while (true) {
      if (pos < line.size() && line[pos] == '}') {
        ++pos;
        break;
      }
      std::string label;
      if (!read_name(line, pos, false, label)) {
        why = "expected a label name";
        return false;
      }
      if (pos + 1 >= line.size() || line[pos] != '=' || line[pos + 1] != '"') {
        why = "expected =\" after label " + label;
        return false;
      }
      pos += 2;
      std::string value;
      bool closed = false;
      while (pos < line.size()) {
        char c = line[pos++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (pos >= line.size()) {
            why = "dangling backslash in label value";
            return false;
          }
          char e = line[pos++];
          if (e == 'n') {
            value += '\n';
          } else if (e == '\\' || e == '"') {
            value += e;
          } else {
            why = std::string("bad escape \\") + e + " in label value";
            return false;
          }
          continue;
        }
        value += c;
      }
      if (!closed) {
        why = "unterminated label value";
        return false;
      }
      if (!sample.labels.emplace(label, value).second) {
        why = "label " + label + " repeated";
        return false;
      }
      if (pos < line.size() && line[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < line.size() && line[pos] == '}') {
        ++pos;
        break;
      }
      why = "expected , or } after a label";
      return false;
    }
  }
  if (pos >= line.size() || line[pos] != ' ') {
    why = "expected a space before the value";
    return false;
  }
  std::istringstream rest(line.substr(pos + 1));
  std::string value_text;
  std::string timestamp;
  std::string extra;
  rest >> value_text >> timestamp >> extra;
  if (!parse_float(value_text, sample.value)) {
    why = "value \"" + value_text + "\" is not a float";
    return false;
  }
  if (!timestamp.empty()) {
    for (char c : timestamp) {
      if (!std::isdigit(static_cast<unsigned char>(c)) && c != '-') {
        why = "timestamp \"" + timestamp + "\" is not an integer";
        return false;
      }
    }
  }
  if (!extra.empty()) {
    why = "unexpected text after the timestamp";
    return false;
  }
  return true;
}

// The family a sample belongs to, given the declared types.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  if (types.count(name))
    return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s = suffix;
    if (name.size() > s.size() && name.ends_with(s)) {
      std::string stem = name.substr(0, name.size() - s.size());
      auto it = types.find(stem);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary"))
        return stem;
    }
  }
  return name;
}

bool check_histograms(const PrometheusText& text, std::string* error) {
  for (const auto& [family, type] : text.types) {
    if (type != "histogram")
      continue;
    // Series key: labels without "le".
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    std::map<std::map<std::string, std::string>, double> counts;
    for (const auto& s : text.samples) {
      if (s.name == family + "_bucket") {
        auto labels = s.labels;
        auto le = labels.find("le");
        double bound = 0;
        if (le == labels.end() || !parse_float(le->second, bound)) {
          *error = family + "_bucket without a numeric le label";
          return false;
        }
        labels.erase(le);
        buckets[labels].emplace_back(bound, s.value);
      } else if (s.name == family + "_count") {
        counts[s.labels] = s.value;
      }
    }
    for (auto& [labels, list] : buckets) {
      std::sort(list.begin(), list.end());
      for (size_t i = 1; i < list.size(); ++i) {
        if (list[i].second < list[i - 1].second) {
          *error = family + " buckets are not cumulative";
          return false;
        }
      }
      if (list.empty() || !std::isinf(list.back().first)) {
        *error = family + " has no +Inf bucket";
        return false;
      }
      auto c = counts.find(labels);
      if (c == counts.end() || c->second != list.back().second) {
        *error = family + "_count differs from its +Inf bucket";
        return false;
      }
    }
  }
  return true;
}

}  // namespace

std::optional<double> PrometheusText::value(
    const std::string& name, const std::map<std::string, std::string>& labels) const {
  for (const auto& s : samples) {
    if (s.name != name)
      continue;
    bool all = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) {
        all = false;
        break;
      }
    }
    if (all)
      return s.value;
  }
  return std::nullopt;
}

std::optional<PrometheusText> parse_prometheus_text(const std::string& text, std::string* error) {
  PrometheusText out;
  std::set<std::string> families_with_samples;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  auto fail = [&](const std::string& why) {
    *error = "line " + std::to_string(number) + ": " + why + ": " + line;
    return std::nullopt;
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty())
      continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, keyword, name, rest;
      words >> hash >> keyword >> name;
      if (hash != "#")
        return fail("a comment starts with \"# \"");
      if (keyword == "HELP" || keyword == "TYPE") {
        size_t pos = 0;
        std::string parsed;
        if (!read_name(name, pos, true, parsed) || pos != name.size())
          return fail("bad metric name in " + keyword);
        if (keyword == "TYPE") {
          words >> rest;
          static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                       "untyped"};
          if (!kTypes.count(rest))
            return fail("unknown type " + rest);
          if (out.types.count(name))
            return fail("second TYPE for " + name);
          if (families_with_samples.count(name))
            return fail("TYPE for " + name + " after its samples");
          out.types[name] = rest;
        }
      }
      continue;
    }
    PrometheusSample sample;
    std::string why;
    if (!parse_sample(line, sample, why))
      return fail(why);
    families_with_samples.insert(family_of(sample.name, out.types));
    out.samples.push_back(std::move(sample));
  }
  if (!check_histograms(out, error))
    return std::nullopt;
  return out;
}

}  // namespace cube::test
