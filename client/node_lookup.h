// find_node: which agent a person means by a name or an ID, the same for `cube-client nodes
// NAME` and the gateway's /nodes/{name or id} routes. An exact ID wins; otherwise the one agent
// with that name. Agent names need not be unique (two hosts may share a hostname), so a name
// that several agents have is refused with their IDs rather than guessed.
//
// Thread-safety: pure.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/messages.h"

namespace cube {

//   OK        the agent.
//   NotFound  no agent has that ID or name (the message names it).
//   Conflict  several agents have that name (the message lists their IDs).
Result<protocol::NodeInfo> find_node(std::vector<protocol::NodeInfo> nodes,
                                     const std::string& name_or_id);

}  // namespace cube
