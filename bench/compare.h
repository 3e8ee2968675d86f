// cube-bench --compare OTHER: runs another cube-bench binary (an older build) and this one with
// the same arguments, interleaved in the same minutes (other, this, other, this...) so that both
// see the same machine, and compares three figures by the ratio this/other: placements/s, broker
// CPU per task and whole-process CPU per task. Each run is a child process with -o json; its
// report is read by figures_from_json, which also understands reports of older cube-bench
// versions (they lack the per-task fields; those are derived when the seconds are there).
//
// The pure parts (reading a report, ratio, median, the tables) are separate from run_compare,
// which takes the runner as a function so that tests can drive it without processes.
//
// Thread-safety: plain values and functions; run_compare blocks for every run.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/child_output.h"
#include "common/status.h"

namespace cube::bench {

// The figures compared, from one run's JSON report. nullopt: the report does not say.
struct RunFigures {
  std::optional<double> placements_per_s;
  std::optional<double> broker_cpu_us_per_task;
  std::optional<double> process_cpu_us_per_task;
};

// Reads a cube-bench -o json report. A *_us_per_task field is taken as is when it is a number;
// when it is absent (an older cube-bench), it is derived from broker_cpu_s / process_cpu_s and
// the tasks completed (completed_at_broker, else completed); null stays unknown. Errors: Invalid
// when `text` is not one JSON object.
Result<RunFigures> figures_from_json(std::string_view text);

// this / other; nullopt when either is unknown or `other` is not positive.
std::optional<double> ratio(std::optional<double> self, std::optional<double> other);

// The median of `values` (the mean of the middle two for an even count); nullopt when empty.
std::optional<double> median(std::vector<double> values);

// One interleaved pair of runs.
struct CompareRound {
  RunFigures other;
  RunFigures self;
};

// The table of round `index` (0-based) of `total`: each figure for other and this, and the ratio.
std::string round_table(size_t index, size_t total, const CompareRound& round);

// The summary of all rounds: per figure the medians of other and this and the median over the
// rounds of the ratio this/other ("n/a" when no round has both figures).
std::string summary_table(const std::vector<CompareRound>& rounds);

struct CompareOptions {
  std::string other_binary;
  std::string this_binary;
  size_t rounds = 3;
  // Passed to both, followed by "-o json"; without -o/--output of their own.
  std::vector<std::string> args;
  // Passed to this binary only, after `args` (--this-only: options an older build lacks, such
  // as --batch when comparing against a build from before it).
  std::vector<std::string> this_args;
};

// Runs one cube-bench command line (argv[0] is the binary) to its end.
using BenchRunner = std::function<Result<ChildOutput>(const std::vector<std::string>& argv)>;

struct CompareOutcome {
  std::vector<CompareRound> rounds;  // the rounds that completed, in order
  Status status;                     // OK, or the first run that failed, by round, side and binary
};

// Runs `rounds` pairs, other before this in each pair, through `runner`, and calls `on_round`
// (may be empty) after each pair. Stops at the first run that cannot be started, exits non-zero
// or prints no JSON report: status then says which ("round 2, other (/old/cube-bench): exited
// with code 1"), and why.
CompareOutcome run_compare(const CompareOptions& options, const BenchRunner& runner,
                           const std::function<void(size_t, const CompareRound&)>& on_round);

}  // namespace cube::bench
