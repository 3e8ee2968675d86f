#include "agent/drivers/docker/docker_client.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <utility>

#include "agent/drivers/docker/image_ref.h"

namespace cube::agent {
namespace {

using nlohmann::json;

// Percent-encodes everything but RFC 3986 unreserved characters and those in `keep`.
std::string url_encode(std::string_view text, std::string_view keep = {}) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string json_string(const json& j, const char* key) {
  if (!j.is_object())
    return {};
  auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    return {};
  return it->get<std::string>();
}

// dockerd answers errors as {"message": "..."}; anything else is shown raw, shortened.
std::string docker_message(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (std::string m = json_string(j, "message"); !m.empty())
    return m;
  std::string raw(body.substr(0, 512));
  while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r'))
    raw.pop_back();
  return raw.empty() ? "(empty answer)" : raw;
}

std::string seconds_text(Millis d) {
  std::ostringstream out;
  out << static_cast<double>(d.count()) / 1000.0 << " s";
  return out.str();
}

// libcurl callbacks: plain functions with a context pointer, as its C API wants.
struct TransferContext {
  std::string body;
  size_t max_bytes = 0;
  bool too_large = false;
  const std::stop_token* stop = nullptr;
};

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* ctx = static_cast<TransferContext*>(user);
  size_t n = size * count;
  if (ctx->body.size() + n > ctx->max_bytes) {
    ctx->too_large = true;
    return 0;  // makes curl_easy_perform fail with CURLE_WRITE_ERROR
  }
  ctx->body.append(data, n);
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  // libcurl calls this at least once a second even on an idle transfer, which bounds how long
  // a cancelled container_wait keeps its thread.
  auto* ctx = static_cast<TransferContext*>(user);
  return ctx->stop->stop_requested() ? 1 : 0;
}

std::optional<ErrorCode> pull_error_code(std::string_view message) {
  for (std::string_view needle : {"not found", "does not exist", "manifest unknown",
                                  "pull access denied", "repository name must"}) {
    if (message.find(needle) != std::string_view::npos)
      return ErrorCode::NotFound;
  }
  return std::nullopt;
}

}  // namespace

Result<std::string> docker_socket_from_host(std::string_view docker_host) {
  constexpr std::string_view kUnix = "unix://";
  std::string_view path = docker_host;
  if (path.starts_with(kUnix))
    path.remove_prefix(kUnix.size());
  else if (path.find("://") != std::string_view::npos)
    return Status::invalid("docker host \"" + std::string(docker_host) +
                           "\" is not supported: Cube talks to dockerd over a unix socket "
                           "(unix:///var/run/docker.sock)");
  if (!path.starts_with("/"))
    return Status::invalid("docker host \"" + std::string(docker_host) +
                           "\" must be unix:///absolute/path or an absolute socket path");
  return std::string(path);
}

Result<std::string> resolve_docker_socket(std::string_view flag) {
  if (!flag.empty())
    return docker_socket_from_host(flag);
  if (const char* env = std::getenv("DOCKER_HOST"); env != nullptr && *env != '\0') {
    auto r = docker_socket_from_host(env);
    if (!r)
      return r.status().with_context("DOCKER_HOST");
    return r;
  }
  return std::string(kDefaultDockerSocket);
}

int compare_api_versions(std::string_view a, std::string_view b) {
  auto next = [](std::string_view& s) {
    long v = 0;
    while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
      v = v * 10 + (s.front() - '0');
      s.remove_prefix(1);
    }
    if (!s.empty())
      s.remove_prefix(1);  // the '.'
    return v;
  };
  while (!a.empty() || !b.empty()) {
    long x = next(a);
    long y = next(b);
    if (x != y)
      return x < y ? -1 : 1;
  }
  return 0;
}

Status status_from_http(long http_code, std::string_view body, std::string_view request) {
  if ((http_code >= 200 && http_code < 300) || http_code == 304)
    return Status::ok();
  std::string message = std::string(request) + ": " + docker_message(body);
  switch (http_code) {
    case 400:
      return Status::invalid(std::move(message));
    case 401:
    case 403:
      return Status::unauthorized(std::move(message));
    case 404:
      return Status::not_found(std::move(message));
    case 409:
      return Status::conflict(std::move(message));
    default:
      return Status::internal(message + " (HTTP " + std::to_string(http_code) + ")");
  }
}

DockerClient::DockerClient(DockerClientOptions options) : options_(std::move(options)) {
  ensure_curl_global_init();
}

DockerClient::~DockerClient() = default;

std::string DockerClient::negotiated_api_version() const {
  MutexLock lock(mu_);
  return api_version_;
}

CurlEasy DockerClient::acquire_handle() {
  {
    MutexLock lock(mu_);
    if (!idle_.empty()) {
      CurlEasy h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  return CurlEasy::create();
}

void DockerClient::release_handle(CurlEasy handle) {
  // Drops pointers into the finished call's stack frame; keeps the live connection.
  curl_easy_reset(handle.get());
  MutexLock lock(mu_);
  if (idle_.size() < options_.max_idle_handles)
    idle_.push_back(std::move(handle));
}

Result<DockerClient::HttpResponse> DockerClient::perform(const Request& request) {
  std::string prefix;
  if (request.versioned) {
    auto p = api_prefix();
    if (!p)
      return p.status();
    prefix = std::move(p).value();
  }
  const std::string what = std::string(request.method) + " " + prefix + request.path;
  const std::string url = "http://localhost" + prefix + request.path;

  TransferContext ctx;
  ctx.max_bytes = options_.max_response_bytes;
  ctx.stop = &request.stop;
  char error_buffer[CURL_ERROR_SIZE] = {};
  CurlSlist headers;
  headers.append("Content-Type: application/json");
  // Without this, curl waits up to a second for "100 Continue" before sending bodies > 1 KiB.
  headers.append("Expect:");
  const Millis timeout = request.timeout.value_or(options_.request_timeout);

  CurlEasy handle = acquire_handle();
  CURL* c = handle.get();
  curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, options_.socket_path.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM from worker threads
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
  const std::string_view method = request.method;
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    if (request.body != nullptr) {
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body->size()));
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body->data());
    } else {
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
  } else if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method);
  }
  if (request.stop.stop_possible()) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &ctx);
  }

  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  std::string curl_error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
  release_handle(std::move(handle));

  switch (rc) {
    case CURLE_OK:
      return HttpResponse{code, std::move(ctx.body), false};
    case CURLE_OPERATION_TIMEDOUT:
      if (request.allow_timeout && code != 0)
        return HttpResponse{code, std::move(ctx.body), true};
      return Status::unavailable("dockerd at " + options_.socket_path + " did not finish " + what +
                                 " within " + seconds_text(timeout) + ": " + curl_error);
    case CURLE_ABORTED_BY_CALLBACK:
      return Status::unavailable(what + " cancelled");
    case CURLE_WRITE_ERROR:
      if (ctx.too_large)
        return Status::internal("dockerd's answer to " + what + " is larger than " +
                                std::to_string(options_.max_response_bytes) + " bytes");
      break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST: {
      // curl's own text names "localhost port 80", the placeholder host of the URL; the
      // socket is what matters.
      std::error_code ec;
      bool exists = std::filesystem::exists(options_.socket_path, ec);
      return Status::unavailable("dockerd unreachable at " + options_.socket_path + ": " +
                                 curl_easy_strerror(rc) +
                                 (exists ? " (is dockerd running? " : " (no such socket; ") +
                                 "start it with scripts/start-dockerd.sh)");
    }
    default:
      break;
  }
  return Status::unavailable("dockerd unreachable at " + options_.socket_path + " during " + what +
                             ": " + curl_error);
}

Result<DockerClient::HttpResponse> DockerClient::call(const Request& request) {
  auto response = perform(request);
  if (!response)
    return response;
  Status s = status_from_http(response->code, response->body,
                              std::string(request.method) + " " + request.path);
  if (!s.is_ok())
    return s;
  return response;
}

Result<nlohmann::json> DockerClient::call_json(const Request& request) {
  auto response = call(request);
  if (!response)
    return response.status();
  json j = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return Status::internal(std::string(request.method) + " " + request.path +
                            ": dockerd sent invalid JSON: " + docker_message(response->body));
  return j;
}

Result<DockerVersionInfo> DockerClient::negotiate() {
  auto j = call_json({.method = "GET", .path = "/version", .versioned = false});
  if (!j)
    return j.status();
  DockerVersionInfo info;
  info.engine_version = json_string(*j, "Version");
  info.api_version = json_string(*j, "ApiVersion");
  info.min_api_version = json_string(*j, "MinAPIVersion");
  if (info.api_version.empty())
    return Status::internal("GET /version: dockerd's answer has no ApiVersion");
  if (compare_api_versions(info.api_version, options_.min_api_version) < 0) {
    return Status::unavailable("dockerd at " + options_.socket_path + " speaks API " +
                               info.api_version + "; Cube needs at least " +
                               options_.min_api_version + " (Docker 19.03)");
  }
  info.negotiated_api_version = compare_api_versions(info.api_version, options_.max_api_version) < 0
                                    ? info.api_version
                                    : options_.max_api_version;
  MutexLock lock(mu_);
  api_version_ = info.negotiated_api_version;
  return info;
}

Result<std::string> DockerClient::api_prefix() {
  {
    MutexLock lock(mu_);
    if (!api_version_.empty())
      return "/v" + api_version_;
  }
  // Several threads may negotiate at once on a cold start; they all store the same answer.
  auto info = negotiate();
  if (!info)
    return info.status();
  return "/v" + info->negotiated_api_version;
}

Status DockerClient::ping() {
  return call({.method = "GET", .path = "/_ping", .versioned = false}).status();
}

Result<DockerVersionInfo> DockerClient::version() {
  return negotiate();
}

Result<nlohmann::json> DockerClient::image_inspect(const std::string& image) {
  return call_json({.method = "GET", .path = "/images/" + url_encode(image, "/:@") + "/json"});
}

Status DockerClient::image_pull(const std::string& image, Millis timeout) {
  ImageRef ref = split_image_ref(image);
  std::string path = "/images/create?fromImage=" + url_encode(ref.repository) +
                     "&tag=" + url_encode(ref.digest.empty() ? ref.tag : ref.digest);
  auto response =
      perform({.method = "POST", .path = path, .timeout = timeout, .allow_timeout = true});
  if (!response)
    return response.status();
  if (response->timed_out)
    return Status::unavailable("pulling " + image + " did not finish within " +
                               seconds_text(timeout));
  if (response->code < 200 || response->code >= 300) {
    Status s = status_from_http(response->code, response->body, "pull " + image);
    if (pull_error_code(s.message()).has_value())
      return Status::not_found(s.message());
    return s;
  }
  // 200 with a stream of JSON progress lines; a failure after the start is an "error" line.
  std::istringstream lines(response->body);
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::string error = json_string(j, "error");
    if (error.empty())
      continue;
    std::string message = "pull " + image + ": " + error;
    if (pull_error_code(error).has_value())
      return Status::not_found(std::move(message));
    return Status::internal(std::move(message));
  }
  return Status::ok();
}

Result<std::string> DockerClient::container_create(const std::string& name,
                                                   const nlohmann::json& config) {
  const std::string body = config.dump();
  auto j = call_json(
      {.method = "POST", .path = "/containers/create?name=" + url_encode(name), .body = &body});
  if (!j)
    return j.status();
  std::string id = json_string(*j, "Id");
  if (id.empty())
    return Status::internal("POST /containers/create: dockerd's answer has no Id");
  return id;
}

Status DockerClient::container_start(const std::string& id) {
  return call({.method = "POST", .path = "/containers/" + url_encode(id) + "/start"}).status();
}

Status DockerClient::container_stop(const std::string& id, Millis grace) {
  // dockerd's t is whole seconds; round up so the task gets at least the grace it was promised.
  int64_t seconds = std::max<int64_t>(0, (grace.count() + 999) / 1000);
  return call({.method = "POST",
               .path = "/containers/" + url_encode(id) + "/stop?t=" + std::to_string(seconds),
               .timeout = Millis(seconds * 1000) + options_.request_timeout})
      .status();
}

Status DockerClient::container_kill(const std::string& id, const std::string& signal) {
  return call({.method = "POST",
               .path = "/containers/" + url_encode(id) + "/kill?signal=" + url_encode(signal)})
      .status();
}

Status DockerClient::container_remove(const std::string& id, bool force) {
  // v=1 also removes anonymous volumes the image declared, which would otherwise leak.
  return call({.method = "DELETE",
               .path = "/containers/" + url_encode(id) + "?v=1&force=" + (force ? "1" : "0")})
      .status();
}

Result<nlohmann::json> DockerClient::container_inspect(const std::string& id) {
  return call_json({.method = "GET", .path = "/containers/" + url_encode(id) + "/json"});
}

Result<ContainerWaitResult> DockerClient::container_wait(const std::string& id,
                                                         std::stop_token stop) {
  auto j = call_json({.method = "POST",
                      .path = "/containers/" + url_encode(id) + "/wait",
                      .timeout = Millis(0),  // 0 = no limit: the container may run for months
                      .stop = std::move(stop)});
  if (!j)
    return j.status();
  ContainerWaitResult result;
  if (auto it = j->find("StatusCode"); it != j->end() && it->is_number_integer())
    result.status_code = it->get<int64_t>();
  else
    return Status::internal("POST /containers/" + id + "/wait: answer has no StatusCode");
  if (auto it = j->find("Error"); it != j->end())
    result.error = json_string(*it, "Message");
  return result;
}

Result<std::vector<ContainerSummary>> DockerClient::container_list(
    const std::map<std::string, std::string>& labels, bool all) {
  json label_filters = json::array();
  for (const auto& [key, value] : labels)
    label_filters.push_back(value.empty() ? key : key + "=" + value);
  json filters = json::object();
  if (!label_filters.empty())
    filters["label"] = label_filters;
  auto j = call_json({.method = "GET",
                      .path = std::string("/containers/json?all=") + (all ? "1" : "0") +
                              "&filters=" + url_encode(filters.dump())});
  if (!j)
    return j.status();
  if (!j->is_array())
    return Status::internal("GET /containers/json: answer is not an array");
  std::vector<ContainerSummary> out;
  for (const json& row : *j) {
    ContainerSummary c;
    c.id = json_string(row, "Id");
    c.state = json_string(row, "State");
    if (auto it = row.find("Names");
        it != row.end() && it->is_array() && !it->empty() && it->front().is_string()) {
      c.name = it->front().get<std::string>();
      if (c.name.starts_with("/"))
        c.name.erase(0, 1);
    }
    if (auto it = row.find("Labels"); it != row.end() && it->is_object()) {
      for (const auto& [k, v] : it->items()) {
        if (v.is_string())
          c.labels[k] = v.get<std::string>();
      }
    }
    if (auto it = row.find("Created"); it != row.end() && it->is_number_integer())
      c.created_unix_s = it->get<int64_t>();
    out.push_back(std::move(c));
  }
  return out;
}

Result<DemuxedStream> DockerClient::container_logs(const std::string& id,
                                                   const LogsOptions& options) {
  std::string path =
      "/containers/" + url_encode(id) + "/logs?stdout=" + (options.include_stdout ? "1" : "0") +
      "&stderr=" + (options.include_stderr ? "1" : "0") + "&follow=" + (options.follow ? "1" : "0");
  if (options.since_unix_s > 0)
    path += "&since=" + std::to_string(options.since_unix_s);
  path += "&tail=" + (options.tail ? std::to_string(*options.tail) : std::string("all"));
  auto response = call(
      {.method = "GET", .path = path, .timeout = options.timeout, .allow_timeout = options.follow});
  if (!response)
    return response.status();
  if (!response->timed_out) {
    auto demuxed = demux_stream(response->body);
    if (!demuxed)
      return demuxed.status().with_context("logs of container " + id);
    return demuxed;
  }
  // A follow that ran out of time may end inside a frame: keep what arrived.
  DemuxedStream out;
  StreamDemuxer demuxer([&out](StreamKind kind, std::string_view payload) {
    out.combined.append(payload);
    (kind == StreamKind::Stderr ? out.stderr_data : out.stdout_data).append(payload);
  });
  CUBE_RETURN_IF_ERROR(demuxer.feed(response->body));
  return out;
}

Result<nlohmann::json> DockerClient::container_stats(const std::string& id) {
  return call_json(
      {.method = "GET", .path = "/containers/" + url_encode(id) + "/stats?stream=false"});
}

}  // namespace cube::agent
