// cube-broker: parses options, builds the store and the BrokerLoop, runs it until SIGINT/SIGTERM
// (SIGHUP re-reads the CURVE allowlists).
// Exit codes: 0 clean shutdown, 1 runtime error (port in use, store unreadable), 2 usage error.
// With an etcd store, a leader that loses leadership does not exit: it drops the loop that
// served (every task, agent and held message of that reign), builds a new one on the same
// ports and campaigns again as a standby (docs/ha.md).
#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

#include "broker/broker_directory.h"
#include "broker/broker_loop.h"
#include "broker/etcd_store.h"
#include "broker/leader_campaign.h"
#include "broker/options.h"
#include "broker/scheduler.h"
#include "broker/security_flags.h"
#include "broker/store_spec.h"
#include "broker/version.h"
#include "common/clock.h"
#include "common/config_file.h"
#include "common/fd_limit.h"
#include "common/hangup_signal.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/shutdown_signal.h"
#include "common/units.h"
#include "gateway/gateway.h"
#include "gateway/http_flags.h"
#include "gateway/serve.h"
#include "protocol/keygen_command.h"
#include "protocol/zmq_io.h"

namespace po = boost::program_options;

namespace cube::broker {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
// After a step down, the ports of the dropped loop are bound again by the next one; the kernel
// may take a moment to release them.
constexpr Millis kRebindFor{5000};
// Read when present and no --config is given (the .deb installs a commented one).
constexpr const char* kDefaultConfigFile = "/etc/cube/broker.conf";

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
  if (protocol::is_keygen_command(argc, argv))
    return protocol::run_keygen("cube-broker", "broker", argc, argv);
  // First, before any thread exists, so SIGINT/SIGTERM/SIGHUP are blocked in every thread.
  ShutdownSignal shutdown;
  HangupSignal hangup;  // SIGHUP: re-read --authorized-agents/--authorized-clients

  // Every setting, also readable from CUBE_* variables and broker.conf (common/config_file.h).
  po::options_description settings_desc;
  settings_desc.add_options()(
      "bind", po::value<std::string>()->default_value("127.0.0.1:7100"),
      "HOST:PORT of the client port; work, events and beacon use PORT+1..PORT+3 "
      "(PORT 0: pick free ports)")(
      "store", po::value<std::string>()->default_value("sqlite"),
      "where tasks are kept: sqlite (DATA-DIR/cube.db), sqlite:PATH, or memory (lost on exit); "
      "append ?sync=full to fsync every commit (survives power loss, slower); or "
      "etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (an etcd cluster, keys under PREFIX, default "
      "/cube; see docs/etcd.md)")(
      "data-dir", po::value<std::string>(),
      "directory of the default store (created if missing; default /var/lib/cube/broker as "
      "root, else ~/.cube/broker)")(
      "max-restarts", po::value<int>()->default_value(3),
      "restarts of a task (RestartPolicy on-failure/always) before it gives up")(
      "restart-backoff", po::value<std::string>()->default_value("1s"),
      "delay before the first restart, doubling with each one")(
      "restart-backoff-max", po::value<std::string>()->default_value("60s"),
      "longest delay between restarts")(
      "scheduler", po::value<std::string>()->default_value("binpack"),
      "placement policy: roundrobin, greedy, epvm, binpack or spread")(
      "log-level", po::value<std::string>()->default_value("info"),
      "trace, debug, info, warn, error or off")(
      "heartbeat", po::value<std::string>()->default_value("1s"), "beacon and heartbeat interval")(
      "node-grace", po::value<std::string>()->default_value("5s"),
      "silence after which an agent is lost")("assign-timeout",
                                              po::value<std::string>()->default_value("5s"),
                                              "time an agent has to answer an ASSIGN")(
      "insecure", "allow binding a non-loopback address without encryption")(
      "ready-file", po::value<std::string>(),
      "after binding, write HOST:PORT to this file (atomically)")(
      "leader-ttl", po::value<std::string>()->default_value("3s"),
      "with an etcd store: the leader lease's TTL (whole seconds); a dead leader is "
      "replaced within about this, a leader that cannot reach etcd for this long steps down "
      "(docs/ha.md)")("advertise", po::value<std::string>(),
                      "with an etcd store: HOST:PORT of this broker's client port as clients and "
                      "agents should dial it, named in not_leader answers (default: --bind's "
                      "address and the bound port)")(
      "cold-standby",
      "with an etcd store: as a standby, keep no copy of the store (less memory and CPU); read "
      "the whole store on winning instead, which takes longer (docs/ha.md)");
  add_security_options(settings_desc);
  // The HTTP gateway (gateway/): off unless --http is given.
  settings_desc.add_options()(
      "http", po::value<std::string>(),
      "serve the REST API, /metrics and the web dashboard (/ui/) on HOST:PORT (e.g. "
      "127.0.0.1:8080; PORT 0: any free port); a non-loopback HOST needs --http-token-file or "
      "--insecure")(
      "http-token-file", po::value<std::string>(),
      "require \"Authorization: Bearer <token>\" on HTTP requests (except /healthz and "
      "the dashboard's static files), the token read from FILE")(
      "http-ready-file", po::value<std::string>(),
      "after the HTTP port is bound, write HOST:PORT to this file");
  po::options_description desc("Usage: cube-broker [options]\n\nOptions");
  desc.add_options()("help,h", "show this help and exit")("version", "print the version and exit");
  add_config_options(desc);
  desc.add(settings_desc);

  po::parsed_options flags(&desc);
  po::variables_map flag_values;
  try {
    flags = po::command_line_parser(argc, argv).options(desc).run();
    po::store(flags, flag_values);
  } catch (const po::error& e) {
    std::cerr << "cube-broker: " << e.what() << "\n"
              << "Try 'cube-broker --help'.\n";
    return kExitUsage;
  }
  if (flag_values.count("help")) {
    std::cout << desc << "\n";
    return kExitOk;
  }
  if (flag_values.count("version")) {
    std::cout << "cube-broker " << broker_version() << "\n";
    return kExitOk;
  }
  // Flags over CUBE_* variables over --config FILE (or /etc/cube/broker.conf) over defaults.
  auto settings = Settings::load({&settings_desc, {kDefaultConfigFile}, {}}, flags);
  if (!settings.is_ok()) {
    std::cerr << "cube-broker: " << settings.status().message() << "\n";
    return kExitUsage;
  }
  const po::variables_map& vm = settings->values();
  po::notify(settings->values());

  BrokerOptions options;
  StoreSpec store_spec;
  Millis leader_ttl{3000};
  std::string advertise;
  try {
    Status bind_ok = protocol::parse_host_port(vm["bind"].as<std::string>(), options.host,
                                               options.port, /*allow_zero=*/true);
    if (!bind_ok.is_ok())
      throw UsageError{"--bind: " + bind_ok.message()};
    if (options.port > 65532)
      throw UsageError{"--bind: base port " + std::to_string(options.port) +
                       " leaves no room for its four ports (use 1..65532, or 0)"};
    std::filesystem::path data_dir = vm.count("data-dir")
                                         ? std::filesystem::path(vm["data-dir"].as<std::string>())
                                         : default_broker_data_dir();
    auto spec = parse_store_spec(vm["store"].as<std::string>(), data_dir);
    if (!spec.is_ok())
      throw UsageError{spec.status().message()};
    store_spec = *spec;
    options.store = store_spec.describe();
    if (vm.count("max-restarts")) {
      options.restart.max_restarts = vm["max-restarts"].as<int>();
      if (options.restart.max_restarts < 0)
        throw UsageError{"--max-restarts must be 0 or more"};
    }
    options.restart.initial_backoff =
        duration_option(vm, "restart-backoff", options.restart.initial_backoff);
    options.restart.max_backoff =
        duration_option(vm, "restart-backoff-max", options.restart.max_backoff);
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
    leader_ttl = duration_option(vm, "leader-ttl", leader_ttl);
    if (leader_ttl < Millis(1000))
      throw UsageError{"--leader-ttl must be at least 1s (etcd leases count whole seconds)"};
    if (vm.count("advertise")) {
      advertise = vm["advertise"].as<std::string>();
      std::string host;
      int port = 0;
      Status ok = protocol::parse_host_port(advertise, host, port, /*allow_zero=*/false);
      if (!ok.is_ok())
        throw UsageError{"--advertise: " + ok.message()};
    }
    Status security = read_security_options(vm, is_loopback(options.host), options);
    if (!security.is_ok())
      throw UsageError{security.message()};
    Status logging = init_logging("cube-broker", vm["log-level"].as<std::string>());
    if (!logging.is_ok())
      throw UsageError{"--log-level: " + logging.message()};
  } catch (const UsageError& e) {
    std::cerr << "cube-broker: " << settings->annotate(e.message) << "\n";
    return kExitUsage;
  }

  bool encrypted = !options.curve_secret.empty();
  if (!is_loopback(options.host) && !options.insecure && !encrypted) {
    std::cerr << "cube-broker: refusing to bind " << options.host
              << " without encryption. Generate keys with `cube-broker keygen --out DIR` (and "
                 "`cube-agent keygen`, `cube-client keygen`), then pass --curve-secret "
                 "DIR/broker.key --authorized-agents FILE --authorized-clients FILE (see README, "
                 "\"Running across networks\"); or pass --insecure to accept plaintext\n";
    return kExitUsage;
  }
  if (!is_loopback(options.host) && !encrypted)
    spdlog::warn(
        "listening on {} without encryption (--insecure): anyone who can reach it can "
        "run tasks on every agent",
        options.host);
  if (encrypted) {
    spdlog::info("CURVE on: {} authorized agents, {} authorized clients",
                 options.authorized_agents.size(), options.authorized_clients.size());
  }
  if (!options.task_policy.allow_exec)
    spdlog::info("exec driver refused (bound to {}; --allow-exec to permit it)", options.host);

  gateway::HttpFlags http_flags;
  if (vm.count("http"))
    http_flags.http = vm["http"].as<std::string>();
  if (vm.count("http-token-file"))
    http_flags.token_file = vm["http-token-file"].as<std::string>();
  if (vm.count("http-ready-file"))
    http_flags.ready_file = vm["http-ready-file"].as<std::string>();
  http_flags.insecure = options.insecure;
  bool token_world_readable = false;
  auto http = gateway::gateway_options_from_flags(http_flags, &token_world_readable);
  if (!http.is_ok()) {
    std::cerr << "cube-broker: " << settings->annotate(http.status().message()) << "\n";
    return kExitUsage;
  }
  if (settings->print_requested()) {
    settings->print(std::cout);
    return kExitOk;
  }
  if (token_world_readable)
    spdlog::warn("--http-token-file {} is readable by other users", *http_flags.token_file);

  // Three descriptors per agent (work, events and beacon connections): the usual soft limit of
  // 1,024 would stop at about 330 agents, the hard limit is often far higher.
  auto fd_limit = raise_fd_limit();
  if (!fd_limit.is_ok()) {
    spdlog::warn("open-file limit: {}", fd_limit.status().message());
  } else if (fd_limit->now > fd_limit->before) {
    spdlog::info("raised the open-file limit from {} to {} (the hard limit): about {} agents",
                 fd_limit->before, fd_limit->now, fd_limit->now / 3);
  } else {
    spdlog::info("open-file limit {}: about {} agents", fd_limit->now, fd_limit->now / 3);
  }
  auto store = open_store(store_spec);
  if (!store.is_ok()) {
    spdlog::error("cannot open the store: {}", store.status().message());
    return kExitRuntime;
  }
  spdlog::info("store: {}", options.store);
  // With an etcd store, brokers on the same prefix elect a leader (docs/ha.md). Declared before
  // the loop so that it outlives it: a clean stop revokes the lease after the last commit.
  std::unique_ptr<LeaderCampaign> campaign;
  std::unique_ptr<BrokerDirectory> directory;
  std::unique_ptr<StandbyCopy> copy;
  auto* etcd_store = dynamic_cast<EtcdStore*>(store->get());
  const std::string broker_id = new_random_id();
  if (etcd_store != nullptr) {
    const EtcdLayout& layout = etcd_store->layout();
    campaign = std::make_unique<LeaderCampaign>(
        LeaderCampaignOptions{store_spec.endpoints, layout.leader_key(),
                              layout.broker_key(broker_id), leader_ttl},
        system_clock());
    directory = std::make_unique<BrokerDirectory>(
        BrokerDirectoryOptions{store_spec.endpoints, layout.brokers_prefix(), leader_ttl / 3});
    if (!vm.count("cold-standby")) {
      copy = std::make_unique<StandbyCopy>(
          StandbyCopyOptions{store_spec.endpoints, layout.prefix()}, system_clock());
    }
  }
  // A new loop per reign: a leader that steps down drops everything it held with its loop.
  auto make_loop = [&](std::unique_ptr<Store> from) {
    auto made = std::make_unique<BrokerLoop>(options, system_clock(), std::move(from));
    if (campaign != nullptr) {
      std::string leader_key = etcd_store->layout().leader_key();
      made->use_election(ElectionParts{
          campaign.get(), directory.get(), copy.get(), [etcd_store, leader_key](int64_t reign) {
            etcd_store->set_write_guard({EtcdCompare::create_revision_is(leader_key, reign)});
            // Another leader may have appended history since this broker last read its end.
            return etcd_store->find_history_end();
          }});
    }
    return made;
  };
  std::unique_ptr<BrokerLoop> loop = make_loop(std::move(*store));
  Status bound = loop->bind();
  if (!bound.is_ok()) {
    spdlog::error("{}", bound.message());
    return kExitRuntime;
  }
  int port = loop->port();
  options.port = port;  // the loops after a step down bind the same ports
  if (campaign != nullptr) {
    std::string address = advertise.empty() ? options.host + ":" + std::to_string(port) : advertise;
    campaign->start(LeaderRecord{broker_id, address, to_unix_ms(system_clock().wall())});
    directory->start();
    spdlog::info("campaigning for leadership as {} (lease TTL {} ms)", address, leader_ttl.count());
  }
  spdlog::info("listening on {}:{} (client {}, work {}, events {}, beacon {})", options.host, port,
               port, port + 1, port + 2, port + 3);
  std::unique_ptr<gateway::Gateway> http_gateway;
  if (*http) {
    (*http)->broker_endpoint = gateway::broker_connect_endpoint(options.host, port);
    std::string http_host = (*http)->http.host;
    http_gateway = std::make_unique<gateway::Gateway>(std::move(**http));
    Status listening = http_gateway->start();
    if (!listening.is_ok()) {
      spdlog::error("--http: {}", listening.message());
      return kExitRuntime;
    }
    spdlog::info("HTTP gateway on http://{}:{}", http_host, http_gateway->port());
    if (vm.count("http-ready-file")) {
      Status written = write_ready_file(vm["http-ready-file"].as<std::string>(), http_host,
                                        http_gateway->port());
      if (!written.is_ok()) {
        spdlog::error("--http-ready-file: {}", written.message());
        return kExitRuntime;
      }
    }
  }
  if (vm.count("ready-file")) {
    Status written = write_ready_file(vm["ready-file"].as<std::string>(), options.host, port);
    if (!written.is_ok()) {
      spdlog::error("--ready-file: {}", written.message());
      return kExitRuntime;
    }
  }
  bool rebind_failed = false;
  auto serve = [&](int stop_fd) {
    while (loop->run(stop_fd, hangup.fd()) == LoopExit::LeadershipLost) {
      spdlog::error(
          "leadership lost: {}; dropping the leader's state without another write and "
          "campaigning again as a standby",
          loop->lost_reason());
      Status rebound;
      for (SteadyTime until = system_clock().now() + kRebindFor;;) {
        std::unique_ptr<Store> kept = loop->release_store();
        loop.reset();  // joins the store writer: nothing of the old reign is in flight after it
        loop = make_loop(std::move(kept));
        rebound = loop->bind();
        if (rebound.is_ok() || system_clock().now() >= until)
          break;
        system_clock().sleep_for(Millis(50));
      }
      if (!rebound.is_ok()) {
        spdlog::error("cannot serve as a standby after losing leadership: {}", rebound.message());
        rebind_failed = true;
        return;
      }
    }
  };
  if (http_gateway)
    gateway::run_with_gateway(serve, *http_gateway, shutdown.fd());
  else
    serve(shutdown.fd());
  if (rebind_failed)
    return kExitRuntime;
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
