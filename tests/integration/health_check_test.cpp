// Health checks end to end: a real cube-broker, a real `cube-agent --driver docker` on the REAL
// dockerd with cube/busybox:latest, driven through the real cube-client. A busybox httpd whose
// health path exists keeps running; one whose path answers 404 is stopped by the agent,
// reported Failed with the health check's reason, and restarted by the broker's restart policy.
//
// A missing dockerd or image FAILS these tests (never skips them), as in docker_cluster_test.
// TearDown kills the agent and removes every container labelled with its node ID.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "agent/drivers/docker/container_spec.h"
#include "agent/drivers/docker/docker_client.h"
#include "tests/integration/cluster.h"

namespace cube::test {
namespace {

using agent::DockerClient;
using agent::DockerClientOptions;

constexpr const char* kImage = "cube/busybox:latest";

// A busybox httpd on 8080 serving /www, where /www/health exists.
std::vector<std::string> httpd_with_health_file() {
  return {"--", "sh", "-c",
          "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www"};
}

class HealthCheckCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    auto socket = agent::resolve_docker_socket("");
    ASSERT_TRUE(socket.is_ok()) << socket.status().to_string();
    DockerClientOptions options;
    options.socket_path = *socket;
    docker_ = std::make_unique<DockerClient>(options);
    Status ping = docker_->ping();
    ASSERT_TRUE(ping.is_ok()) << "dockerd is not reachable: " << ping.to_string()
                              << "\nStart it with scripts/start-dockerd.sh (as root), then build "
                                 "the test image with scripts/build-test-image.sh.";
    dockerd_ok_ = true;
    auto image = docker_->image_inspect(kImage);
    ASSERT_TRUE(image.is_ok()) << "the test image " << kImage
                               << " is missing: " << image.status().to_string()
                               << "\nBuild it with scripts/build-test-image.sh.";

    // Restarts after 100 ms instead of 1 s, so a restart shows up quickly.
    c_.start_broker({"--store", "memory", "--restart-backoff", "100ms"});
    // Probes every 200 ms once the grace (one interval) has passed; 2 failures fail a task; a
    // stop waits 1 s before the kill.
    c_.start_agent("dock", {"--driver", "docker", "--stop-grace", "1s", "--health-interval",
                            "200ms", "--health-timeout", "500ms", "--health-retries", "2"});
    std::ifstream in(c_.dir() / "dock" / "agent-id");
    std::getline(in, agent_id_);
    ASSERT_FALSE(agent_id_.empty()) << "the agent wrote no agent-id in its data dir";
  }

  void TearDown() override {
    c_.forget_agent("dock");  // SIGKILL + reap: nothing creates containers any more
    if (dockerd_ok_ && !agent_id_.empty()) {
      auto left = docker_->container_list({{std::string(agent::kLabelNode), agent_id_}}, true);
      ASSERT_TRUE(left.is_ok()) << "cleaning up: " << left.status().to_string();
      for (const auto& container : *left) {
        Status s = docker_->container_remove(container.id, /*force=*/true);
        EXPECT_TRUE(s.is_ok() || s.is_not_found())
            << "removing " << container.name << ": " << s.to_string();
      }
    }
  }

  bool wait_state(const std::string& id, int state, std::chrono::milliseconds timeout) {
    return c_.wait_task(
        id, [state](const auto& t) { return state_of(t) == state; }, timeout);
  }

  // Every Reason in the task's history.
  std::vector<std::string> event_reasons(const std::string& id) {
    std::vector<std::string> reasons;
    nlohmann::json task = c_.get(id);
    if (task.contains("Events") && task["Events"].is_array()) {
      for (const auto& e : task["Events"])
        reasons.push_back(e.value("Reason", ""));
    }
    return reasons;
  }

  Cluster c_;
  std::unique_ptr<DockerClient> docker_;
  bool dockerd_ok_ = false;
  std::string agent_id_;
};

TEST_F(HealthCheckCluster, AHealthyTaskKeepsRunningOnItsFirstAttempt) {
  std::vector<std::string> args = {"--name",   "healthy",   "--image", kImage,     "-p",
                                   "8080/tcp", "--restart", "always",  "--health", "/health"};
  auto cmd = httpd_with_health_file();
  args.insert(args.end(), cmd.begin(), cmd.end());
  std::string id = c_.submit(args);
  ASSERT_TRUE(wait_state(id, 2, 30s)) << c_.get(id).dump() << c_.logs();
  const int attempt = c_.get(id).value("Attempt", 0);

  std::string agent_log;
  ASSERT_TRUE(eventually(
      [&] {
        agent_log = c_.agent("dock").output();
        return contains(agent_log, "health check of task " + id);
      },
      10s, 50ms))
      << "the agent never started probing\n"
      << c_.logs();
  // Twenty intervals of probing must not change anything.
  bool changed = eventually(
      [&] {
        nlohmann::json t = c_.get(id);
        return state_of(t) != 2 || t.value("Attempt", 0) != attempt;
      },
      4s, 200ms);
  EXPECT_FALSE(changed) << c_.get(id).dump(2) << c_.logs();
  nlohmann::json t = c_.get(id);
  EXPECT_EQ(state_of(t), 2) << t.dump() << c_.logs();
  EXPECT_EQ(t.value("Attempt", 0), attempt) << "restarted although healthy\n" << c_.logs();
  EXPECT_EQ(t.value("RestartCount", -1), 0) << t.dump();
  EXPECT_FALSE(contains(c_.agent("dock").output(), "health check of task " + id + " attempt " +
                                                       std::to_string(attempt) + " failed"))
      << c_.logs();
}

TEST_F(HealthCheckCluster, ATaskWhosePathIs404IsStoppedAsFailedAndRestarted) {
  std::vector<std::string> args = {"--name",   "sick",     "--image",          kImage,
                                   "-p",       "8080/tcp", "--restart",        "on-failure",
                                   "--health", "/missing", "--health-retries", "3"};
  auto cmd = httpd_with_health_file();
  args.insert(args.end(), cmd.begin(), cmd.end());
  std::string id = c_.submit(args);
  ASSERT_TRUE(wait_state(id, 2, 30s)) << c_.get(id).dump() << c_.logs();

  // Grace 200 ms + 3 failures 200 ms apart + a 1 s stop grace + 100 ms backoff + a new
  // container: well within 20 s.
  ASSERT_TRUE(c_.wait_task(
      id,
      [](const nlohmann::json& t) {
        return t.value("RestartCount", 0) >= 1 && t.value("Attempt", 0) >= 2;
      },
      30s))
      << c_.get(id).dump(2) << "\n"
      << c_.logs();

  std::string failure;
  for (const auto& reason : event_reasons(id)) {
    if (contains(reason, "health check failed"))
      failure = reason;
  }
  ASSERT_FALSE(failure.empty()) << c_.get(id).dump(2);
  // The task's own threshold (3) wins over the agent's default (2); the reason names the URL
  // on the published host port and the answer.
  EXPECT_TRUE(contains(failure, "health check failed 3 times: GET http://127.0.0.1:")) << failure;
  EXPECT_TRUE(contains(failure, "/missing: HTTP 404")) << failure;
  std::string agent_log = c_.agent("dock").output();
  EXPECT_TRUE(contains(agent_log, "is unhealthy")) << agent_log;

  // The failure was a Failed state change, and a new attempt ran after it.
  ASSERT_TRUE(c_.wait_task(
      id,
      [](const nlohmann::json& t) {
        bool failed = false;
        for (const auto& e : t.value("Events", nlohmann::json::array())) {
          if (e.value("State", -1) == 4 && contains(e.value("Reason", ""), "health check failed"))
            failed = true;
          else if (failed && e.value("State", -1) == 2)
            return true;
        }
        return false;
      },
      20s))
      << c_.get(id).dump(2);
}

}  // namespace
}  // namespace cube::test
