// DockerClient and DockerDriver against the REAL dockerd and the local image
// cube/busybox:latest (scripts/start-dockerd.sh, scripts/build-test-image.sh). These tests
// fail, not skip, when dockerd is missing (docker_test_env.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "common/curl_handle.h"
#include "tests/docker/docker_test_env.h"

namespace cube::agent::test {
namespace {

using nlohmann::json;

constexpr Millis kExitTimeout{30000};

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// One HTTP GET; the body on a 200, an error text otherwise.
Result<std::string> http_get_once(const std::string& url) {
  CurlEasy curl = CurlEasy::create();
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK)
    return Status::unavailable(curl_easy_strerror(rc));
  long code = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &code);
  if (code != 200)
    return Status::internal("HTTP " + std::to_string(code));
  return body;
}

// GETs `url` until it answers 200 or `deadline` passes: httpd needs a moment after the
// container starts, and docker-proxy accepts connections before it listens. Paced with the
// clock (this thread's job is to wait), bounded by the deadline.
Result<std::string> http_get(const Clock& clock, const std::string& url, Millis within) {
  const SteadyTime deadline = clock.now() + within;
  Result<std::string> last = Status::unavailable("not tried");
  while (clock.now() < deadline) {
    last = http_get_once(url);
    if (last.is_ok())
      return last;
    clock.sleep_for(Millis(50));
  }
  return last;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class DockerRealTest : public DockerTestEnv {};

TEST_F(DockerRealTest, NegotiatesAnApiVersion) {
  auto v = client_->version();
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  EXPECT_FALSE(v->api_version.empty());
  EXPECT_FALSE(v->engine_version.empty());
  // min(server, 1.43), and at least the 1.40 Cube needs.
  const std::string expected =
      compare_api_versions(v->api_version, "1.43") < 0 ? v->api_version : "1.43";
  EXPECT_EQ(v->negotiated_api_version, expected);
  EXPECT_GE(compare_api_versions(v->negotiated_api_version, "1.40"), 0);
  EXPECT_EQ(client_->negotiated_api_version(), expected);
}

TEST_F(DockerRealTest, ClientMapsMissingContainerToNotFoundAndListsByLabel) {
  auto missing = client_->container_inspect("cube-test-no-such-container-" + run_id_);
  EXPECT_EQ(missing.status().code(), ErrorCode::NotFound);
  EXPECT_NE(missing.status().message().find("No such container"), std::string::npos)
      << missing.status().message();

  std::string id = create_test_container({"true"});
  ASSERT_FALSE(id.empty());
  auto listed = client_->container_list({{kTestLabel, run_id_}}, /*all=*/true);
  ASSERT_TRUE(listed.is_ok()) << listed.status().to_string();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, id);
  EXPECT_EQ((*listed)[0].state, "created");
  EXPECT_EQ((*listed)[0].labels.at(kTestLabel), run_id_);
  // Not running: only all=true shows it.
  auto running = client_->container_list({{kTestLabel, run_id_}}, /*all=*/false);
  ASSERT_TRUE(running.is_ok());
  EXPECT_TRUE(running->empty());
  EXPECT_EQ(remove_test_containers(), 1);
}

TEST_F(DockerRealTest, HttpdTaskAnswersOnItsPublishedPortWithLimitsAndStopRemovesIt) {
  Task t = make_task("httpd", {"httpd", "-f", "-p", "8080", "-h", "/www"});
  t.exposed_ports = {"8080/tcp"};
  t.memory_bytes = 64 << 20;
  auto started = driver_->start(t);
  ASSERT_TRUE(started.is_ok()) << started.status().to_string();
  EXPECT_EQ(started->state, TaskState::Running);
  ASSERT_FALSE(started->container_id.empty());
  ASSERT_EQ(started->port_bindings.count("8080/tcp"), 1u);
  const PortBinding& binding = started->port_bindings.at("8080/tcp").at(0);
  EXPECT_EQ(binding.host_ip, "127.0.0.1");
  ASSERT_FALSE(binding.host_port.empty());

  auto body = http_get(clock_, "http://127.0.0.1:" + binding.host_port + "/", Millis(20000));
  ASSERT_TRUE(body.is_ok()) << body.status().to_string();
  EXPECT_TRUE(contains(*body, "hello from cube/busybox")) << *body;

  auto inspected = client_->container_inspect(started->container_id);
  ASSERT_TRUE(inspected.is_ok()) << inspected.status().to_string();
  const json& host = (*inspected)["HostConfig"];
  EXPECT_EQ(host["Memory"].get<int64_t>(), 64 << 20);
  const json& security = host["SecurityOpt"];
  EXPECT_NE(std::find(security.begin(), security.end(), "no-new-privileges"), security.end())
      << security.dump();
  EXPECT_EQ(host["Privileged"], false);
  EXPECT_EQ(host["Init"], true);
  EXPECT_EQ(host["PidsLimit"].get<int64_t>(), 1024);
  const json& labels = (*inspected)["Config"]["Labels"];
  EXPECT_EQ(labels["cube.task"], t.id);
  EXPECT_EQ(labels["cube.node"], node_id_);
  EXPECT_EQ(labels["cube.attempt"], "1");

  ASSERT_TRUE(driver_->stop(t.id, Millis(2000)).is_ok());
  auto gone = client_->container_inspect(started->container_id);
  EXPECT_EQ(gone.status().code(), ErrorCode::NotFound) << "stop must remove the container";
  auto report = exits_.wait_for(t.id, kExitTimeout);
  ASSERT_TRUE(report.has_value()) << "no exit report after stop";
  EXPECT_EQ(report->state, TaskState::Completed);
  EXPECT_EQ(report->reason, "stopped");
}

TEST_F(DockerRealTest, BadImageFailsFastWithNotFoundNamingTheImage) {
  Task t = make_task("bad", {"true"});
  t.image = "no-such/image:1";
  const SteadyTime begin = clock_.now();
  auto r = driver_->start(t);
  const Millis took = std::chrono::duration_cast<Millis>(clock_.now() - begin);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::NotFound) << r.status().to_string();
  EXPECT_TRUE(r.status().message().starts_with("image not found: no-such/image:1: "))
      << r.status().message();
  EXPECT_LT(took, Millis(15000));
  auto listed = client_->container_list({{kTestLabel, run_id_}}, /*all=*/true);
  ASSERT_TRUE(listed.is_ok());
  EXPECT_TRUE(listed->empty()) << "a failed start must leave no container";
}

TEST_F(DockerRealTest, NonZeroExitIsReportedAsFailedWithItsExitCode) {
  Task t = make_task("exit3", {"sh", "-c", "exit 3"});
  auto started = driver_->start(t);
  ASSERT_TRUE(started.is_ok()) << started.status().to_string();
  auto report = exits_.wait_for(t.id, kExitTimeout);
  ASSERT_TRUE(report.has_value()) << "no exit report";
  EXPECT_EQ(report->state, TaskState::Failed);
  ASSERT_TRUE(report->exit_code.has_value());
  EXPECT_EQ(*report->exit_code, 3);
  EXPECT_EQ(report->reason, "exit code 3");
  EXPECT_GT(report->finish_time_ms, 0);
  auto ended = driver_->inspect(t.id);
  ASSERT_TRUE(ended.is_ok()) << ended.status().to_string();
  EXPECT_EQ(ended->container_id, started->container_id);
  EXPECT_EQ(ended->state, TaskState::Failed);
}

TEST_F(DockerRealTest, LogsContainStdoutAndStderr) {
  Task t = make_task("logs", {"sh", "-c", "echo out; echo err 1>&2"});
  auto started = driver_->start(t);
  ASSERT_TRUE(started.is_ok()) << started.status().to_string();
  auto report = exits_.wait_for(t.id, kExitTimeout);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->state, TaskState::Completed);

  auto logs = driver_->logs(t.id, 0, 0);
  ASSERT_TRUE(logs.is_ok()) << logs.status().to_string();
  EXPECT_TRUE(contains(logs->data, "out\n")) << logs->data;
  EXPECT_TRUE(contains(logs->data, "err\n")) << logs->data;
  EXPECT_EQ(logs->data.size(), 8u) << logs->data;
  EXPECT_EQ(logs->next_offset, 8);
  EXPECT_TRUE(logs->eof);
  auto tail = driver_->logs(t.id, 4, 100);
  ASSERT_TRUE(tail.is_ok());
  EXPECT_EQ(tail->data.size(), 4u);

  // The client keeps the streams apart.
  auto split = client_->container_logs(started->container_id, LogsOptions{});
  ASSERT_TRUE(split.is_ok()) << split.status().to_string();
  EXPECT_EQ(split->stdout_data, "out\n");
  EXPECT_EQ(split->stderr_data, "err\n");
}

TEST_F(DockerRealTest, FreshDriverReadoptsARunningContainerByLabelWithoutADuplicate) {
  Task t = make_task("sleeper", {"sleep", "300"});
  auto started = driver_->start(t);
  ASSERT_TRUE(started.is_ok()) << started.status().to_string();

  driver_ = make_driver();  // the old driver (agent) goes away; the container keeps running
  auto owned = driver_->list_owned();
  ASSERT_TRUE(owned.is_ok()) << owned.status().to_string();
  ASSERT_EQ(owned->size(), 1u);
  EXPECT_EQ((*owned)[0].task_id, t.id);
  EXPECT_EQ((*owned)[0].attempt, 1u);
  EXPECT_EQ((*owned)[0].state, TaskState::Running);
  EXPECT_EQ((*owned)[0].container_id, started->container_id);

  auto again = driver_->start(t);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(again->container_id, started->container_id);
  auto listed = client_->container_list({{kTestLabel, run_id_}}, /*all=*/true);
  ASSERT_TRUE(listed.is_ok());
  EXPECT_EQ(listed->size(), 1u) << "re-adoption must not create a second container";

  // The re-armed waiter still reports the end.
  ASSERT_TRUE(driver_->stop(t.id, Millis(1000)).is_ok());
  auto report = exits_.wait_for(t.id, kExitTimeout);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->state, TaskState::Completed);
  EXPECT_EQ(report->reason, "stopped");
}

TEST_F(DockerRealTest, MemoryBelowDockersMinimumIsInvalid) {
  Task t = make_task("tiny", {"true"});
  t.memory_bytes = 1 << 20;  // dockerd refuses limits under 6 MiB
  auto r = driver_->start(t);
  EXPECT_EQ(r.status().code(), ErrorCode::Invalid) << r.status().to_string();
}

TEST_F(DockerRealTest, MissingExecutableFailsWithExitCode127) {
  // With Init, tini is the container's PID 1 and execs the Cmd itself: dockerd starts the
  // container fine and tini exits 127.
  Task t = make_task("noexec", {"/no/such/binary"});
  auto started = driver_->start(t);
  ASSERT_TRUE(started.is_ok()) << started.status().to_string();
  auto report = exits_.wait_for(t.id, kExitTimeout);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->state, TaskState::Failed);
  EXPECT_EQ(report->exit_code, 127);
  EXPECT_EQ(report->reason, "exit code 127: command not found");
}

TEST_F(DockerRealTest, StatsAreOneShot) {
  Task t = make_task("stats", {"sleep", "300"});
  auto started = driver_->start(t);
  ASSERT_TRUE(started.is_ok()) << started.status().to_string();
  auto stats = client_->container_stats(started->container_id);
  ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();
  EXPECT_TRUE(stats->contains("memory_stats")) << stats->dump();
}

TEST_F(DockerRealTest, DriverStatsSeeABusyContainersCpuAndMemory) {
  Task t = make_task("busy", {"sh", "-c", "while :; do :; done"});
  t.cpu = 0.5;  // NanoCpus caps it at half a core
  t.memory_bytes = 64 << 20;
  auto started = driver_->start(t);
  ASSERT_TRUE(started.is_ok()) << started.status().to_string();
  // The first sample can precede the loop's start; a busy loop shows within a few samples.
  Result<TaskUsage> usage = Status::unavailable("not sampled");
  for (int i = 0; i < 5; ++i) {
    usage = driver_->stats(t.id);
    ASSERT_TRUE(usage.is_ok()) << usage.status().to_string();
    if (usage->cpu_cores > 0.2)
      break;
  }
  EXPECT_GT(usage->cpu_cores, 0.2) << "a busy loop uses CPU";
  EXPECT_LT(usage->cpu_cores, 0.75) << "NanoCpus caps it at 0.5 cores";
  EXPECT_GT(usage->memory_bytes, 0);
  EXPECT_LT(usage->memory_bytes, int64_t{64} << 20);
  ASSERT_TRUE(driver_->stop(t.id, Millis(1000)).is_ok());
  EXPECT_EQ(driver_->stats(t.id).status().code(), ErrorCode::NotFound);
}

TEST_F(DockerRealTest, CheckBackendAnswersAndNamesAMissingSocket) {
  EXPECT_TRUE(driver_->check_backend().is_ok());
  DockerClientOptions options;
  options.socket_path = "/nonexistent/cube-test-" + run_id_ + ".sock";
  DockerClient nowhere(options);
  DockerDriverOptions driver_options;
  driver_options.node_id = node_id_;
  DockerDriver driver(nowhere, driver_options, clock_);
  Status down = driver.check_backend();
  EXPECT_EQ(down.code(), ErrorCode::Unavailable);
  EXPECT_TRUE(contains(down.message(), "dockerd unreachable at " + options.socket_path))
      << down.message();
}

}  // namespace
}  // namespace cube::agent::test
