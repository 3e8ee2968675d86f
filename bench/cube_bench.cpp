// cube-bench: scheduling throughput and latency with thousands of simulated agents
// (README.md, "Benchmarking"; bench/RESULTS.md).
//
// Starts a broker in this process (a BrokerLoop on its own thread, a free port) unless --broker
// names a running one, and N sim agents (bench/sim_fleet.h) that connect to it like N separate
// cube-agent processes. Waits until the broker lists every agent ready, then submits M tasks of
// the sim driver from K client threads (bench/load_generator.h), one task per SUBMIT or B per
// SUBMIT_BATCH (--batch), closed loop or at a fixed arrival rate, and waits until every task
// completed. Prints progress on stderr, then a table
// (or with -o json one JSON object) of the rates, latencies and broker resources
// (bench/bench_report.h says how each is measured).
//
// With --idle it submits no task: N agents, split over fleet processes (cube-bench --fleet-only,
// an internal mode) as the open-file limit requires, register with a broker in a process of its
// own (--broker/--broker-pid, or a cube-broker it starts), and the broker's CPU, memory and
// descriptors are measured while they only heartbeat (bench/idle_run.h).
//
// With --services S --replicas R it creates S services of R sim replicas each instead of
// submitting tasks, waits until every replica runs, then removes the services
// (bench/service_run.h).
//
// With --compare OTHER it measures nothing itself: it runs OTHER (another cube-bench, e.g. the
// previous commit's) and itself as child processes with the remaining arguments and -o json,
// interleaved for --rounds pairs, and prints each pair and the median ratios (bench/compare.h).
//
// Exit codes: 0 every task completed (--compare: every run did; --idle: every agent registered
// and stayed ready); 1 the run is incomplete (timeout, submit errors, a task that did not
// complete; --compare: a run failed; --idle: an agent missing, a child process died); 2 usage
// error.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include "bench/bench_report.h"
#include "bench/bench_run.h"
#include "bench/child_output.h"
#include "bench/compare.h"
#include "bench/fleet_process.h"
#include "bench/idle_run.h"
#include "bench/service_run.h"
#include "broker/scheduler.h"
#include "client/client.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/shutdown_signal.h"
#include "common/units.h"
#include "protocol/messages.h"
#include "protocol/service.h"
#include "protocol/zmq_io.h"

namespace po = boost::program_options;

namespace cube::bench {
namespace {

constexpr int kExitIncomplete = 1;
constexpr int kExitUsage = 2;
// Default --timeout: a minute for setup and stragglers, plus the run at a slow 1,000 tasks/s.
constexpr Millis kBaseTimeout{60000};
constexpr double kSlowTasksPerSecond = 1000;
// --rounds bounds: three pairs give a median that one disturbed run cannot move.
constexpr int64_t kDefaultRounds = 3;
constexpr int64_t kMaxRounds = 100;
// Default --timeout of --idle: registration takes about a millisecond per agent on a quiet
// machine; 20 ms per agent on top of the base minute leaves room for a loaded one.
constexpr Millis kIdleTimeoutPerAgent{20};
// --idle-seconds bounds: a window under a second is mostly clock-tick noise (10 ms ticks).
constexpr int64_t kMaxIdleSeconds = 3600;

struct UsageError {
  std::string message;
};

struct Args {
  BenchConfig config;
  std::string output = "table";
  Millis timeout{0};  // 0: derived from the run's size
  std::string latency_out;
  std::string timeline_out;
  std::string log_level = "warn";
  bool quiet = false;
  // --compare: set when comparing; its args are this command line without --compare, --rounds
  // and -o (as typed, so abbreviations and "--key=value" pass on unchanged).
  std::optional<CompareOptions> compare;
  // --idle: set when measuring idle agents.
  std::optional<IdleConfig> idle;
  // --services: how many services and replicas each (0 services: a task run).
  size_t services = 0;
  uint32_t replicas = 0;
  // --fleet-only (internal: a fleet process of --idle): the fleet to run.
  std::optional<SimFleetOptions> fleet_only;
};

Args parse_args(int argc, char** argv, bool& help) {
  Args a;
  BenchConfig& c = a.config;
  int64_t agents = 100, slots = 8, tasks = 10000, clients = 4, agent_threads = 1, io_threads = 1,
          batch = 1, subscribers = 0;
  int broker_pid = 0;
  int64_t rounds = kDefaultRounds;
  std::string timeout, compare;
  std::vector<std::string> this_only;
  double idle_seconds = 10;
  std::string heartbeat = "1s", name_prefix;
  int64_t agents_per_process = 0;
  int64_t services = 0, replicas = 100;
  IdleConfig idle;
  po::options_description desc(
      "Usage: cube-bench [options]\n\n"
      "Measures the broker: N simulated agents (the sim driver, in this process, each with its\n"
      "own sockets) and M tasks submitted from K client threads. The broker runs in this\n"
      "process unless --broker names one.\n\n"
      "       cube-bench --services S [--replicas R] [options]\n\n"
      "Creates S services of R sim replicas each (instead of submitting tasks), waits until\n"
      "every replica runs, then removes them: placements/s of the whole scale-up.\n\n"
      "       cube-bench --idle [--agents N] [--broker HOST:PORT --broker-pid PID]\n\n"
      "Measures what N idle agents (no tasks, heartbeats only) cost a broker process.\n\nOptions");
  desc.add_options()("help,h", "show this help and exit")(
      "agents", po::value(&agents)->default_value(agents), "simulated agents (N)")(
      "slots", po::value(&slots)->default_value(slots), "task slots per agent (S)")(
      "tasks", po::value(&tasks)->default_value(tasks), "tasks to submit (M)")(
      "clients", po::value(&clients)->default_value(clients),
      "client threads (K), each with its own cube::Client and one request in flight")(
      "batch", po::value(&batch)->default_value(batch),
      "tasks per request (B): 1 sends each task as its own SUBMIT; more sends SUBMIT_BATCHes of "
      "B tasks. Closed loop: a client sends its next request once the previous is answered. "
      "Open loop: a batch leaves when its last task is due, and each task's latency counts from "
      "its own due time, so the wait to fill a batch is part of it")(
      "store", po::value(&c.store)->default_value(c.store),
      "in-process broker's store: memory, sqlite:PATH or etcd://HOST:PORT[,HOST:PORT...][/PREFIX]")(
      "scheduler", po::value(&c.scheduler)->default_value(c.scheduler),
      "in-process broker's policy: roundrobin, greedy, epvm, binpack or spread")(
      "duration-ms", po::value(&c.duration_ms)->default_value(c.duration_ms),
      "how long each sim task runs (0: until stopped, so it never completes)")(
      "rate", po::value(&c.rate)->default_value(0),
      "open loop: submit R tasks per second on a fixed schedule (0: closed loop)")(
      "broker", po::value(&c.broker), "use the broker at HOST:PORT instead of one in-process")(
      "subscribers", po::value(&subscribers)->default_value(subscribers),
      "event feed subscribers following the broker during the run (threads long-polling "
      "EVENTS, as `cube-client events` does): run with 0 and 1 to see what the feed costs")(
      "broker-pid", po::value(&broker_pid),
      "with --broker: its process id, to report its CPU and memory")(
      "output,o", po::value(&a.output)->default_value(a.output), "table or json")(
      "agent-threads", po::value(&agent_threads)->default_value(agent_threads),
      "threads hosting the sim agents")("io-threads",
                                        po::value(&io_threads)->default_value(io_threads),
                                        "ZeroMQ I/O threads of the agents' shared context")(
      "timeout", po::value(&timeout),
      "give up after this long (default: 60s plus what the run should take at 1,000 tasks/s)")(
      "latency-out", po::value(&a.latency_out),
      "write the submit->Running latency distribution (quantile, ms) to this file")(
      "timeline-out", po::value(&a.timeline_out),
      "write each task's send time and submit->Running latency (ms, in send order) to this "
      "file")("log-level", po::value(&a.log_level)->default_value(a.log_level),
              "trace, debug, info, warn, error or off")("quiet,q", "no progress lines")(
      "compare", po::value(&compare),
      "compare with another cube-bench binary (a path, e.g. the previous commit's build): run "
      "it and this one as child processes with the other arguments given here, interleaved "
      "(other, this, other, this...), and print per round and as medians over the rounds "
      "placements/s, broker CPU per task and process CPU per task with the ratio this/other. "
      "-o is not passed on (the runs report JSON to this process); the comparison is tables")(
      "rounds", po::value(&rounds)->default_value(rounds),
      "with --compare: pairs of runs (the ratio reported is the median over them)")(
      "this-only", po::value(&this_only)->composing(),
      "with --compare: an option given here (its name without dashes, e.g. batch) that goes to "
      "this binary only, for an older build that lacks it; repeatable")(
      "services", po::value(&services),
      "create S services (one SERVICE_CREATE each, from the K client threads) of --replicas sim "
      "replicas that run until stopped, and measure the scale-up until the agents started every "
      "replica; then remove them and measure the stops. --agents x --slots must hold S x R")(
      "replicas", po::value(&replicas)->default_value(replicas),
      "with --services: replicas per service (R)")(
      "idle",
      "submit no task: measure what N registered, heartbeating agents cost the broker (its CPU "
      "in % of one core and per agent per heartbeat, RSS, descriptors) over --idle-seconds. "
      "The broker runs in its own process: --broker with --broker-pid, or a cube-broker "
      "--store memory --heartbeat H that cube-bench starts on a free port (next to cube-bench "
      "in the build tree, or --broker-bin). The agents run in as many child processes as the "
      "open-file limit requires (about 7 descriptors per agent, 9 with room to reconnect)")(
      "idle-seconds", po::value(&idle_seconds)->default_value(idle_seconds),
      "with --idle: how long the broker is measured, once every agent is ready and two "
      "heartbeats have passed")("heartbeat", po::value(&heartbeat)->default_value(heartbeat),
                                "with --idle: the heartbeat interval of the broker cube-bench "
                                "starts (its --heartbeat; agents follow WELCOME)")(
      "broker-bin", po::value(&idle.broker_bin),
      "with --idle: the cube-broker to start (default: next to cube-bench)")(
      "agents-per-process", po::value(&agents_per_process)->default_value(0),
      "with --idle: at most this many agents per fleet process (0: as many as the open-file "
      "limit allows)");
  // Internal: how cube-bench --idle starts its fleet processes. Not in --help.
  po::options_description hidden;
  hidden.add_options()("fleet-only", "")("name-prefix", po::value(&name_prefix));
  po::options_description all;
  all.add(desc).add(hidden);
  po::variables_map vm;
  po::parsed_options parsed(&all);
  try {
    parsed = po::command_line_parser(argc, argv).options(all).run();
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError{e.what()};
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    help = true;
    return a;
  }
  if (agents < 1 || agents > 100000)
    throw UsageError{"--agents must be between 1 and 100000"};
  if (slots < 1 || slots > 100000)
    throw UsageError{"--slots must be between 1 and 100000"};
  if (tasks < 1 || tasks > 100000000)
    throw UsageError{"--tasks must be between 1 and 100000000"};
  if (clients < 1 || clients > 1024)
    throw UsageError{"--clients must be between 1 and 1024"};
  if (batch < 1 || batch > static_cast<int64_t>(protocol::kMaxSubmitBatch)) {
    throw UsageError{"--batch must be between 1 and " + std::to_string(protocol::kMaxSubmitBatch) +
                     " (one request's limit)"};
  }
  if (agent_threads < 1 || agent_threads > 256)
    throw UsageError{"--agent-threads must be between 1 and 256"};
  if (io_threads < 1 || io_threads > 64)
    throw UsageError{"--io-threads must be between 1 and 64"};
  if (c.duration_ms < 0)
    throw UsageError{"--duration-ms must not be negative"};
  if (!(c.rate >= 0))
    throw UsageError{"--rate must not be negative"};
  if (a.output != "table" && a.output != "json")
    throw UsageError{"-o must be table or json"};
  if (!broker::policy_from_name(c.scheduler))
    throw UsageError{"--scheduler " + c.scheduler +
                     ": unknown policy; use roundrobin, greedy, epvm, binpack or spread"};
  if (vm.count("broker-pid")) {
    if (c.broker.empty())
      throw UsageError{"--broker-pid goes with --broker"};
    c.broker_pid = broker_pid;
  }
  if (!c.broker.empty()) {
    auto endpoint = broker_endpoint(c.broker);
    if (!endpoint.is_ok())
      throw UsageError{"--broker: " + endpoint.status().message()};
  }
  if (!timeout.empty()) {
    auto parsed = parse_duration(timeout);
    if (!parsed.is_ok() || parsed->count() <= 0)
      throw UsageError{"--timeout: \"" + timeout + "\" is not a positive duration"};
    a.timeout = *parsed;
  }
  if (vm.count("compare")) {
    if (rounds < 1 || rounds > kMaxRounds)
      throw UsageError{"--rounds must be between 1 and " + std::to_string(kMaxRounds)};
    CompareOptions options;
    options.other_binary = compare;
    options.rounds = static_cast<size_t>(rounds);
    const std::set<std::string> not_passed_on = {"compare", "rounds", "output", "this-only"};
    const std::set<std::string> for_this_only(this_only.begin(), this_only.end());
    std::set<std::string> not_seen = for_this_only;
    for (const po::option& o : parsed.options) {
      if (not_passed_on.contains(o.string_key))
        continue;
      not_seen.erase(o.string_key);
      auto& args = for_this_only.contains(o.string_key) ? options.this_args : options.args;
      args.insert(args.end(), o.original_tokens.begin(), o.original_tokens.end());
    }
    if (!not_seen.empty()) {
      const std::string& name = *not_seen.begin();
      throw UsageError{"--this-only " + name + ": --" + name +
                       " is not given on this command line"};
    }
    a.compare = std::move(options);
  } else if (!vm["rounds"].defaulted()) {
    throw UsageError{"--rounds goes with --compare"};
  } else if (!this_only.empty()) {
    throw UsageError{"--this-only goes with --compare"};
  }
  const bool is_idle = vm.count("idle") > 0;
  const bool is_fleet = vm.count("fleet-only") > 0;
  if (vm.count("services")) {
    if (is_idle)
      throw UsageError{"--services does not go with --idle"};
    for (const char* task_only :
         {"tasks", "batch", "duration-ms", "rate", "latency-out", "subscribers"}) {
      if (vm.count(task_only) && !vm[task_only].defaulted())
        throw UsageError{"--" + std::string(task_only) + " does not go with --services"};
    }
    if (services < 1 || services > 100000)
      throw UsageError{"--services must be between 1 and 100000"};
    if (replicas < 1 || replicas > static_cast<int64_t>(kMaxReplicas)) {
      throw UsageError{"--replicas must be between 1 and " + std::to_string(kMaxReplicas) +
                       " (a service's limit)"};
    }
    if (services * replicas > agents * slots) {
      throw UsageError{std::to_string(services) + " services x " + std::to_string(replicas) +
                       " replicas need " + std::to_string(services * replicas) +
                       " slots; --agents x --slots gives " + std::to_string(agents * slots)};
    }
    a.services = static_cast<size_t>(services);
    a.replicas = static_cast<uint32_t>(replicas);
  } else if (!vm["replicas"].defaulted()) {
    throw UsageError{"--replicas goes with --services"};
  }
  if (!is_idle) {
    for (const char* idle_only :
         {"idle-seconds", "heartbeat", "broker-bin", "agents-per-process"}) {
      if (!vm[idle_only].defaulted() && vm.count(idle_only))
        throw UsageError{"--" + std::string(idle_only) + " goes with --idle"};
    }
  }
  if (is_idle || is_fleet) {
    // Task runs only: an idle run submits nothing, and its agents are not in this process.
    for (const char* task_only : {"slots", "tasks", "clients", "batch", "store", "scheduler",
                                  "duration-ms", "rate", "latency-out", "compare", "services"}) {
      if (vm.count(task_only) && !vm[task_only].defaulted())
        throw UsageError{"--" + std::string(task_only) + " does not go with --idle"};
    }
  }
  if (is_idle) {
    if (!c.broker.empty() && !c.broker_pid)
      throw UsageError{"--idle --broker needs --broker-pid: the broker's CPU is what it measures"};
    if (!c.broker.empty() && !idle.broker_bin.empty())
      throw UsageError{"--broker-bin is for the broker cube-bench starts, not with --broker"};
    if (!(idle_seconds >= 1 && idle_seconds <= kMaxIdleSeconds))
      throw UsageError{"--idle-seconds must be between 1 and " + std::to_string(kMaxIdleSeconds)};
    auto beat = parse_duration(heartbeat);
    if (!beat.is_ok() || beat->count() <= 0)
      throw UsageError{"--heartbeat: \"" + heartbeat + "\" is not a positive duration"};
    if (agents_per_process < 0)
      throw UsageError{"--agents-per-process must not be negative"};
    idle.agents = static_cast<size_t>(agents);
    idle.broker = c.broker;
    idle.broker_pid = c.broker_pid;
    idle.heartbeat = *beat;
    idle.window = Millis(static_cast<int64_t>(idle_seconds * 1000));
    idle.agents_per_process = static_cast<size_t>(agents_per_process);
    idle.agent_threads = static_cast<size_t>(agent_threads);
    idle.io_threads = static_cast<int>(io_threads);
    a.idle = idle;
  }
  if (is_fleet) {
    std::string host;
    int port = 0;
    if (is_idle || c.broker.empty() || name_prefix.empty() ||
        !protocol::parse_host_port(c.broker, host, port).is_ok()) {
      throw UsageError{
          "--fleet-only (internal, started by --idle) needs --broker HOST:PORT and "
          "--name-prefix"};
    }
    SimFleetOptions fleet;
    fleet.broker_host = host;
    fleet.broker_port = port;
    fleet.agents = static_cast<size_t>(agents);
    fleet.name_prefix = name_prefix;
    fleet.threads = static_cast<size_t>(agent_threads);
    fleet.io_threads = static_cast<int>(io_threads);
    a.fleet_only = fleet;
  }
  c.agents = static_cast<size_t>(agents);
  c.slots = static_cast<uint32_t>(slots);
  c.tasks = static_cast<size_t>(tasks);
  c.clients = static_cast<size_t>(clients);
  c.batch = static_cast<size_t>(batch);
  c.agent_threads = static_cast<size_t>(agent_threads);
  c.io_threads = static_cast<int>(io_threads);
  c.subscribers = static_cast<size_t>(std::max<int64_t>(subscribers, 0));
  a.quiet = vm.count("quiet") > 0;
  return a;
}

// --compare: the runs, a table per round on stdout, then the medians.
int run_compare_mode(CompareOptions options) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::cerr << "cube-bench: --compare: cannot find this binary (/proc/self/exe): " << ec.message()
              << "\n";
    return kExitIncomplete;
  }
  options.this_binary = self.string();
  std::cout << "cube-bench --compare: other " << options.other_binary << ", this "
            << options.this_binary << ", " << options.rounds << " round"
            << (options.rounds == 1 ? "" : "s") << "\n\n"
            << std::flush;
  CompareOutcome outcome =
      run_compare(options, run_for_stdout, [&](size_t index, const CompareRound& round) {
        std::cout << round_table(index, options.rounds, round) << "\n" << std::flush;
      });
  if (!outcome.status.is_ok()) {
    std::cerr << "cube-bench: --compare: " << outcome.status.message() << "\n";
    return kExitIncomplete;
  }
  std::cout << summary_table(outcome.rounds) << std::flush;
  return 0;
}

// A run's report on stdout (-o table or json), or its error on stderr after `error_prefix`; the
// exit code: 0 for a complete run. BenchResult and IdleResult alike.
template <typename Report>
int print_report(const Result<Report>& result, const std::string& output,
                 const std::string& error_prefix) {
  if (!result.is_ok()) {
    std::cerr << error_prefix << result.status().to_string() << "\n";
    return kExitIncomplete;
  }
  if (output == "json") {
    std::cout << to_json(*result).dump() << std::endl;
  } else {
    std::cout << to_table(*result) << std::flush;
  }
  return result->complete() ? 0 : kExitIncomplete;
}

// --fleet-only: one fleet process of --idle, until stdin closes or SIGTERM.
int run_fleet_mode(const SimFleetOptions& options) {
  ShutdownSignal shutdown;  // before the fleet's threads exist
  Status ended = run_fleet_process(options, shutdown.fd(), system_clock());
  if (!ended.is_ok()) {
    std::cerr << "cube-bench --fleet-only: " << ended.to_string() << "\n";
    return kExitIncomplete;
  }
  return 0;
}

// --idle: the idle-agents measurement, a table or JSON on stdout.
int run_idle_mode(const Args& args) {
  ShutdownSignal shutdown;  // before any thread: SIGINT/SIGTERM end the waits, children are reaped
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::cerr << "cube-bench: --idle: cannot find this binary (/proc/self/exe): " << ec.message()
              << "\n";
    return kExitIncomplete;
  }
  IdleRunOptions options;
  options.config = *args.idle;
  options.bench_binary = self.string();
  options.log_level = args.log_level;
  options.stop_fd = shutdown.fd();
  options.timeout =
      args.timeout.count() > 0
          ? args.timeout
          : kBaseTimeout + kIdleTimeoutPerAgent * static_cast<int64_t>(args.idle->agents);
  if (!args.quiet)
    options.progress = [](const std::string& line) { std::cerr << line << std::endl; };
  return print_report(run_idle(options, system_clock()), args.output, "cube-bench: --idle: ");
}

// --services: the services scale-up, a table or JSON on stdout.
int run_services_mode(const Args& args) {
  ServiceRunOptions options;
  options.config = args.config;
  options.services = args.services;
  options.replicas = args.replicas;
  const uint64_t replicas = static_cast<uint64_t>(args.services) * args.replicas;
  // Up and down: the scale-up and the removal, each at a slow 1,000 replicas/s.
  options.timeout =
      args.timeout.count() > 0
          ? args.timeout
          : kBaseTimeout + Millis(static_cast<int64_t>(2.0 * static_cast<double>(replicas) *
                                                       1000.0 / kSlowTasksPerSecond));
  if (!args.quiet)
    options.progress = [](const std::string& line) { std::cerr << line << std::endl; };
  return print_report(run_services(options, system_clock()), args.output, "cube-bench: ");
}

int run(int argc, char** argv) {
  bool help = false;
  Args args;
  try {
    args = parse_args(argc, argv, help);
  } catch (const UsageError& e) {
    std::cerr << "cube-bench: " << e.message << "\nTry 'cube-bench --help'.\n";
    return kExitUsage;
  }
  if (help)
    return 0;
  Status logging = init_logging("cube-bench", args.log_level);
  if (!logging.is_ok()) {
    std::cerr << "cube-bench: --log-level: " << logging.message() << "\n";
    return kExitUsage;
  }
  if (args.compare)
    return run_compare_mode(std::move(*args.compare));
  if (args.fleet_only)
    return run_fleet_mode(*args.fleet_only);
  if (args.idle)
    return run_idle_mode(args);
  if (args.services > 0)
    return run_services_mode(args);
  BenchRunOptions options;
  options.config = args.config;
  options.latency_out = args.latency_out;
  options.timeline_out = args.timeline_out;
  options.timeout = args.timeout.count() > 0
                        ? args.timeout
                        : kBaseTimeout +
                              Millis(static_cast<int64_t>(static_cast<double>(args.config.tasks) *
                                                          1000.0 / kSlowTasksPerSecond)) +
                              Millis(args.config.duration_ms);
  if (!args.quiet)
    options.progress = [](const std::string& line) { std::cerr << line << std::endl; };

  return print_report(run_bench(options, system_clock()), args.output, "cube-bench: ");
}

}  // namespace
}  // namespace cube::bench

int main(int argc, char** argv) {
  try {
    return cube::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cube-bench: fatal: %s\n", e.what());
    return 1;
  }
}
