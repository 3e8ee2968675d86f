#include "agent/options.h"

#include <limits.h>
#include <unistd.h>

#include <cstdlib>

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
