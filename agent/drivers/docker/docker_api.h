// DockerApi: the narrow slice of the Docker Engine API that DockerDriver needs. It knows
// containers and images, never tasks. DockerClient implements it over dockerd's unix socket;
// unit tests implement it with a fake (STYLE.md habit 13).
//
// Error contract shared by every call (DockerClient maps HTTP and libcurl results this way):
//   NotFound     HTTP 404: no such container/image, with dockerd's message
//   Conflict     HTTP 409: name already in use, container in the wrong state
//   Invalid      HTTP 400: dockerd refused the request (bad limit, bad config), its message
//   Internal     HTTP 5xx and anything unexpected, with dockerd's message
//   Unavailable  dockerd unreachable (socket missing, connection refused, timeout, dropped
//                connection): "dockerd unreachable at /var/run/docker.sock: <curl error>"
//
// Threading: every call blocks (HTTP round trip; container_wait until the container exits) and
// may be made from several threads at once. Never call these from a poll loop.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "agent/drivers/docker/docker_stream.h"
#include "common/clock.h"
#include "common/status.h"

namespace cube::agent {

struct DockerVersionInfo {
  std::string engine_version;          // "20.10.24+dfsg1"
  std::string api_version;             // the server's ApiVersion, "1.41"
  std::string min_api_version;         // the server's MinAPIVersion
  std::string negotiated_api_version;  // what the client uses: min(server, client maximum)
};

// One row of GET /containers/json.
struct ContainerSummary {
  std::string id;
  std::string name;   // without the leading "/"
  std::string state;  // "created", "running", "paused", "restarting", "exited", "dead"...
  std::map<std::string, std::string> labels;
  int64_t created_unix_s = 0;
};

// What POST /containers/{id}/wait answers once the container is not running.
struct ContainerWaitResult {
  int64_t status_code = 0;  // the exit code
  std::string error;        // dockerd's Error.Message, empty when none
};

struct LogsOptions {
  bool include_stdout = true;
  bool include_stderr = true;
  int64_t since_unix_s = 0;     // 0: from the beginning
  std::optional<int64_t> tail;  // last N lines; nullopt: all
  // Keep reading until the container ends or `timeout` passes; a timeout then returns what
  // arrived (on frame boundaries) instead of an error.
  bool follow = false;
  std::optional<Millis> timeout;  // nullopt: the client's request timeout
};

class DockerApi {
 public:
  virtual ~DockerApi() = default;

  // GET /_ping. OK when dockerd answers.
  virtual Status ping() = 0;

  // GET /version, and negotiates the API version used by every later call.
  virtual Result<DockerVersionInfo> version() = 0;

  // GET /images/{name}/json: the image's inspect document. NotFound when absent locally.
  virtual Result<nlohmann::json> image_inspect(const std::string& image) = 0;

  // POST /images/create?fromImage=&tag=: pulls `image` ("name[:tag]" or "name@digest"),
  // bounded by `timeout`. An "error" line in dockerd's streamed progress is the failure, with
  // its message (Internal, or NotFound when dockerd says so); a timeout is Unavailable.
  virtual Status image_pull(const std::string& image, Millis timeout) = 0;

  // POST /containers/create?name=: returns the new container's ID. Conflict when the name is
  // taken, NotFound when the image is missing, Invalid when dockerd refuses the config.
  virtual Result<std::string> container_create(const std::string& name,
                                               const nlohmann::json& config) = 0;

  // POST /containers/{id}/start. OK when already started (HTTP 304).
  virtual Status container_start(const std::string& id) = 0;

  // POST /containers/{id}/stop?t=: SIGTERM (or the image's stop signal), SIGKILL after
  // `grace` (rounded up to whole seconds, dockerd's unit). OK when already stopped (HTTP 304).
  // Blocks up to grace plus the request timeout.
  virtual Status container_stop(const std::string& id, Millis grace) = 0;

  // POST /containers/{id}/kill?signal=. Conflict when the container is not running.
  virtual Status container_kill(const std::string& id, const std::string& signal) = 0;

  // DELETE /containers/{id}?force=: removes the container (killing it first when `force`).
  virtual Status container_remove(const std::string& id, bool force) = 0;

  // GET /containers/{id}/json: the inspect document (State, Config, HostConfig,
  // NetworkSettings...). `id` may also be a container name.
  virtual Result<nlohmann::json> container_inspect(const std::string& id) = 0;

  // POST /containers/{id}/wait: blocks until the container is not running (returns at once
  // when it already exited). No timeout; returns Unavailable "cancelled" soon (within about a
  // second) after `stop` is requested, so owners can shut down.
  virtual Result<ContainerWaitResult> container_wait(const std::string& id,
                                                     std::stop_token stop) = 0;

  // GET /containers/json?all=&filters={"label":[...]}: containers carrying every label of
  // `labels` (an empty value matches any value of that key).
  virtual Result<std::vector<ContainerSummary>> container_list(
      const std::map<std::string, std::string>& labels, bool all) = 0;

  // GET /containers/{id}/logs, demultiplexed (docker_stream.h).
  virtual Result<DemuxedStream> container_logs(const std::string& id,
                                               const LogsOptions& options) = 0;

  // GET /containers/{id}/stats?stream=false: one stats document (memory_stats, cpu_stats,
  // pids_stats...). dockerd takes about a second to sample CPU.
  virtual Result<nlohmann::json> container_stats(const std::string& id) = 0;
};

}  // namespace cube::agent
