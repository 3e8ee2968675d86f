// cube-broker: parses options, builds the store and the BrokerLoop, runs it until SIGINT/SIGTERM.
// Exit codes: 0 clean shutdown, 1 runtime error (port in use, store unreadable), 2 usage error.
#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

#include "broker/broker_loop.h"
#include "broker/memory_store.h"
#include "broker/options.h"
#include "broker/scheduler.h"
#include "broker/version.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/shutdown_signal.h"
#include "common/units.h"
#include "protocol/zmq_io.h"

namespace po = boost::program_options;

namespace cube::broker {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

struct UsageError {
  std::string message;
};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.starts_with("127.") || host == "::1";
}

Millis duration_option(const po::variables_map& vm, const char* name, Millis fallback) {
  if (!vm.count(name))
    return fallback;
  auto parsed = parse_duration(vm[name].as<std::string>());
  if (!parsed.is_ok())
    throw UsageError{"--" + std::string(name) + ": " + parsed.status().message()};
  if (parsed->count() <= 0)
    throw UsageError{"--" + std::string(name) + " must be longer than 0"};
  return *parsed;
}

// Writes "HOST:PORT\n" to `path` through a temporary file and a rename, so a reader polling for
// the file never sees it half written.
Status write_ready_file(const std::string& path, const std::string& host, int port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out)
      return Status::unavailable("cannot write " + tmp);
    out << host << ":" << port << "\n";
    out.flush();
    if (!out)
      return Status::unavailable("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return Status::unavailable("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return Status::ok();
}

int run(int argc, char** argv) {
  // First, before any thread exists, so SIGINT/SIGTERM are blocked in every thread.
  ShutdownSignal shutdown;

  po::options_description desc("Usage: cube-broker [options]\n\nOptions");
  desc.add_options()("help,h", "show this help and exit")("version", "print the version and exit")(
      "bind", po::value<std::string>()->default_value("127.0.0.1:7100"),
      "HOST:PORT of the client port; work, events and beacon use PORT+1..PORT+3 "
      "(PORT 0: pick free ports)")("store", po::value<std::string>()->default_value("memory"),
                                   "where tasks are kept: memory")(
      "scheduler", po::value<std::string>()->default_value("binpack"),
      "placement policy: roundrobin, greedy, epvm, binpack or spread")(
      "log-level", po::value<std::string>()->default_value("info"),
      "trace, debug, info, warn, error or off")("heartbeat", po::value<std::string>(),
                                                "beacon and heartbeat interval (default 1s)")(
      "node-grace", po::value<std::string>(), "silence after which an agent is lost (default 5s)")(
      "assign-timeout", po::value<std::string>(),
      "time an agent has to answer an ASSIGN (default 5s)")(
      "insecure", "allow binding a non-loopback address without encryption")(
      "ready-file", po::value<std::string>(),
      "after binding, write HOST:PORT to this file (atomically)");

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "cube-broker: " << e.what() << "\n"
              << "Try 'cube-broker --help'.\n";
    return kExitUsage;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return kExitOk;
  }
  if (vm.count("version")) {
    std::cout << "cube-broker " << broker_version() << "\n";
    return kExitOk;
  }

  BrokerOptions options;
  try {
    Status bind_ok = protocol::parse_host_port(vm["bind"].as<std::string>(), options.host,
                                               options.port, /*allow_zero=*/true);
    if (!bind_ok.is_ok())
      throw UsageError{"--bind: " + bind_ok.message()};
    if (options.port > 65532)
      throw UsageError{"--bind: base port " + std::to_string(options.port) +
                       " leaves no room for its four ports (use 1..65532, or 0)"};
    std::string store = vm["store"].as<std::string>();
    if (store != "memory") {
      throw UsageError{"--store " + store +
                       ": unknown store; the stores available now are: memory"};
    }
    options.store = store;
    std::string scheduler = vm["scheduler"].as<std::string>();
    auto policy = policy_from_name(scheduler);
    if (!policy) {
      throw UsageError{"--scheduler " + scheduler +
                       ": unknown policy; use roundrobin, greedy, epvm, binpack or spread"};
    }
    options.policy = *policy;
    options.heartbeat = duration_option(vm, "heartbeat", options.heartbeat);
    options.node_grace = duration_option(vm, "node-grace", options.node_grace);
    options.assign_timeout = duration_option(vm, "assign-timeout", options.assign_timeout);
    options.insecure = vm.count("insecure") > 0;
    Status logging = init_logging("cube-broker", vm["log-level"].as<std::string>());
    if (!logging.is_ok())
      throw UsageError{"--log-level: " + logging.message()};
  } catch (const UsageError& e) {
    std::cerr << "cube-broker: " << e.message << "\n";
    return kExitUsage;
  }

  if (!is_loopback(options.host) && !options.insecure) {
    std::cerr << "cube-broker: refusing to bind " << options.host
              << " without encryption: CURVE keys are not supported yet; pass --insecure to "
                 "accept plaintext on a non-loopback address\n";
    return kExitUsage;
  }
  if (!is_loopback(options.host))
    spdlog::warn("listening on {} without encryption (--insecure)", options.host);

  BrokerLoop loop(options, system_clock(), std::make_unique<MemoryStore>());
  Status bound = loop.bind();
  if (!bound.is_ok()) {
    spdlog::error("{}", bound.message());
    return kExitRuntime;
  }
  int port = loop.port();
  spdlog::info("listening on {}:{} (client {}, work {}, events {}, beacon {})", options.host, port,
               port, port + 1, port + 2, port + 3);
  if (vm.count("ready-file")) {
    Status written = write_ready_file(vm["ready-file"].as<std::string>(), options.host, port);
    if (!written.is_ok()) {
      spdlog::error("--ready-file: {}", written.message());
      return kExitRuntime;
    }
  }
  loop.run(shutdown.fd());
  int signal = shutdown.consume();
  spdlog::info("stopped{}", signal != 0 ? " on signal " + std::to_string(signal) : "");
  return kExitOk;
}

}  // namespace
}  // namespace cube::broker

int main(int argc, char** argv) {
  try {
    return cube::broker::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cube-broker: fatal: %s\n", e.what());
    return 1;
  }
}
