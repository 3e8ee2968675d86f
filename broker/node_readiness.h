// Whether a node may take new placements: its agent has a current session (Welcomed) and was
// heard from recently enough that liveness calls it Ready (not suspect, not lost). The one
// answer that the scheduler's view, placement hints and STATUS's ready count all use.
//
// Thread-safety: none; broker loop thread. Pure over its arguments.
#pragma once

#include <optional>

#include "broker/agent_registry.h"
#include "broker/liveness.h"
#include "common/clock.h"

namespace cube::broker {

// Until when the node stays placeable if nothing more is heard from it; nullopt when it is not
// placeable at all (no session, or lost).
std::optional<SteadyTime> placeable_until(const AgentRecord& agent, const Liveness& liveness);

inline bool is_placeable(const AgentRecord& agent, const Liveness& liveness, SteadyTime now) {
  auto until = placeable_until(agent, liveness);
  return until && now < *until;
}

}  // namespace cube::broker
