#include "agent/options.h"

#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>
#include <tuple>

#include "common/units.h"
#include "protocol/zmq_io.h"

namespace cube::agent {

BrokerEndpoints broker_endpoints(const AgentOptions& options) {
  BrokerEndpoints out;
  out.work = options.work_endpoint_override.empty()
                 ? protocol::tcp_endpoint(options.broker_host, options.broker_port + 1)
                 : options.work_endpoint_override;
  out.events = options.events_endpoint_override.empty()
                   ? protocol::tcp_endpoint(options.broker_host, options.broker_port + 2)
                   : options.events_endpoint_override;
  out.beacon = options.beacon_endpoint_override.empty()
                   ? protocol::tcp_endpoint(options.broker_host, options.broker_port + 3)
                   : options.beacon_endpoint_override;
  return out;
}

std::string BrokerAddress::label() const {
  // tcp_endpoint brackets an IPv6 host; the label is that endpoint without "tcp://".
  return protocol::tcp_endpoint(host, port).substr(6);
}

BrokerEndpoints broker_endpoints(const BrokerAddress& broker) {
  return {protocol::tcp_endpoint(broker.host, broker.port + 1),
          protocol::tcp_endpoint(broker.host, broker.port + 2),
          protocol::tcp_endpoint(broker.host, broker.port + 3)};
}

Result<std::vector<BrokerAddress>> parse_broker_list(std::string_view list) {
  auto addresses = protocol::parse_host_port_list(list);
  if (!addresses)
    return addresses.status();
  std::vector<BrokerAddress> out;
  for (auto& a : *addresses) {
    if (a.port > 65535 - 3) {
      return Status::invalid("port " + std::to_string(a.port) + " of " + a.host +
                             " leaves no room for PORT+1..PORT+3");
    }
    out.push_back({std::move(a.host), a.port});
  }
  return out;
}

Result<CapacityOverrides> parse_capacity_overrides(std::string_view cpu, std::string_view memory,
                                                   std::string_view disk) {
  CapacityOverrides out;
  if (!cpu.empty()) {
    std::string text(cpu);
    char* end = nullptr;
    errno = 0;
    double cores = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || errno != 0 || !std::isfinite(cores) || cores <= 0) {
      return Status::invalid("--cpu: \"" + text +
                             "\" is not a positive number of cores (for example 2 or 0.5)");
    }
    out.cpu = cores;
  }
  for (auto [flag, text, field] : {std::tuple{"--memory", memory, &out.memory_bytes},
                                   std::tuple{"--disk", disk, &out.disk_bytes}}) {
    if (text.empty())
      continue;
    auto size = parse_size(text);
    if (!size.is_ok())
      return Status::invalid(std::string(flag) + ": " + size.status().message());
    if (*size <= 0) {
      return Status::invalid(std::string(flag) + ": \"" + std::string(text) +
                             "\" is not a positive size (for example 1GiB)");
    }
    *field = *size;
  }
  return out;
}

std::string default_agent_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0')
    return "agent";
  return buf;
}

std::filesystem::path default_data_dir() {
  if (::geteuid() == 0)
    return "/var/lib/cube/agent";
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0')
    return std::filesystem::path(".cube") / "agent";
  return std::filesystem::path(home) / ".cube" / "agent";
}

}  // namespace cube::agent
