// End-to-end tests of the docker driver: a real cube-broker, a real `cube-agent --driver docker`
// on the REAL dockerd with the local image cube/busybox:latest (scripts/start-dockerd.sh,
// scripts/build-test-image.sh), driven through the real cube-client.
//
// A missing dockerd or image FAILS these tests (never skips them), in CI (CI=true) and out of
// it: the message says how to fix the machine. Every container the agent makes carries
// cube.node=<the agent's ID>; TearDown kills the agent and removes every container with that
// label, even after a failure.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include "agent/drivers/docker/container_spec.h"
#include "agent/drivers/docker/docker_client.h"
#include "common/clock.h"
#include "common/curl_handle.h"
#include "common/ids.h"
#include "tests/integration/cluster.h"

namespace cube::test {
namespace {

using agent::DockerClient;
using agent::DockerClientOptions;

constexpr const char* kImage = "cube/busybox:latest";

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// One HTTP GET with libcurl: the body on a 200, nullopt otherwise.
std::optional<std::string> http_get(const std::string& url) {
  CurlEasy curl = CurlEasy::create();
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  if (curl_easy_perform(curl.get()) != CURLE_OK)
    return std::nullopt;
  long code = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &code);
  if (code != 200)
    return std::nullopt;
  return body;
}

class DockerCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    auto socket = agent::resolve_docker_socket("");
    ASSERT_TRUE(socket.is_ok()) << socket.status().to_string();
    DockerClientOptions options;
    options.socket_path = *socket;
    docker_ = std::make_unique<DockerClient>(options);
    const char* ci = std::getenv("CI");
    const bool in_ci = ci != nullptr && std::string_view(ci) == "true";
    Status ping = docker_->ping();
    ASSERT_TRUE(ping.is_ok()) << "dockerd is not reachable: " << ping.to_string() << "\n"
                              << (in_ci ? "CI=true: these tests require a running dockerd. " : "")
                              << "Start it with scripts/start-dockerd.sh (as root), then build "
                                 "the test image with scripts/build-test-image.sh.";
    dockerd_ok_ = true;
    auto image = docker_->image_inspect(kImage);
    ASSERT_TRUE(image.is_ok()) << "the test image " << kImage
                               << " is missing: " << image.status().to_string()
                               << "\nBuild it with scripts/build-test-image.sh.";

    c_.start_broker({"--store", "memory"});
    start_docker_agent();
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

  void start_docker_agent() {
    c_.start_agent("dock", {"--driver", "docker", "--stop-grace", "2s"});
  }

  // The containers that carry cube.task=<id> (running or not).
  std::vector<agent::ContainerSummary> containers_of(const std::string& task_id) {
    auto list = docker_->container_list({{std::string(agent::kLabelTask), task_id}}, true);
    EXPECT_TRUE(list.is_ok()) << list.status().to_string();
    return list.is_ok() ? *list : std::vector<agent::ContainerSummary>{};
  }

  bool wait_state(const std::string& id, int state, std::chrono::milliseconds timeout) {
    return c_.wait_task(
        id, [state](const auto& t) { return state_of(t) == state; }, timeout);
  }

  Cluster c_;
  std::unique_ptr<DockerClient> docker_;
  bool dockerd_ok_ = false;
  std::string agent_id_;
};

TEST_F(DockerCluster, HttpdAnswersOnItsHostPortWithItsMemoryLimitAndStopRemovesIt) {
  std::string id =
      c_.submit({"--name", "web", "--image", kImage, "-p", "8080/tcp", "--memory", "64MiB",
                 "--health", "/health", "--", "httpd", "-f", "-v", "-p", "8080", "-h", "/www"});
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(wait_state(id, 2, 30s)) << c_.get(id).dump() << c_.logs();

  nlohmann::json task = c_.get(id);
  ASSERT_TRUE(task["PortBindings"].contains("8080/tcp")) << task.dump();
  const auto& binding = task["PortBindings"]["8080/tcp"].at(0);
  EXPECT_EQ(binding.value("HostIp", ""), "127.0.0.1") << "published on loopback by default";
  std::string port = binding.value("HostPort", "");
  ASSERT_FALSE(port.empty()) << task.dump();
  std::string container_id = task.value("ContainerID", "");
  ASSERT_FALSE(container_id.empty()) << task.dump();

  // httpd needs a moment after the container starts; docker-proxy accepts before it listens.
  std::optional<std::string> body;
  ASSERT_TRUE(eventually(
      [&] { return (body = http_get("http://127.0.0.1:" + port + "/")).has_value(); }, 15s, 100ms))
      << "no HTTP 200 on the reported host port " << port << "\n"
      << c_.logs();
  EXPECT_TRUE(contains(*body, "hello from cube/busybox")) << *body;

  auto inspected = docker_->container_inspect(container_id);
  ASSERT_TRUE(inspected.is_ok()) << inspected.status().to_string();
  EXPECT_EQ((*inspected)["HostConfig"]["Memory"].get<int64_t>(), 67108864);
  EXPECT_EQ((*inspected)["Config"]["Labels"][std::string(agent::kLabelTask)], id);
  EXPECT_EQ((*inspected)["Config"]["Labels"][std::string(agent::kLabelNode)], agent_id_);

  // httpd -v logs each request on stderr: the logs come back through the broker.
  std::string logs;
  ASSERT_TRUE(eventually(
      [&] {
        auto r = c_.cli({"logs", id});
        logs = r.out;
        return r.status.code == 0 && contains(logs, "response:200");
      },
      10s, 200ms))
      << "logs: " << logs << "\n"
      << c_.logs();

  auto stopped = c_.cli({"stop", id});
  ASSERT_EQ(stopped.status.code, 0) << stopped.err;
  ASSERT_TRUE(wait_state(id, 3, 20s)) << c_.get(id).dump() << c_.logs();
  EXPECT_EQ(c_.get(id).value("Reason", ""), "stopped");
  EXPECT_TRUE(eventually([&] { return containers_of(id).empty(); }, 15s, 100ms))
      << "the container of a stopped task is removed";
  EXPECT_EQ(docker_->container_inspect(container_id).status().code(), ErrorCode::NotFound);
}

TEST_F(DockerCluster, LogsShowWhatTheContainerPrintedAndFollowUntilItEnds) {
  std::string once = c_.submit({"--name", "hello", "--image", kImage, "--", "sh", "-c",
                                "echo hello from cube; echo on stderr >&2"});
  ASSERT_TRUE(wait_state(once, 3, 30s)) << c_.get(once).dump() << c_.logs();
  auto r = c_.cli({"logs", once});
  ASSERT_EQ(r.status.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "hello from cube\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "on stderr\n")) << r.out;
  EXPECT_EQ(r.out.size(), std::string("hello from cube\non stderr\n").size()) << r.out;

  // -f from submission on: waits while the task is placed and started, prints each line as it
  // comes, and exits 0 when the container has ended and everything was printed.
  std::string ticker = c_.submit({"--name", "ticker", "--image", kImage, "--", "sh", "-c",
                                  "for i in 1 2 3 4; do echo tick $i; sleep 0.3; done"});
  auto followed = c_.cli({"logs", "-f", ticker}, 30s);
  EXPECT_EQ(followed.status.code, 0) << followed.err << c_.logs();
  EXPECT_EQ(followed.out, "tick 1\ntick 2\ntick 3\ntick 4\n");
  auto tail = c_.cli({"logs", "--tail", "2", ticker});
  EXPECT_EQ(tail.status.code, 0) << tail.err;
  EXPECT_EQ(tail.out, "tick 3\ntick 4\n");

  auto unknown = c_.cli({"logs", new_random_id()});
  EXPECT_EQ(unknown.status.code, 1);
  EXPECT_TRUE(contains(unknown.err, "not_found")) << unknown.err;
}

TEST_F(DockerCluster, AMissingImageFailsWithAReasonNamingItWithin15Seconds) {
  const SteadyTime start = system_clock().now();
  std::string id = c_.submit({"--name", "bad", "--image", "no-such/image:1"});
  ASSERT_TRUE(wait_state(id, 4, 15s)) << c_.get(id).dump() << c_.logs();
  EXPECT_LT(system_clock().now() - start, Millis(15000));
  std::string reason = c_.get(id).value("Reason", "");
  EXPECT_TRUE(contains(reason, "no-such/image:1")) << reason;
  EXPECT_TRUE(contains(reason, "image not found")) << reason;
  EXPECT_TRUE(containers_of(id).empty()) << "a failed start leaves no container";
}

TEST_F(DockerCluster, AKilledAgentRestartsAndReadoptsItsContainerWithoutADuplicate) {
  std::string id = c_.submit({"--name", "sleeper", "--image", kImage, "--", "sleep", "300"});
  ASSERT_TRUE(wait_state(id, 2, 30s)) << c_.get(id).dump() << c_.logs();
  nlohmann::json before = c_.get(id);
  auto containers = containers_of(id);
  ASSERT_EQ(containers.size(), 1u);
  const std::string container_id = containers[0].id;

  // A container labelled for this node whose task the broker does not know: after the
  // restart the agent reports it, the broker answers STOP, and it is stopped and removed.
  const std::string stray_task = new_uuid_v7(system_clock().wall());
  nlohmann::json config = {{"Image", kImage},
                           {"Cmd", {"sleep", "300"}},
                           {"Labels",
                            {{std::string(agent::kLabelNode), agent_id_},
                             {std::string(agent::kLabelTask), stray_task},
                             {std::string(agent::kLabelAttempt), "1"}}},
                           {"HostConfig", {{"Init", true}}}};
  auto stray = docker_->container_create("cube-stray-" + stray_task, config);
  ASSERT_TRUE(stray.is_ok()) << stray.status().to_string();
  ASSERT_TRUE(docker_->container_start(*stray).is_ok());

  c_.agent("dock").signal(SIGKILL);
  ASSERT_TRUE(c_.agent("dock").wait(10s).has_value());
  start_docker_agent();  // same data dir: same agent ID

  // `nodes` may still show the old session as ready; the stray's removal shows that the new
  // agent's HELLO was reconciled (the broker answered it with a STOP for the stray).
  ASSERT_TRUE(eventually([&] { return containers_of(stray_task).empty(); }, 20s, 200ms))
      << "the stray container was not removed\n"
      << c_.logs();
  // The broker never lost the node (the restart is well within the node grace): the task is
  // still Running on the same attempt, in the same single container.
  nlohmann::json after = c_.get(id);
  EXPECT_EQ(state_of(after), 2) << after.dump() << c_.logs();
  EXPECT_EQ(after.value("ContainerID", ""), container_id);
  EXPECT_EQ(after.value("Attempt", 0), before.value("Attempt", -1)) << after.dump();
  containers = containers_of(id);
  ASSERT_EQ(containers.size(), 1u) << "no duplicate container";
  EXPECT_EQ(containers[0].id, container_id);
  EXPECT_EQ(containers[0].state, "running");

  // The re-adopted task is still ours to stop.
  ASSERT_EQ(c_.cli({"stop", id}).status.code, 0);
  ASSERT_TRUE(wait_state(id, 3, 20s)) << c_.logs();
  EXPECT_TRUE(eventually([&] { return containers_of(id).empty(); }, 15s, 100ms));
}

// Needs no dockerd: an agent pointed at a socket where none listens.
TEST(DockerClusterWithoutDockerd, AnUnreachableDockerdIsShownOnTheNodeAndRejectsTasks) {
  Cluster c;
  c.start_broker({"--store", "memory"});
  std::string socket = (c.dir() / "no-dockerd.sock").string();
  c.start_agent("blind", {"--driver", "docker", "--docker-host", "unix://" + socket});
  nlohmann::json node;
  for (const auto& n : c.nodes()) {
    if (n.value("Name", "") == "blind")
      node = n;
  }
  ASSERT_TRUE(node.is_object()) << c.nodes().dump();
  std::string label = node["Labels"].value("cube.driver-error", "");
  EXPECT_TRUE(contains(label, "dockerd unreachable at " + socket)) << node.dump();

  std::string id = c.submit({"--name", "web", "--image", kImage});
  ASSERT_TRUE(c.wait_task(
      id, [](const auto& t) { return state_of(t) == 4; }, 30s))
      << c.get(id).dump() << c.logs();
  std::string reason = c.get(id).value("Reason", "");
  EXPECT_TRUE(contains(reason, "rejected by blind: dockerd unreachable at " + socket)) << reason;
}

// A service of real containers (docs/services.md): two busybox httpd replicas with a health
// path, each answering on its own host port; a container killed behind the agent's back comes
// back in its slot; rm removes every container.
TEST_F(DockerCluster, AServiceKeepsItsHttpdReplicasRunningAndRmRemovesTheirContainers) {
  auto created =
      c_.cli({"service", "create", "--name", "web", "--replicas", "2", "--image", kImage, "-p",
              "8080/tcp", "--health", "/health", "--", "httpd", "-f", "-p", "8080", "-h", "/www"});
  ASSERT_EQ(created.status.code, 0) << created.err;
  // Slot -> the task (as `service ps -o json` shows it) once both replicas run.
  auto running = [&](std::map<int, nlohmann::json>& slots) {
    auto r = c_.cli({"service", "ps", "web", "-o", "json"});
    auto tasks = nlohmann::json::parse(r.out, nullptr, false);
    slots.clear();
    if (!tasks.is_array())
      return false;
    for (const auto& t : tasks) {
      if (t.value("DesiredState", -1) == 2 && state_of(t) == 2)
        slots[t.value("Slot", 0)] = t;
    }
    return slots.size() == 2 && slots.contains(1) && slots.contains(2);
  };
  std::map<int, nlohmann::json> slots;
  ASSERT_TRUE(eventually([&] { return running(slots); }, 60s, 200ms))
      << c_.cli({"service", "ps", "web"}).out << c_.logs();
  for (const auto& [slot, t] : slots) {
    std::string port = t["PortBindings"]["8080/tcp"].at(0).value("HostPort", "");
    ASSERT_FALSE(port.empty()) << t.dump();
    EXPECT_TRUE(eventually([&] { return http_get("http://127.0.0.1:" + port + "/").has_value(); },
                           15s, 100ms))
        << "replica " << slot << " does not answer on " << port;
  }

  // Kill replica 2's container behind the agent's back: slot 2 runs again.
  std::string victim = slots[2].value("ContainerID", "");
  ASSERT_FALSE(victim.empty()) << slots[2].dump();
  ASSERT_TRUE(docker_->container_kill(victim, "SIGKILL").is_ok());
  std::map<int, nlohmann::json> again;
  EXPECT_TRUE(eventually(
      [&] { return running(again) && again[2].value("ContainerID", "") != victim; }, 60s, 200ms))
      << c_.cli({"service", "ps", "web"}).out << c_.logs();
  EXPECT_EQ(again[1].value("ID", ""), slots[1].value("ID", "")) << "slot 1 untouched";

  ASSERT_EQ(c_.cli({"service", "rm", "web"}).status.code, 0);
  for (const auto& [slot, t] : again) {
    std::string id = t.value("ID", "");
    EXPECT_TRUE(wait_state(id, 3, 30s)) << c_.get(id).dump();
    EXPECT_TRUE(eventually([&] { return containers_of(id).empty(); }, 15s, 100ms))
        << "the container of replica " << slot << " is removed";
  }
}

// A rolling update of real containers: a new template whose health path answers 404 fails its
// health check in the monitor period, which pauses the rollout with the check's reason; a
// rollback brings back the replicas with the health path that answers.
TEST_F(DockerCluster, AnUpdateWhoseHealthCheckFailsPausesAndARollbackRestoresTheReplicas) {
  auto created = c_.cli({"service",
                         "create",
                         "--name",
                         "web",
                         "--replicas",
                         "2",
                         "--image",
                         kImage,
                         "-p",
                         "8080/tcp",
                         "--health",
                         "/health",
                         "--health-interval",
                         "300ms",
                         "--health-retries",
                         "1",
                         "--update-monitor",
                         "3s",
                         "--",
                         "httpd",
                         "-f",
                         "-p",
                         "8080",
                         "-h",
                         "/www"});
  ASSERT_EQ(created.status.code, 0) << created.err;
  auto inspect = [&] {
    auto r = c_.cli({"service", "inspect", "web", "-o", "json"});
    return nlohmann::json::parse(r.out, nullptr, false);
  };
  auto state = [](const nlohmann::json& s) {
    const auto& status = s.value("UpdateStatus", nlohmann::json());
    return status.is_object() ? status.value("State", "") : std::string();
  };
  // Both slots Running a task of `version` (and nothing else live).
  auto all_at = [&](uint64_t version) {
    auto tasks = inspect().value("TaskList", nlohmann::json::array());
    int at = 0;
    for (const auto& t : tasks) {
      if (t.value("DesiredState", -1) != 2 || state_of(t) > 2)
        continue;
      if (state_of(t) != 2 || t.value("ServiceVersion", uint64_t{0}) != version)
        return false;
      ++at;
    }
    return at == 2;
  };
  uint64_t first = inspect().value("TemplateVersion", uint64_t{0});
  ASSERT_TRUE(eventually([&] { return all_at(first); }, 60s, 200ms))
      << c_.cli({"service", "ps", "web"}).out << c_.logs();

  auto update = c_.cli({"service", "update", "web", "--health", "/missing"});
  ASSERT_EQ(update.status.code, 0) << update.err;
  nlohmann::json service;
  ASSERT_TRUE(eventually(
      [&] {
        service = inspect();
        return state(service) == "paused";
      },
      60s, 200ms))
      << service.dump(2) << c_.logs();
  std::string message = service["UpdateStatus"].value("Message", "");
  EXPECT_TRUE(contains(message, "web.1 failed")) << message;
  EXPECT_TRUE(contains(message, "health check failed")) << message;

  auto rollback = c_.cli({"service", "rollback", "web"});
  ASSERT_EQ(rollback.status.code, 0) << rollback.err;
  EXPECT_TRUE(eventually([&] { return state(inspect()) == "rollback_completed" && all_at(first); },
                         60s, 200ms))
      << c_.cli({"service", "ps", "web"}).out << c_.logs();
  ASSERT_EQ(c_.cli({"service", "rm", "web"}).status.code, 0);
}

}  // namespace
}  // namespace cube::test
