// DockerClient: DockerApi over dockerd's unix socket with libcurl (CURLOPT_UNIX_SOCKET_PATH),
// JSON through nlohmann-json. It knows containers, not tasks (DockerDriver maps tasks).
//
// API version: the first call (or version()) asks GET /version and from then on prefixes every
// path with /v<min(server ApiVersion, options.max_api_version)>, e.g. /v1.41 for Debian's
// docker.io 20.10. A failed negotiation is retried by the next call.
//
// Timeouts: connecting 2 s, each request options.request_timeout (30 s) unless the call says
// otherwise (image_pull, container_stop, follow logs, container_wait).
//
// Threading: all calls block and are safe from several threads at once. Each call borrows a
// libcurl easy handle from a small pool (kept for connection reuse) and returns it afterwards,
// so concurrent calls never share a handle.
#pragma once

#include <cstddef>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "agent/drivers/docker/docker_api.h"
#include "common/curl_handle.h"
#include "common/mutex.h"

namespace cube::agent {

inline constexpr std::string_view kDefaultDockerSocket = "/var/run/docker.sock";

// The socket path of a DOCKER_HOST-style address: "unix:///var/run/docker.sock" or a plain
// absolute path. Invalid for other schemes (tcp://, ssh://), which Cube does not speak.
Result<std::string> docker_socket_from_host(std::string_view docker_host);

// The socket to use: `flag` (--docker-host) when non-empty, else the DOCKER_HOST environment
// variable when set, else /var/run/docker.sock. Invalid as docker_socket_from_host says.
Result<std::string> resolve_docker_socket(std::string_view flag);

// "1.41" vs "1.43": negative, zero or positive like strcmp, numerically per component.
int compare_api_versions(std::string_view a, std::string_view b);

// The error a dockerd HTTP answer means (docker_api.h): OK for 2xx and 304, otherwise the code
// by status with dockerd's {"message": ...} (or the raw body) prefixed by `request`
// ("POST /containers/create").
Status status_from_http(long http_code, std::string_view body, std::string_view request);

struct DockerClientOptions {
  std::string socket_path = std::string(kDefaultDockerSocket);
  Millis connect_timeout{2000};
  Millis request_timeout{30000};
  // Highest API version Cube speaks; newer daemons are asked for this one.
  std::string max_api_version = "1.43";
  // Oldest daemon API Cube accepts: 1.40 is Docker 19.03 (NanoCpus, PidsLimit, Init all exist).
  std::string min_api_version = "1.40";
  // Idle handles kept for reuse; more concurrent calls than this make and free extra handles.
  size_t max_idle_handles = 8;
  // Largest response body read into memory (logs of a chatty container); larger is Internal.
  size_t max_response_bytes = size_t{64} << 20;
};

class DockerClient final : public DockerApi {
 public:
  // Makes no connection: dockerd may start later; every call reports Unavailable until it does.
  explicit DockerClient(DockerClientOptions options);
  ~DockerClient() override;
  DockerClient(const DockerClient&) = delete;
  DockerClient& operator=(const DockerClient&) = delete;

  const std::string& socket_path() const { return options_.socket_path; }

  // The negotiated "1.41", or empty before a successful negotiation.
  std::string negotiated_api_version() const CUBE_EXCLUDES(mu_);

  // DockerApi (contracts in docker_api.h).
  Status ping() override;
  Result<DockerVersionInfo> version() override;
  Result<nlohmann::json> image_inspect(const std::string& image) override;
  Status image_pull(const std::string& image, Millis timeout) override;
  Result<std::string> container_create(const std::string& name,
                                       const nlohmann::json& config) override;
  Status container_start(const std::string& id) override;
  Status container_stop(const std::string& id, Millis grace) override;
  Status container_kill(const std::string& id, const std::string& signal) override;
  Status container_remove(const std::string& id, bool force) override;
  Result<nlohmann::json> container_inspect(const std::string& id) override;
  Result<ContainerWaitResult> container_wait(const std::string& id, std::stop_token stop) override;
  Result<std::vector<ContainerSummary>> container_list(
      const std::map<std::string, std::string>& labels, bool all) override;
  Result<DemuxedStream> container_logs(const std::string& id, const LogsOptions& options) override;
  Result<nlohmann::json> container_stats(const std::string& id) override;

 private:
  struct HttpResponse {
    long code = 0;
    std::string body;
    bool timed_out = false;  // only with allow_timeout: the body is what arrived in time
  };
  struct Request {
    const char* method = "GET";
    std::string path;                   // "/containers/json?all=1", without the version prefix
    const std::string* body = nullptr;  // JSON body for POST
    std::optional<Millis> timeout = std::nullopt;  // nullopt: options_.request_timeout; 0: none
    std::stop_token stop = {};                     // aborts the transfer when requested
    bool versioned = true;                         // prefix the negotiated /v1.xx
    bool allow_timeout = false;  // a timeout returns the partial body instead of failing
  };

  // One HTTP exchange. Unavailable for transport failures, Internal for an oversized body; any
  // HTTP status is a successful HttpResponse (callers map it).
  Result<HttpResponse> perform(const Request& request);
  // Like perform, then status_from_http for codes other than 2xx/304.
  Result<HttpResponse> call(const Request& request);
  Result<nlohmann::json> call_json(const Request& request);

  // "/v1.41", negotiating first when needed.
  Result<std::string> api_prefix() CUBE_EXCLUDES(mu_);
  Result<DockerVersionInfo> negotiate() CUBE_EXCLUDES(mu_);

  CurlEasy acquire_handle() CUBE_EXCLUDES(mu_);
  void release_handle(CurlEasy handle) CUBE_EXCLUDES(mu_);

  const DockerClientOptions options_;
  mutable Mutex mu_;
  std::string api_version_ CUBE_GUARDED_BY(mu_);  // empty until negotiated
  std::vector<CurlEasy> idle_ CUBE_GUARDED_BY(mu_);
};

}  // namespace cube::agent
