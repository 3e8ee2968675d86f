#include "broker/node_readiness.h"

namespace cube::broker {

std::optional<SteadyTime> placeable_until(const AgentRecord& agent, const Liveness& liveness) {
  if (agent.state != AgentState::Welcomed)
    return std::nullopt;
  return liveness.ready_until(agent.id);
}

}  // namespace cube::broker
