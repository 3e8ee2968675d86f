// A strict parser of the Prometheus text exposition format (version 0.0.4), for tests of
// GET /metrics: every line must be a "# HELP", "# TYPE", another comment, or a sample
// `name{label="value",...} value [timestamp]`, with valid metric and label names, escaped label
// values and a float value. It also checks what a scraper relies on: one TYPE per family, given
// before its samples; histogram buckets with an `le` label, cumulative, ending in +Inf equal to
// _count.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cube::test {

struct PrometheusSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PrometheusText {
  std::vector<PrometheusSample> samples;
  std::map<std::string, std::string> types;  // family name -> counter, gauge, histogram...

  // The value of the sample `name` whose labels include all of `labels`; nullopt when none.
  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const;
};

// Parses `text`; on a syntax error returns nullopt and sets `error` to "line N: what".
std::optional<PrometheusText> parse_prometheus_text(const std::string& text, std::string* error);

}  // namespace cube::test
