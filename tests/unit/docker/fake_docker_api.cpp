#include "tests/unit/docker/fake_docker_api.h"

#include <algorithm>

namespace cube::agent::test {

using nlohmann::json;

void FakeDockerApi::add_image(const std::string& image) {
  MutexLock lock(mu_);
  images_.insert(image);
}

std::string FakeDockerApi::add_container(const std::string& name, json config, std::string status,
                                         int64_t created_unix_s) {
  MutexLock lock(mu_);
  Container c;
  c.id = "fake" + std::to_string(next_id_++);
  c.name = name;
  c.config = std::move(config);
  c.status = std::move(status);
  c.created_unix_s = created_unix_s;
  if (c.status == "running")
    publish_ports_locked(c);
  std::string id = c.id;
  containers_[id] = std::move(c);
  return id;
}

void FakeDockerApi::exit(const std::string& id, int code, bool oom_killed) {
  {
    MutexLock lock(mu_);
    if (Container* c = find_locked(id)) {
      c->status = "exited";
      c->exit_code = code;
      c->oom_killed = oom_killed;
    }
  }
  cv_.notify_all();
}

void FakeDockerApi::set_logs(const std::string& id, std::string multiplexed) {
  MutexLock lock(mu_);
  if (Container* c = find_locked(id))
    c->logs = std::move(multiplexed);
}

void FakeDockerApi::set_unreachable(std::optional<Status> status) {
  MutexLock lock(mu_);
  unreachable_ = std::move(status);
}
void FakeDockerApi::set_pull_error(std::optional<Status> status) {
  MutexLock lock(mu_);
  pull_error_ = std::move(status);
}
void FakeDockerApi::set_create_error(std::optional<Status> status) {
  MutexLock lock(mu_);
  create_error_ = std::move(status);
}
void FakeDockerApi::set_start_error(std::optional<Status> status) {
  MutexLock lock(mu_);
  start_error_ = std::move(status);
}

void FakeDockerApi::set_wait_error(std::optional<Status> status) {
  MutexLock lock(mu_);
  wait_error_ = std::move(status);
}

std::optional<FakeDockerApi::Container> FakeDockerApi::container(
    const std::string& id_or_name) const {
  MutexLock lock(mu_);
  if (Container* c = const_cast<FakeDockerApi*>(this)->find_locked(id_or_name))
    return *c;
  return std::nullopt;
}

std::vector<FakeDockerApi::Container> FakeDockerApi::containers() const {
  MutexLock lock(mu_);
  std::vector<Container> out;
  for (const auto& [id, c] : containers_)
    out.push_back(c);
  return out;
}

std::vector<std::string> FakeDockerApi::calls() const {
  MutexLock lock(mu_);
  return calls_;
}

size_t FakeDockerApi::count_calls(const std::string& prefix) const {
  MutexLock lock(mu_);
  return static_cast<size_t>(std::count_if(
      calls_.begin(), calls_.end(), [&](const std::string& c) { return c.starts_with(prefix); }));
}

bool FakeDockerApi::wait_for_waiters(size_t n, Millis timeout) const {
  MutexLock lock(mu_);
  return cv_.wait_for(mu_, timeout, [&]() CUBE_REQUIRES(mu_) { return waiting_ >= n; });
}

FakeDockerApi::Container* FakeDockerApi::find_locked(const std::string& id_or_name) {
  if (auto it = containers_.find(id_or_name); it != containers_.end())
    return &it->second;
  for (auto& [id, c] : containers_) {
    if (c.name == id_or_name)
      return &c;
  }
  return nullptr;
}

void FakeDockerApi::publish_ports_locked(Container& c) {
  if (!c.config.contains("HostConfig") || !c.config["HostConfig"].contains("PortBindings"))
    return;
  for (auto& [port, list] : c.config["HostConfig"]["PortBindings"].items()) {
    (void)list;
    c.config["_ports"][port] = json::array(
        {{{"HostIp", list[0].value("HostIp", "")}, {"HostPort", std::to_string(next_port_++)}}});
  }
}

json FakeDockerApi::inspect_locked(const Container& c) const {
  bool running = c.status == "running";
  return {
      {"Id", c.id},
      {"Name", "/" + c.name},
      {"State",
       {{"Status", c.status},
        {"Running", running},
        {"OOMKilled", c.oom_killed},
        {"ExitCode", c.exit_code},
        {"Error", ""},
        {"StartedAt", c.status == "created" ? "0001-01-01T00:00:00Z" : "2024-05-01T10:20:30Z"},
        {"FinishedAt", c.status == "exited" ? "2024-05-01T10:21:00Z" : "0001-01-01T00:00:00Z"}}},
      {"Config",
       {{"Image", c.config.value("Image", "")},
        {"Labels", c.config.value("Labels", json::object())}}},
      {"HostConfig", c.config.value("HostConfig", json::object())},
      {"NetworkSettings",
       {{"Ports", running ? c.config.value("_ports", json::object()) : json::object()}}},
  };
}

#define FAKE_CALL(text)         \
  MutexLock lock(mu_);          \
  calls_.push_back(text);       \
  if (unreachable_.has_value()) \
    return *unreachable_;

Status FakeDockerApi::ping() {
  FAKE_CALL("ping");
  return Status::ok();
}

Result<DockerVersionInfo> FakeDockerApi::version() {
  FAKE_CALL("version");
  return DockerVersionInfo{"20.10.24", "1.41", "1.12", "1.41"};
}

Result<json> FakeDockerApi::image_inspect(const std::string& image) {
  FAKE_CALL("image_inspect " + image);
  if (!images_.contains(image))
    return Status::not_found("GET /images/" + image + "/json: no such image: " + image);
  return json{{"Id", "sha256:" + image}};
}

Status FakeDockerApi::image_pull(const std::string& image, Millis) {
  FAKE_CALL("pull " + image);
  if (pull_error_.has_value())
    return *std::exchange(pull_error_, std::nullopt);
  images_.insert(image);
  return Status::ok();
}

Result<std::string> FakeDockerApi::container_create(const std::string& name, const json& config) {
  FAKE_CALL("create " + name);
  if (create_error_.has_value())
    return *std::exchange(create_error_, std::nullopt);
  if (find_locked(name) != nullptr)
    return Status::conflict("POST /containers/create: Conflict. The container name \"/" + name +
                            "\" is already in use");
  if (!images_.contains(config.value("Image", "")))
    return Status::not_found("POST /containers/create: No such image: " +
                             config.value("Image", ""));
  Container c;
  c.id = "fake" + std::to_string(next_id_++);
  c.name = name;
  c.config = config;
  std::string id = c.id;
  containers_[id] = std::move(c);
  return id;
}

Status FakeDockerApi::container_start(const std::string& id) {
  FAKE_CALL("start " + id);
  if (start_error_.has_value())
    return *std::exchange(start_error_, std::nullopt);
  Container* c = find_locked(id);
  if (c == nullptr)
    return Status::not_found("No such container: " + id);
  if (c->status != "running") {
    c->status = "running";
    publish_ports_locked(*c);
  }
  return Status::ok();
}

Status FakeDockerApi::container_stop(const std::string& id, Millis grace) {
  {
    FAKE_CALL("stop " + id + " t=" + std::to_string(grace.count()));
    Container* c = find_locked(id);
    if (c == nullptr)
      return Status::not_found("No such container: " + id);
    if (c->status == "running") {
      c->status = "exited";
      c->exit_code = 143;  // SIGTERM
    }
  }
  cv_.notify_all();
  return Status::ok();
}

Status FakeDockerApi::container_kill(const std::string& id, const std::string& signal) {
  {
    FAKE_CALL("kill " + id + " " + signal);
    Container* c = find_locked(id);
    if (c == nullptr)
      return Status::not_found("No such container: " + id);
    if (c->status != "running")
      return Status::conflict("Container " + id + " is not running");
    c->status = "exited";
    c->exit_code = 137;
  }
  cv_.notify_all();
  return Status::ok();
}

Status FakeDockerApi::container_remove(const std::string& id, bool force) {
  {
    FAKE_CALL("remove " + id);
    Container* c = find_locked(id);
    if (c == nullptr)
      return Status::not_found("No such container: " + id);
    if (c->status == "running" && !force)
      return Status::conflict("You cannot remove a running container " + id);
    containers_.erase(c->id);
  }
  cv_.notify_all();
  return Status::ok();
}

Result<json> FakeDockerApi::container_inspect(const std::string& id) {
  FAKE_CALL("inspect " + id);
  Container* c = find_locked(id);
  if (c == nullptr)
    return Status::not_found("No such container: " + id);
  return inspect_locked(*c);
}

Result<ContainerWaitResult> FakeDockerApi::container_wait(const std::string& id,
                                                          std::stop_token stop) {
  FAKE_CALL("wait " + id);
  if (wait_error_.has_value())
    return *std::exchange(wait_error_, std::nullopt);
  if (find_locked(id) == nullptr)
    return Status::not_found("No such container: " + id);
  ++waiting_;
  cv_.notify_all();
  int code = 137;  // what dockerd reports for a container force-removed while waited on
  bool ended = cv_.wait(mu_, stop, [&]() CUBE_REQUIRES(mu_) {
    Container* c = find_locked(id);
    if (c != nullptr && c->status != "running")
      code = c->exit_code;
    return c == nullptr || c->status != "running";
  });
  --waiting_;
  if (!ended)
    return Status::unavailable("wait " + id + " cancelled");
  return ContainerWaitResult{code, ""};
}

Result<std::vector<ContainerSummary>> FakeDockerApi::container_list(
    const std::map<std::string, std::string>& labels, bool all) {
  FAKE_CALL("list");
  std::vector<ContainerSummary> out;
  for (const auto& [id, c] : containers_) {
    if (!all && c.status != "running")
      continue;
    json l = c.config.value("Labels", json::object());
    bool match = std::all_of(labels.begin(), labels.end(), [&](const auto& kv) {
      return l.contains(kv.first) && (kv.second.empty() || l[kv.first] == kv.second);
    });
    if (!match)
      continue;
    ContainerSummary s;
    s.id = id;
    s.name = c.name;
    s.state = c.status;
    s.created_unix_s = c.created_unix_s;
    for (const auto& [k, v] : l.items())
      s.labels[k] = v.get<std::string>();
    out.push_back(std::move(s));
  }
  return out;
}

Result<DemuxedStream> FakeDockerApi::container_logs(const std::string& id, const LogsOptions&) {
  FAKE_CALL("logs " + id);
  Container* c = find_locked(id);
  if (c == nullptr)
    return Status::not_found("No such container: " + id);
  return demux_stream(c->logs);
}

Result<json> FakeDockerApi::container_stats(const std::string& id) {
  FAKE_CALL("stats " + id);
  if (find_locked(id) == nullptr)
    return Status::not_found("No such container: " + id);
  return json{{"memory_stats", {{"usage", 1024}}}};
}

#undef FAKE_CALL

}  // namespace cube::agent::test
