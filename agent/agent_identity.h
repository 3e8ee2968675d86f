// The agent's stable identity: a random UUID kept in <data-dir>/agent-id, so that an agent that
// restarts comes back as the same node and the broker can reconcile its tasks (docs/protocol.md,
// HELLO.agent_id).
//
// Thread-safety: call once at startup, before the agent loop runs; blocks on file I/O.
#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"

namespace cube::agent {

// The file name inside the data dir.
inline constexpr const char* kAgentIdFile = "agent-id";

// Returns the id stored in <data_dir>/agent-id, or creates the file with new_random_id() when
// it does not exist (written to a temporary file and renamed, so a crash never leaves a half
// id). The data dir must exist. Errors:
//   Invalid   the file exists but does not hold a UUID (names the file: fix or delete it)
//   Internal  the file cannot be read or written (names the file and the OS error)
Result<std::string> load_or_create_agent_id(const std::filesystem::path& data_dir);

}  // namespace cube::agent
