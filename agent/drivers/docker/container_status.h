// Reading dockerd's container inspect document and turning it into facts (ContainerFacts, and
// TaskExit once the container ended) and a Cube AttemptStatus. Pure functions, unit-tested with
// canned JSON.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "protocol/task.h"
#include "protocol/task_outcome.h"

namespace cube::agent {

// The parts of GET /containers/{id}/json that Cube uses.
struct ContainerFacts {
  std::string id;
  std::string name;      // without the leading "/"
  std::string status;    // State.Status: "created", "running", "exited", "dead"...
  bool running = false;  // State.Running (also true while paused or restarting)
  bool oom_killed = false;
  std::optional<int32_t> exit_code;  // State.ExitCode once the container has ended
  std::string error;                 // State.Error (e.g. the OCI runtime's start failure)
  int64_t started_ms = 0;            // State.StartedAt, 0 when never started
  int64_t finished_ms = 0;           // State.FinishedAt, 0 while running
  std::map<std::string, std::string> labels;
  std::map<std::string, std::vector<PortBinding>> port_bindings;  // NetworkSettings.Ports
};

// Internal when the document is not an object with an Id and a State object (dockerd never
// sends that); missing optional fields keep their defaults.
Result<ContainerFacts> parse_container_inspect(const nlohmann::json& inspect);

// NetworkSettings.Ports ({"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}]}) as
// Cube's port bindings. Ports exposed but not published (null) are left out.
std::map<std::string, std::vector<PortBinding>> parse_port_bindings(const nlohmann::json& ports);

// RFC 3339 with up to 9 fractional digits, as dockerd writes ("2024-05-01T10:20:30.123456789Z",
// or with a +hh:mm offset), in Unix milliseconds. nullopt when malformed; Go's zero time
// ("0001-01-01T00:00:00Z", meaning "never") and anything before 1970 give 0.
std::optional<int64_t> parse_docker_time_ms(std::string_view text);

// How the container ended, as facts (protocol/task_outcome.h); nullopt while it runs:
//   exited or dead with an exit code -> OutOfMemory when State.OOMKilled, else Exited; both
//                                       with the exit code and State.Error
//   no exit code ("created")         -> NeverStarted, with State.Error
// `stop_requested`: the driver's stop() was called for it.
std::optional<TaskExit> container_exit(const ContainerFacts& facts, bool stop_requested);

// The status of one task attempt in the container: Running while it runs, else
// ended_status() of container_exit(). container_id, port_bindings, start/finish times come
// from the facts.
AttemptStatus task_status_from(const ContainerFacts& facts, const std::string& task_id,
                               uint32_t attempt, bool stop_requested);

}  // namespace cube::agent
