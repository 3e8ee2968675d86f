#include "tests/docker/docker_test_env.h"

#include <cstdlib>
#include <string_view>

#include "common/ids.h"

namespace cube::agent::test {

void DockerTestEnv::SetUp() {
  run_id_ = new_random_id().substr(0, 13);
  node_id_ = "cube-test-" + run_id_;

  auto socket = resolve_docker_socket("");
  ASSERT_TRUE(socket.is_ok()) << socket.status().to_string();
  DockerClientOptions options;
  options.socket_path = *socket;
  client_ = std::make_unique<DockerClient>(options);

  const char* ci = std::getenv("CI");
  const bool in_ci = ci != nullptr && std::string_view(ci) == "true";
  Status ping = client_->ping();
  dockerd_ok_ = ping.is_ok();
  ASSERT_TRUE(ping.is_ok()) << "dockerd is not reachable: " << ping.to_string() << "\n"
                            << (in_ci ? "CI=true: the docker tests require a running dockerd. "
                                      : "")
                            << "These tests need the real dockerd: start it with "
                               "scripts/start-dockerd.sh (as root), then build the test image "
                               "with scripts/build-test-image.sh.";
  auto image = client_->image_inspect(kTestImage);
  ASSERT_TRUE(image.is_ok()) << "the test image " << kTestImage
                             << " is missing: " << image.status().to_string()
                             << "\nBuild it with scripts/build-test-image.sh.";
  driver_ = make_driver();
}

void DockerTestEnv::TearDown() {
  driver_.reset();  // joins its waiters before the containers go
  if (dockerd_ok_)
    remove_test_containers();
}

std::unique_ptr<DockerDriver> DockerTestEnv::make_driver() {
  DockerDriverOptions options;
  options.node_id = node_id_;
  options.node_name = "docker-tests";
  options.stop_grace = Millis(2000);
  options.pull_timeout = Millis(10000);
  auto driver = std::make_unique<DockerDriver>(*client_, options, clock_);
  driver->set_exit_sink(exits_.sink());
  return driver;
}

Task DockerTestEnv::make_task(const std::string& name, std::vector<std::string> cmd) {
  Task t;
  t.id = new_uuid_v7(clock_.wall());
  t.name = name;
  t.image = kTestImage;
  t.cmd = std::move(cmd);
  t.labels = {{kTestLabel, run_id_}};
  t.attempt = 1;
  return t;
}

std::string DockerTestEnv::create_test_container(const std::vector<std::string>& cmd) {
  nlohmann::json config = {
      {"Image", kTestImage}, {"Cmd", cmd}, {"Labels", {{kTestLabel, run_id_}}}};
  std::string name = "cube-test-" + run_id_ + "-" + new_random_id().substr(0, 8);
  auto id = client_->container_create(name, config);
  EXPECT_TRUE(id.is_ok()) << id.status().to_string();
  return id.is_ok() ? *id : std::string();
}

int DockerTestEnv::remove_test_containers() {
  auto list = client_->container_list({{kTestLabel, run_id_}}, /*all=*/true);
  EXPECT_TRUE(list.is_ok()) << "cleaning up test containers: " << list.status().to_string();
  if (!list.is_ok())
    return 0;
  int removed = 0;
  for (const ContainerSummary& c : *list) {
    Status s = client_->container_remove(c.id, /*force=*/true);
    EXPECT_TRUE(s.is_ok() || s.is_not_found()) << "removing " << c.name << ": " << s.to_string();
    ++removed;
  }
  return removed;
}

}  // namespace cube::agent::test
