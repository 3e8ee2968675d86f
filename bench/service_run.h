// One cube-bench --services run, start to end (service_report.h says what it measures): the
// cluster (bench_cluster.h), S services of R sim replicas created from K client threads, the
// wait until the agents started every replica, the broker's count, then the removal of every
// service and the wait until every replica stopped. cube_bench.cpp parses the command line and
// prints what this returns.
//
// Thread-safety: run_services blocks its caller for the whole run and starts (and joins) its
// own threads.
#pragma once

#include <functional>
#include <string>

#include "bench/service_report.h"
#include "common/clock.h"

namespace cube::bench {

struct ServiceRunOptions {
  BenchConfig config;  // agents, slots, clients, store, scheduler, broker, threads
  size_t services = 10;
  uint32_t replicas = 100;
  // Give up waiting (registration, creates, starts, removal) after this long in total.
  Millis timeout{120000};
  // Called about once a second with a progress line while replicas start or stop; may be empty.
  std::function<void(const std::string&)> progress;
};

// Runs the benchmark; a run that did not complete comes back with result.error set, not as an
// error. Errors: as BenchCluster::start.
Result<ServiceBenchResult> run_services(const ServiceRunOptions& options, const Clock& clock);

}  // namespace cube::bench
