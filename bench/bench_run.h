// One cube-bench run, start to end: broker (in-process or external), sim fleet, registration,
// load, waiting for completion, resource readings. cube_bench.cpp parses the command line and
// prints what this returns.
//
// Thread-safety: run_bench blocks its caller for the whole run and starts (and joins) its own
// threads.
#pragma once

#include <functional>
#include <string>

#include "bench/bench_report.h"
#include "bench/run_recorder.h"
#include "common/clock.h"

namespace cube::bench {

struct BenchRunOptions {
  BenchConfig config;
  // Give up waiting (registration, submits, completion) after this long in total.
  Millis timeout{120000};
  // Called about once a second with a progress line while tasks are under way; may be empty.
  std::function<void(const std::string&)> progress;
  // When not empty, the submit->Running latency distribution is written here.
  std::string latency_out;
  // When not empty, each task's send time (ms since the first send) and submit->Running
  // latency are written here, in send order: where in the run the slow ones were.
  std::string timeline_out;
};

// Runs the benchmark and returns what it measured; a run that did not complete comes back with
// result.error set (and complete() false), not as an error. Errors: Unavailable when the
// broker cannot be started or reached, or the process cannot have the file descriptors it
// needs; Invalid for a bad store spec.
Result<BenchResult> run_bench(const BenchRunOptions& options, const Clock& clock);

// Writes `latencies` (sorted, ms) as "quantile latency_ms" lines at quantiles 1 - 10^(-k/100)
// for k = 0..400 (0 to 99.99 %, denser toward the tail), plus the maximum, for gnuplot.
Status write_latency_distribution(const std::string& path, const std::vector<double>& latencies);
// "# sent_ms latency_ms" then one line per task that started, in send order (--timeline-out).
Status write_latency_timeline(const std::string& path, const RunRecorder& recorder);

}  // namespace cube::bench
