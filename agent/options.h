// AgentOptions: everything cube-agent can be told on its command line, with the defaults that
// docs/protocol.md describes. A plain value: agent/main.cpp fills it, AgentLoop reads
// it once at construction.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/health_check.h"
#include "agent/host_capacity.h"
#include "agent/task_tracker.h"
#include "common/clock.h"
#include "common/status.h"
#include "protocol/curve.h"

namespace cube::agent {

// Reported in HELLO.version.
inline constexpr std::string_view kAgentVersion = "0.1.0";

// One broker's base address (its client port; the agent uses PORT+1..PORT+3).
struct BrokerAddress {
  std::string host;
  int port = 0;

  // "HOST:PORT" ("[::1]:7100" for IPv6), as brokers name each other in not_leader answers.
  std::string label() const;
  bool operator==(const BrokerAddress&) const = default;
};

struct AgentOptions {
  // The broker's base address: the agent connects a DEALER to port+1 (work), a PUB to port+2
  // (events) and a SUB to port+3 (beacon). It never binds anything.
  std::string broker_host = "127.0.0.1";
  int broker_port = 7100;
  // The other brokers of an HA set (--broker A,B,C; docs/ha.md), after broker_host:broker_port:
  // the agent moves to the next one when the broker it uses goes silent, and follows not_leader
  // answers to the leader (agent/broker_failover.h). The endpoint overrides below apply to the
  // first broker only.
  std::vector<BrokerAddress> other_brokers;
  // Explicit endpoints ("tcp://127.0.0.1:40123") that replace the ones derived from
  // broker_host/broker_port when not empty. Tests use them to reach a fake broker bound on
  // ephemeral ports; the command line does not expose them.
  std::string work_endpoint_override;
  std::string events_endpoint_override;
  std::string beacon_endpoint_override;

  // Stable identity, from <data_dir>/agent-id (agent/agent_identity.h). main() fills it;
  // AgentLoop requires it to be set.
  std::string agent_id;
  // Display name; default_agent_name() (the host name) when not given.
  std::string name;
  // Which driver this agent offers: "exec" or "docker".
  std::string driver = "exec";
  // Docker driver: dockerd's socket, "unix:///var/run/docker.sock" or a path; empty means
  // $DOCKER_HOST, else /var/run/docker.sock.
  std::string docker_host;
  // Docker driver: the host address that tasks' exposed ports are published on (loopback by
  // default, so nothing is reachable from outside unless asked).
  std::string publish_address = "127.0.0.1";
  // How many task attempts run at once; CREDIT reports the free ones.
  uint32_t slots = 4;
  // Where the agent keeps its identity and the exec driver its per-task dirs and logs.
  // default_data_dir() when not given.
  std::filesystem::path data_dir;
  // AGENT_HEARTBEAT period until WELCOME says otherwise (WELCOME.heartbeat_ms wins when > 0).
  Millis heartbeat{1000};
  // Grace between the polite signal and the kill, when a STOP carries no grace_ms.
  Millis stop_grace{10000};
  // How long to wait for WELCOME after sending HELLO before the DEALER is recreated and HELLO
  // retried with backoff (Lazy Pirate). 3 s: three heartbeats, like every other liveness
  // timeout in Cube.
  Millis welcome_timeout{3000};
  // Finished task attempts kept to report in HELLO/SNAPSHOT after a broker outage (the oldest
  // are forgotten first). cube-bench lowers it for its thousands of in-process sim agents.
  size_t max_finished = TaskTracker::kDefaultMaxFinished;
  // Matched by tasks' Constraints ("key=value").
  std::map<std::string, std::string> labels;
  // --cpu, --memory, --disk: each set value replaces what probe_host_capacity detects, so an
  // operator can keep part of the host for other work (or tests can declare small nodes).
  CapacityOverrides capacity_overrides;
  // NODE_STATS period (--stats-interval); 0 sends none. 5 s: five heartbeats, frequent enough
  // for `cube-client nodes`, rare enough that 10,000 agents cost the broker little.
  Millis stats_interval{5000};
  // Health check settings for tasks that leave theirs at 0 (--health-interval,
  // --health-timeout, --health-retries; agent/health_check.h).
  HealthDefaults health;
  // CURVE keys (--curve-secret, --broker-key; protocol/curve.h): set on every socket before it
  // connects. Disabled (plaintext) by default.
  protocol::CurveClientKeys curve;
};

// The three endpoints an agent connects to, from the options.
struct BrokerEndpoints {
  std::string work;    // DEALER -> broker work ROUTER, port+1
  std::string events;  // PUB -> broker events SUB, port+2
  std::string beacon;  // SUB -> broker beacon PUB, port+3
};
BrokerEndpoints broker_endpoints(const AgentOptions& options);
// The same for one broker of the list (no overrides).
BrokerEndpoints broker_endpoints(const BrokerAddress& broker);

// The brokers of --broker (or CUBE_BROKER): "HOST:PORT" or a comma-separated list of them, in
// order. Invalid, naming the item, for an empty item, one that is not HOST:PORT, a PORT above
// 65532 (no room for PORT+1..PORT+3) or an address given twice.
Result<std::vector<BrokerAddress>> parse_broker_list(std::string_view list);

// The --cpu, --memory and --disk texts ("" = flag not given) as capacity overrides: cores as a
// positive number ("2", "0.5"), sizes as parse_size reads them ("1GiB", "512MiB", bytes).
// Invalid, naming the flag and what to write instead, for anything else (zero and negative
// values included: 0 would mean "undeclared" to the broker).
Result<CapacityOverrides> parse_capacity_overrides(std::string_view cpu, std::string_view memory,
                                                   std::string_view disk);

// The host name (gethostname), or "agent" when it cannot be read.
std::string default_agent_name();

// /var/lib/cube/agent when running as root (a system service, like Docker's /var/lib/docker);
// otherwise $HOME/.cube/agent, so an unprivileged user needs no setup; ./.cube/agent when HOME
// is unset.
std::filesystem::path default_data_dir();

}  // namespace cube::agent
