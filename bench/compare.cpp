#include "bench/compare.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "bench/bench_report.h"
#include "client/table.h"

namespace cube::bench {
namespace {

// The figures in table order: name, member, how to print one value.
struct Metric {
  const char* name;
  std::optional<double> RunFigures::*field;
  std::string (*format)(std::optional<double>);
};

std::string format_rate(std::optional<double> v) {
  return v ? format_per_second(*v) : "n/a";
}

constexpr Metric kMetrics[] = {
    {"placements/s", &RunFigures::placements_per_s, format_rate},
    {"broker CPU per task", &RunFigures::broker_cpu_us_per_task, format_micros},
    {"process CPU per task", &RunFigures::process_cpu_us_per_task, format_micros},
};

std::string format_ratio(std::optional<double> r) {
  if (!r)
    return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", *r);
  return buf;
}

std::optional<double> number(const nlohmann::json& report, const char* key) {
  auto it = report.find(key);
  if (it == report.end() || !it->is_number())
    return std::nullopt;
  return it->get<double>();
}

// `per_task_key` as reported, else derived from `seconds_key` (reports older than the field).
std::optional<double> per_task(const nlohmann::json& report, const char* per_task_key,
                               const char* seconds_key) {
  if (report.contains(per_task_key))
    return number(report, per_task_key);  // null (none completed, CPU unknown) stays unknown
  std::optional<double> tasks = number(report, "completed_at_broker");
  if (!tasks)
    tasks = number(report, "completed");
  if (!tasks || *tasks < 1)
    return std::nullopt;
  return us_per_task(number(report, seconds_key), static_cast<uint64_t>(*tasks));
}

std::optional<double> median_of(const std::vector<CompareRound>& rounds,
                                std::optional<double> RunFigures::*field, bool self) {
  std::vector<double> values;
  for (const auto& r : rounds) {
    if (auto v = (self ? r.self : r.other).*field)
      values.push_back(*v);
  }
  return median(std::move(values));
}

}  // namespace

Result<RunFigures> figures_from_json(std::string_view text) {
  auto report = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!report.is_object())
    return Status::invalid("not a cube-bench JSON report (one JSON object)");
  RunFigures f;
  f.placements_per_s = number(report, "placements_per_s");
  f.broker_cpu_us_per_task = per_task(report, "broker_cpu_us_per_task", "broker_cpu_s");
  f.process_cpu_us_per_task = per_task(report, "process_cpu_us_per_task", "process_cpu_s");
  return f;
}

std::optional<double> ratio(std::optional<double> self, std::optional<double> other) {
  if (!self || !other || !(*other > 0))
    return std::nullopt;
  return *self / *other;
}

std::optional<double> median(std::vector<double> values) {
  if (values.empty())
    return std::nullopt;
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  if (values.size() % 2 == 1)
    return values[mid];
  return (values[mid - 1] + values[mid]) / 2;
}

std::string round_table(size_t index, size_t total, const CompareRound& round) {
  Table table({"metric", "other", "this", "this/other"});
  for (const Metric& m : kMetrics) {
    table.add_row({m.name, m.format(round.other.*m.field), m.format(round.self.*m.field),
                   format_ratio(ratio(round.self.*m.field, round.other.*m.field))});
  }
  return "round " + std::to_string(index + 1) + " of " + std::to_string(total) + "\n" +
         table.render();
}

std::string summary_table(const std::vector<CompareRound>& rounds) {
  Table table({"metric", "other (median)", "this (median)", "this/other (median of rounds)"});
  for (const Metric& m : kMetrics) {
    std::vector<double> ratios;
    for (const auto& r : rounds) {
      if (auto q = ratio(r.self.*m.field, r.other.*m.field))
        ratios.push_back(*q);
    }
    table.add_row({m.name, m.format(median_of(rounds, m.field, false)),
                   m.format(median_of(rounds, m.field, true)), format_ratio(median(ratios))});
  }
  return "median over " + std::to_string(rounds.size()) + " round" +
         (rounds.size() == 1 ? "" : "s") + "\n" + table.render();
}

CompareOutcome run_compare(const CompareOptions& options, const BenchRunner& runner,
                           const std::function<void(size_t, const CompareRound&)>& on_round) {
  CompareOutcome outcome;
  auto run_one = [&](size_t index, const char* side, const std::string& binary,
                     const std::vector<std::string>& own_args) -> Result<RunFigures> {
    std::vector<std::string> argv{binary};
    argv.insert(argv.end(), options.args.begin(), options.args.end());
    argv.insert(argv.end(), own_args.begin(), own_args.end());
    argv.insert(argv.end(), {"-o", "json"});
    std::string who = "round " + std::to_string(index + 1) + ", " + side + " (" + binary + ")";
    auto child = runner(argv);
    if (!child.is_ok())
      return child.status().with_context(who);
    if (!child->succeeded())
      return Status::unavailable(who + ": " + child->describe_exit());
    auto figures = figures_from_json(child->out);
    if (!figures.is_ok())
      return figures.status().with_context(who);
    return figures;
  };
  // Interleaved, other first in every pair: a machine that gets slower or busier over the
  // minutes weighs on both binaries alike, and each ratio compares runs made side by side.
  struct Side {
    const char* name;
    const std::string& binary;
    const std::vector<std::string>& own_args;
    RunFigures CompareRound::*figures;
  };
  const std::vector<std::string> none;
  const Side sides[] = {{"other", options.other_binary, none, &CompareRound::other},
                        {"this", options.this_binary, options.this_args, &CompareRound::self}};
  for (size_t i = 0; i < options.rounds; ++i) {
    CompareRound round;
    for (const Side& side : sides) {
      auto figures = run_one(i, side.name, side.binary, side.own_args);
      if (!figures.is_ok()) {
        outcome.status = figures.status();
        return outcome;
      }
      round.*side.figures = *figures;
    }
    outcome.rounds.push_back(round);
    if (on_round)
      on_round(i, round);
  }
  return outcome;
}

}  // namespace cube::bench
