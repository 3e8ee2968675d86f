// Reading dockerd's container inspect document and turning it into a Cube TaskStatus. Pure
// functions, unit-tested with canned JSON.
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

// The status of one task attempt running in the container:
//   running                          -> Running
//   ended and stop_requested         -> Completed, reason "stopped" (the exit code is kept)
//   ended with exit code 0           -> Completed
//   ended otherwise                  -> Failed, reason "out of memory" when OOM-killed, else
//                                       dockerd's State.Error, else "exit code N" (127 and
//                                       126 add "command not found" / "not executable")
//   created but never started        -> Failed "container was created but never started"
// container_id, port_bindings, start/finish times come from the facts.
TaskStatus task_status_from(const ContainerFacts& facts, const std::string& task_id,
                            uint32_t attempt, bool stop_requested);

// The final status from a wait result when the container is already gone (removed before it
// could be inspected): same rules as task_status_from, without OOM or error details.
TaskStatus final_status_from_exit(const std::string& task_id, uint32_t attempt,
                                  const std::string& container_id, int32_t exit_code,
                                  bool stop_requested, int64_t start_time_ms,
                                  int64_t finish_time_ms);

}  // namespace cube::agent
