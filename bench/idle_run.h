// cube-bench --idle: what N idle agents cost a broker. No task is submitted. The broker runs in a
// process of its own (a running one given by --broker/--broker-pid, or a cube-broker --store
// memory that this starts on a free port with --heartbeat); the sim agents run in fleet
// processes (cube-bench --fleet-only, bench/fleet_process.h), as many as this machine's
// open-file limit requires (bench/fleet_split.h), each connected like N separate cube-agents.
//
// Steps: start the broker (unless given); start the fleet processes one at a time, each once the
// broker's NODES lists the agents of the previous ones ready (a registration storm of thousands
// of HELLOs makes agents retry, which feeds the storm); let them settle for two heartbeats; then
// read the broker process's CPU, its heartbeat counter (STATUS), and the fleets' CPU, wait for the
// window, and read them again together with the broker's RSS and descriptors (bench/idle_report.h
// defines each figure). Every wait is a poll on the stop fd and the children's pidfds with a
// deadline: a child that dies or a SIGINT ends the wait at once. Every child is stopped and reaped
// before run_idle returns, on every path.
//
// Thread-safety: blocks its caller for the whole run.
#pragma once

#include <functional>
#include <string>

#include "bench/idle_report.h"
#include "common/clock.h"
#include "common/status.h"

namespace cube::bench {

struct IdleRunOptions {
  IdleConfig config;
  // The cube-bench binary to run as fleet processes (this one: /proc/self/exe).
  std::string bench_binary;
  // Give up waiting for the agents to register after this long.
  Millis timeout{120000};
  // --log-level for the fleet processes and the broker this starts.
  std::string log_level = "warn";
  // Readable when the run must end early (ShutdownSignal::fd()); -1: none.
  int stop_fd = -1;
  // Called with a progress line now and then; may be empty.
  std::function<void(const std::string&)> progress;
};

// Runs the measurement. A run that started but could not finish (the agents did not all
// register in time, a child died, the stop fd fired, agents were lost during the window) comes
// back with result.error set. Errors: Invalid for a bad --broker address; Unavailable when the
// broker or a fleet process cannot be started, no cube-broker binary is found, or the open-file
// limits (this process's, or the broker's as /proc says) cannot hold the agents.
Result<IdleResult> run_idle(const IdleRunOptions& options, const Clock& clock);

// Where the cube-broker to start is: `configured` when not empty, else next to `bench_binary` in
// a build tree (../broker/cube-broker) or an install (./cube-broker), the first that is an
// executable file. Unavailable naming the places looked at when there is none.
Result<std::string> find_broker_binary(const std::string& configured,
                                       const std::string& bench_binary);

}  // namespace cube::bench
