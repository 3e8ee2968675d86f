// How a Cube task becomes a Docker container: its name, labels, limits and port publishing.
// Pure functions from a Task to dockerd's POST /containers/create body, so that every rule
// below is unit-tested without dockerd.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/task.h"

namespace cube::agent {

// Labels Cube puts on every container it creates; the other labels come from the task.
inline constexpr std::string_view kLabelTask = "cube.task";           // task ID
inline constexpr std::string_view kLabelNode = "cube.node";           // agent ID (stable)
inline constexpr std::string_view kLabelAttempt = "cube.attempt";     // task.attempt
inline constexpr std::string_view kLabelNodeName = "cube.node-name";  // agent name, display only
// A task label asking for a privileged container; honoured only with allow_privileged.
inline constexpr std::string_view kLabelPrivileged = "cube.privileged";

struct ContainerSpecOptions {
  std::string node_id;                        // value of cube.node
  std::string node_name;                      // value of cube.node-name; omitted when empty
  std::string publish_address = "127.0.0.1";  // HostIp of every published port
  int64_t pids_limit = 1024;  // HostConfig.PidsLimit; 0 leaves dockerd's default (unlimited)
  bool allow_privileged = false;
};

// "cube-<name>-<task id>": the name with characters Docker refuses (outside [A-Za-z0-9_.-])
// replaced by '-' and cut to 40 characters, "task" when empty. The whole ID is kept (not its
// first 8 characters): Cube's UUIDv7 IDs share their first 8 hex digits for about a minute, so
// a prefix would make two replicas named alike collide. One task has one container per node;
// the name is what makes a repeated start find the existing container instead of a duplicate.
std::string container_name_for(const Task& task);

// "8080" -> "8080/tcp", "53/udp" -> "53/udp". Invalid unless PORT is 1..65535 and the protocol
// is tcp, udp or sctp.
Result<std::string> normalize_port(std::string_view port);

// The create body: Image, Cmd (omitted when empty: the image's default), Env, Labels (task
// labels, then cube.task/cube.node/cube.attempt/cube.node-name which a task cannot override),
// ExposedPorts, and HostConfig {Memory (when > 0), NanoCpus = CPU * 1e9 (when > 0), PidsLimit,
// SecurityOpt ["no-new-privileges"], Init true (tini reaps zombies and forwards signals),
// Privileged false, PortBindings: each exposed port on publish_address with HostPort "" so
// dockerd picks a free port, RestartPolicy "no" (restarts are Cube's job), no Binds/Mounts}.
// Invalid when the task has no Image, an exposed port is malformed, or it asks for a privileged
// container (label cube.privileged=true) and allow_privileged is false.
Result<nlohmann::json> container_config_for(const Task& task, const ContainerSpecOptions& options);

}  // namespace cube::agent
