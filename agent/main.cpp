// cube-agent: parses options, loads the agent id, builds the driver and the loop, runs it.
#include <arpa/inet.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include "agent/agent_identity.h"
#include "agent/agent_loop.h"
#include "agent/drivers/docker/docker_backend.h"
#include "agent/drivers/exec/exec_driver.h"
#include "agent/drivers/exec/exec_supervisor.h"
#include "agent/drivers/sim/sim_driver.h"
#include "agent/options.h"
#include "common/config_file.h"
#include "common/log.h"
#include "common/shutdown_signal.h"
#include "common/units.h"
#include "protocol/curve.h"
#include "protocol/keygen_command.h"
#include "protocol/zmq_io.h"

namespace po = boost::program_options;
using namespace cube;

namespace {

constexpr int kExitUsage = 2;
// Read when present and no --config is given (the .deb installs a commented one).
constexpr const char* kDefaultConfigFile = "/etc/cube/agent.conf";
// Far beyond what one host runs; keeps the slot arithmetic and the worker pool sane.
constexpr int64_t kMaxSlots = 100000;

int usage_error(const std::string& message) {
  std::cerr << "cube-agent: " << message << "\nTry 'cube-agent --help'.\n";
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  // A task's supervisor (the exec driver starts one per task): not an agent at all.
  if (agent::is_exec_supervisor_command(argc, argv))
    return agent::run_exec_supervisor(argc, argv);
  if (protocol::is_keygen_command(argc, argv))
    return protocol::run_keygen("cube-agent", agent::default_agent_name(), argc, argv);
  // First, before any thread exists: SIGINT/SIGTERM become a readable fd for the loop.
  ShutdownSignal shutdown;
  try {
    std::string broker;
    std::string name, driver_name = "exec", data_dir, heartbeat = "1s", stop_grace = "10s";
    std::string log_level = "info";
    std::string docker_host, publish_addr = "127.0.0.1";
    int64_t slots = 4;  // signed: Boost reads "-1" into an unsigned as 4294967295
    std::vector<std::string> labels;
    std::string cpu_flag, memory_flag, disk_flag, stats_interval = "5s";
    std::string curve_secret, broker_key;
    std::string health_interval = "10s", health_timeout = "2s";
    int64_t health_retries = 3;

    // Every setting, also readable from CUBE_* variables and agent.conf (common/config_file.h).
    po::options_description settings_desc;
    settings_desc.add_options()(
        "broker",
        po::value(&broker)->default_value("127.0.0.1:7100")->value_name("HOST:PORT[,HOST:PORT...]"),
        "broker address HOST:PORT, or the brokers of an HA set (all with the same CURVE key "
        "pair): the agent follows not_leader answers to the leader and moves to the next broker "
        "when the one it uses goes silent; its tasks keep running (env CUBE_BROKER)")(
        "name", po::value(&name), "node name shown by the broker (default: the host name)")(
        "driver", po::value(&driver_name)->default_value("exec"),
        "how tasks run: docker (containers through dockerd), exec (a child process per "
        "task) or sim (no process: a task \"runs\" for its DurationMs, for benchmarks)")(
        "docker-host", po::value(&docker_host),
        "docker driver: dockerd socket, unix:///path or /path (env DOCKER_HOST; default "
        "unix:///var/run/docker.sock)")(
        "publish-addr", po::value(&publish_addr)->default_value("127.0.0.1"),
        "docker driver: host address that tasks' exposed ports are published on")(
        "slots", po::value(&slots)->default_value(4), "tasks run at once (1..100000)")(
        "cpu", po::value(&cpu_flag),
        "CPU cores the broker may place tasks on, e.g. 2 or 0.5 (default: detected, within "
        "the agent's cgroup limit)")(
        "memory", po::value(&memory_flag),
        "memory the broker may place tasks in, e.g. 1GiB (default: detected, within the "
        "agent's cgroup limit)")(
        "disk", po::value(&disk_flag),
        "disk space for tasks, e.g. 20GiB (default: what is free where the data dir is)")(
        "stats-interval", po::value(&stats_interval)->default_value("5s"),
        "how often node and task usage is reported to the broker (0 = never)")(
        "data-dir", po::value(&data_dir),
        "agent id, task dirs and logs (created if missing; default /var/lib/cube/agent as "
        "root, else ~/.cube/agent)")("label", po::value(&labels)->composing(),
                                     "node label k=v, matched by task Constraints (repeatable)")(
        "heartbeat", po::value(&heartbeat)->default_value("1s"),
        "heartbeat interval until the broker says otherwise")(
        "stop-grace", po::value(&stop_grace)->default_value("10s"),
        "SIGTERM-to-SIGKILL grace when a STOP gives none")(
        "log-level", po::value(&log_level)->default_value("info"),
        "trace, debug, info, warn, error or off");
    settings_desc.add_options()(
        "health-interval", po::value(&health_interval)->default_value("10s"),
        "time between health probes of a task with a HealthCheck path, and the "
        "grace before the first (when the task sets none)")(
        "health-timeout", po::value(&health_timeout)->default_value("2s"),
        "a health probe not answered within this fails (when the task sets none)")(
        "health-retries", po::value(&health_retries)->default_value(3),
        "consecutive failed health probes after which the task is stopped and reported "
        "Failed (when the task sets none)");
    settings_desc.add_options()(
        "curve-secret", po::value(&curve_secret),
        "encrypt with CURVE using this agent's secret key file (make one with "
        "`cube-agent keygen --out DIR --name NAME`); the broker must list its "
        "public key, and --name defaults to the file's name (NAME.key -> NAME)")(
        "broker-key", po::value(&broker_key),
        "the broker's public key, as Z85 text or a .pub file (env CUBE_BROKER_KEY)");

    po::options_description desc(
        "Usage: cube-agent [options]\n\n"
        "Runs tasks for a Cube broker. The agent only connects out (work PORT+1, events PORT+2,\n"
        "beacon PORT+3), so it works behind NAT. Tasks keep running when the agent exits (like\n"
        "the Nomad and Docker agents).\n\nOptions");
    desc.add_options()("help,h", "show this help and exit")("version", "print the version");
    add_config_options(desc);
    desc.add(settings_desc);

    po::parsed_options flags(&desc);
    po::variables_map flag_values;
    try {
      flags = po::command_line_parser(argc, argv).options(desc).run();
      po::store(flags, flag_values);
    } catch (const po::error& e) {
      return usage_error(e.what());
    }
    if (flag_values.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    if (flag_values.count("version")) {
      std::cout << "cube-agent " << agent::kAgentVersion << "\n";
      return 0;
    }
    // Flags over CUBE_* variables over --config FILE (or /etc/cube/agent.conf) over defaults.
    auto settings = Settings::load({&settings_desc, {kDefaultConfigFile}, {}}, flags);
    if (!settings.is_ok())
      return usage_error(settings.status().message());
    po::notify(settings->values());
    // Errors found from here on name the file and line (or variable) a bad value came from.
    auto setting_error = [&](const std::string& message) {
      return usage_error(settings->annotate(message));
    };

    agent::AgentOptions options;
    auto brokers = agent::parse_broker_list(broker);
    if (!brokers.is_ok())
      return setting_error("--broker: " + brokers.status().message());
    options.broker_host = brokers->front().host;
    options.broker_port = brokers->front().port;
    options.other_brokers.assign(brokers->begin() + 1, brokers->end());
    Status s;
    if (driver_name != "exec" && driver_name != "docker" && driver_name != "sim") {
      return setting_error("--driver: unknown driver \"" + driver_name +
                           "\" (use docker, exec or sim)");
    }
    options.driver = driver_name;
    options.docker_host = docker_host;
    unsigned char addr[sizeof(in6_addr)];
    if (::inet_pton(AF_INET, publish_addr.c_str(), addr) != 1 &&
        ::inet_pton(AF_INET6, publish_addr.c_str(), addr) != 1)
      return setting_error("--publish-addr: \"" + publish_addr + "\" is not an IP address");
    options.publish_address = publish_addr;
    if (slots < 1 || slots > kMaxSlots)
      return setting_error("--slots must be between 1 and " + std::to_string(kMaxSlots));
    options.slots = static_cast<uint32_t>(slots);
    for (const auto& label : labels) {
      auto eq = label.find('=');
      if (eq == std::string::npos || eq == 0)
        return setting_error("--label \"" + label + "\" is not k=v");
      options.labels[label.substr(0, eq)] = label.substr(eq + 1);
    }
    auto beat = parse_duration(heartbeat);
    if (!beat.is_ok() || beat->count() <= 0)
      return setting_error("--heartbeat: \"" + heartbeat + "\" is not a positive duration (1s)");
    options.heartbeat = *beat;
    auto grace = parse_duration(stop_grace);
    if (!grace.is_ok())
      return setting_error("--stop-grace: " + grace.status().message());
    options.stop_grace = *grace;
    auto overrides = agent::parse_capacity_overrides(cpu_flag, memory_flag, disk_flag);
    if (!overrides.is_ok())
      return setting_error(overrides.status().message());
    options.capacity_overrides = *overrides;
    auto stats_every = parse_duration(stats_interval);
    if (!stats_every.is_ok() || stats_every->count() < 0)
      return setting_error("--stats-interval: \"" + stats_interval + "\" is not a duration (5s)");
    options.stats_interval = *stats_every;
    auto health = agent::parse_health_defaults(health_interval, health_timeout, health_retries);
    if (!health.is_ok())
      return setting_error(health.status().message());
    options.health = *health;
    // CUBE_BROKER_KEY is broker_key's variable (Settings), so there is no separate fallback.
    auto curve = protocol::curve_client_keys(curve_secret, broker_key, "");
    if (!curve.is_ok())
      return setting_error(curve.status().message());
    options.curve = *curve;
    // Under CURVE the broker knows an agent by its key's name, so that is the default name.
    if (name.empty() && options.curve.enabled())
      name = std::filesystem::path(curve_secret).stem().string();
    options.name = name.empty() ? agent::default_agent_name() : name;
    options.data_dir =
        data_dir.empty() ? agent::default_data_dir() : std::filesystem::path(data_dir);

    s = init_logging("cube-agent", log_level);
    if (!s.is_ok())
      return setting_error("--log-level: " + s.message());
    if (settings->print_requested()) {
      settings->print(std::cout);
      return 0;
    }

    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec) {
      spdlog::error("cannot create the data dir {}: {}", options.data_dir.string(), ec.message());
      return 1;
    }
    auto id = agent::load_or_create_agent_id(options.data_dir);
    if (!id.is_ok()) {
      spdlog::error("{}", id.status().message());
      return 1;
    }
    options.agent_id = *id;

    const Clock& clock = system_clock();
    std::optional<agent::ExecDriver> exec_driver;
    std::optional<agent::SimDriver> sim_driver;
    std::optional<agent::DockerBackend> docker;
    agent::Driver* driver = nullptr;
    if (options.driver == "docker") {
      auto backend = agent::make_docker_backend({.docker_host = options.docker_host,
                                                 .node_id = options.agent_id,
                                                 .node_name = options.name,
                                                 .publish_address = options.publish_address,
                                                 .stop_grace = options.stop_grace},
                                                clock);
      if (!backend)
        return setting_error("--docker-host: " + backend.status().message());
      docker = std::move(backend).value();
      driver = docker->driver.get();
    } else if (options.driver == "sim") {
      driver = &sim_driver.emplace(clock);
    } else {
      exec_driver.emplace(options.data_dir, clock);
      driver = &*exec_driver;
    }
    agent::AgentLoop loop(options, *driver, clock);
    spdlog::info("cube-agent {} starting: broker {}, driver {}, {} slots, data dir {}",
                 agent::kAgentVersion, broker, options.driver, options.slots,
                 options.data_dir.string());
    s = loop.run(shutdown.fd());
    if (!s.is_ok()) {
      spdlog::error("{}", s.to_string());
      return 1;
    }
    int sig = shutdown.consume();
    spdlog::info("stopping on signal {}; tasks keep running", sig);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "cube-agent: fatal: " << e.what() << "\n";
    return 1;
  }
}
