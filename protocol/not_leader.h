// The not_leader answer of a standby broker (docs/protocol.md, "not_leader"; docs/ha.md): error
// code unavailable with the message "not_leader: leader is HOST:PORT", or "not_leader: not known
// yet" before the standby has read the leader key. Clients and agents that follow the redirect
// read it here, so the text is matched in one place.
//
// Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cube::protocol {

inline constexpr std::string_view kNotLeaderPrefix = "not_leader: ";
inline constexpr std::string_view kLeaderIsPrefix = "not_leader: leader is ";

// What a not_leader answer says.
struct NotLeader {
  // The leader's client address HOST:PORT, when the standby named one that parses as
  // HOST:PORT; nullopt for "not known yet" (or a name that is not HOST:PORT).
  std::optional<std::string> leader;
};

// The not_leader answer `status` carries; nullopt when it is any other status (OK included).
std::optional<NotLeader> parse_not_leader(const Status& status);
// The same from an error code and message (an agent's ERROR message).
std::optional<NotLeader> parse_not_leader(ErrorCode code, std::string_view message);

}  // namespace cube::protocol
