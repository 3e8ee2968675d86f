// FakeDockerApi: an in-memory dockerd for DockerDriver unit tests. Containers are JSON-backed
// records; tests make them exit with exit(), inject errors per call, and read the call log.
// container_wait really blocks (on a condition variable) until exit() or cancellation, so the
// driver's waiter threads run as they do against dockerd.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/drivers/docker/docker_api.h"
#include "common/mutex.h"

namespace cube::agent::test {

class FakeDockerApi final : public DockerApi {
 public:
  struct Container {
    std::string id;
    std::string name;
    nlohmann::json config;
    std::string status = "created";  // created, running, exited
    int exit_code = 0;
    bool oom_killed = false;
    int64_t created_unix_s = 0;
    std::string logs;  // raw multiplexed bytes, as dockerd sends them
  };

  // --- Test controls ---
  void add_image(const std::string& image);
  // Adds a container directly (as if left by an earlier agent); returns its ID.
  std::string add_container(const std::string& name, nlohmann::json config, std::string status,
                            int64_t created_unix_s = 0);
  // The container ends with `code`; wakes container_wait.
  void exit(const std::string& id, int code, bool oom_killed = false);
  void set_logs(const std::string& id, std::string multiplexed);
  // Every call fails with this status while set (dockerd down).
  void set_unreachable(std::optional<Status> status);
  // The next pull fails with this status (default: pulls succeed and add the image).
  void set_pull_error(std::optional<Status> status);
  void set_create_error(std::optional<Status> status);
  void set_start_error(std::optional<Status> status);
  // The next container_wait fails with this status (dockerd dropped the connection).
  void set_wait_error(std::optional<Status> status);

  std::optional<Container> container(const std::string& id_or_name) const;
  std::vector<Container> containers() const;
  // "create cube-web-...", "start <id>", "stop <id> t=<ms>", "remove <id>", "pull <image>",
  // "wait <id>", "list", "inspect <id>", "image_inspect <image>", "logs <id>".
  std::vector<std::string> calls() const;
  size_t count_calls(const std::string& prefix) const;
  // Blocks until `n` container_wait calls are in progress (or `timeout` passes).
  bool wait_for_waiters(size_t n, Millis timeout) const;

  // --- DockerApi ---
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
  Container* find_locked(const std::string& id_or_name) CUBE_REQUIRES(mu_);
  nlohmann::json inspect_locked(const Container& c) const CUBE_REQUIRES(mu_);
  void publish_ports_locked(Container& c) CUBE_REQUIRES(mu_);

  mutable Mutex mu_;
  // _any: container_wait waits with a std::stop_token.
  mutable std::condition_variable_any cv_;
  std::set<std::string> images_ CUBE_GUARDED_BY(mu_);
  std::map<std::string, Container> containers_ CUBE_GUARDED_BY(mu_);  // by ID
  std::vector<std::string> calls_ CUBE_GUARDED_BY(mu_);
  std::optional<Status> unreachable_ CUBE_GUARDED_BY(mu_), pull_error_ CUBE_GUARDED_BY(mu_),
      create_error_ CUBE_GUARDED_BY(mu_), start_error_ CUBE_GUARDED_BY(mu_),
      wait_error_ CUBE_GUARDED_BY(mu_);
  int next_id_ CUBE_GUARDED_BY(mu_) = 1;
  int next_port_ CUBE_GUARDED_BY(mu_) = 49153;
  size_t waiting_ CUBE_GUARDED_BY(mu_) = 0;
};

}  // namespace cube::agent::test
