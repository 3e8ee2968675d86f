// cube-agent: parses options, loads the agent id, builds the driver and the loop, runs it.
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include "agent/agent_identity.h"
#include "agent/agent_loop.h"
#include "agent/drivers/exec/exec_driver.h"
#include "agent/options.h"
#include "common/log.h"
#include "common/shutdown_signal.h"
#include "common/units.h"
#include "protocol/zmq_io.h"

namespace po = boost::program_options;
using namespace cube;

namespace {

constexpr int kExitUsage = 2;
// Far beyond what one host runs; keeps the slot arithmetic and the worker pool sane.
constexpr int64_t kMaxSlots = 100000;

int usage_error(const std::string& message) {
  std::cerr << "cube-agent: " << message << "\nTry 'cube-agent --help'.\n";
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread exists: SIGINT/SIGTERM become a readable fd for the loop.
  ShutdownSignal shutdown;
  try {
    const char* env_broker = std::getenv("CUBE_BROKER");
    std::string broker = env_broker && *env_broker ? env_broker : "127.0.0.1:7100";
    std::string name, driver_name = "exec", data_dir, heartbeat = "1s", stop_grace = "10s";
    std::string log_level = "info";
    int64_t slots = 4;  // signed: Boost reads "-1" into an unsigned as 4294967295
    std::vector<std::string> labels;

    po::options_description desc(
        "Usage: cube-agent [options]\n\n"
        "Runs tasks for a Cube broker. The agent only connects out (work PORT+1, events PORT+2,\n"
        "beacon PORT+3), so it works behind NAT. Tasks keep running when the agent exits (like\n"
        "the Nomad and Docker agents).\n\nOptions");
    desc.add_options()("help,h", "show this help and exit")("version", "print the version")(
        "broker", po::value(&broker),
        "broker address HOST:PORT (env CUBE_BROKER; default 127.0.0.1:7100)")(
        "name", po::value(&name), "node name shown by the broker (default: the host name)")(
        "driver", po::value(&driver_name)->default_value("exec"),
        "how tasks run: exec (a child process per task; the docker driver comes later)")(
        "slots", po::value(&slots)->default_value(4), "tasks run at once (1..100000)")(
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

    po::variables_map vm;
    try {
      po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
      po::notify(vm);
    } catch (const po::error& e) {
      return usage_error(e.what());
    }
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    if (vm.count("version")) {
      std::cout << "cube-agent " << agent::kAgentVersion << "\n";
      return 0;
    }

    agent::AgentOptions options;
    Status s = protocol::parse_host_port(broker, options.broker_host, options.broker_port);
    if (!s.is_ok())
      return usage_error("--broker: " + s.message());
    if (options.broker_port > 65535 - 3)
      return usage_error("--broker: port " + std::to_string(options.broker_port) +
                         " leaves no room for PORT+1..PORT+3");
    if (driver_name == "docker") {
      std::cerr << "cube-agent: the docker driver is not built into this agent yet\n";
      return kExitUsage;
    }
    if (driver_name != "exec")
      return usage_error("--driver: unknown driver \"" + driver_name + "\" (use exec)");
    options.driver = driver_name;
    if (slots < 1 || slots > kMaxSlots)
      return usage_error("--slots must be between 1 and " + std::to_string(kMaxSlots));
    options.slots = static_cast<uint32_t>(slots);
    for (const auto& label : labels) {
      auto eq = label.find('=');
      if (eq == std::string::npos || eq == 0)
        return usage_error("--label \"" + label + "\" is not k=v");
      options.labels[label.substr(0, eq)] = label.substr(eq + 1);
    }
    auto beat = parse_duration(heartbeat);
    if (!beat.is_ok() || beat->count() <= 0)
      return usage_error("--heartbeat: \"" + heartbeat + "\" is not a positive duration (1s)");
    options.heartbeat = *beat;
    auto grace = parse_duration(stop_grace);
    if (!grace.is_ok())
      return usage_error("--stop-grace: " + grace.status().message());
    options.stop_grace = *grace;
    options.name = name.empty() ? agent::default_agent_name() : name;
    options.data_dir =
        data_dir.empty() ? agent::default_data_dir() : std::filesystem::path(data_dir);

    s = init_logging("cube-agent", log_level);
    if (!s.is_ok())
      return usage_error("--log-level: " + s.message());

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
    agent::ExecDriver driver(options.data_dir, clock);
    agent::AgentLoop loop(options, driver, clock);
    spdlog::info("cube-agent {} starting: broker {}:{}, driver {}, {} slots, data dir {}",
                 agent::kAgentVersion, options.broker_host, options.broker_port, options.driver,
                 options.slots, options.data_dir.string());
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
