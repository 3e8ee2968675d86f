// DockerDriver against FakeDockerApi: task -> container mapping, limits, ports, exits, stop,
// re-adoption and error mapping, without dockerd.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "agent/drivers/docker/container_spec.h"
#include "agent/drivers/docker/docker_driver.h"
#include "tests/unit/docker/exit_recorder.h"
#include "tests/unit/docker/fake_docker_api.h"

namespace cube::agent {
namespace {

using nlohmann::json;
using test::ExitRecorder;
using test::FakeDockerApi;

constexpr Millis kReportTimeout{10000};

std::string frame(uint8_t stream, std::string_view payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  out[7] = static_cast<char>(payload.size());  // test payloads are < 256 bytes
  out.append(payload);
  return out;
}

class DockerDriverFakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_.add_image("cube/busybox:latest");
    driver_ = make_driver();
  }

  std::unique_ptr<DockerDriver> make_driver() {
    DockerDriverOptions options;
    options.node_id = "agent-1";
    options.node_name = "box";
    options.publish_address = "127.0.0.1";
    options.wait_retry_initial = Millis(10);  // keeps the retry test fast
    auto d = std::make_unique<DockerDriver>(api_, options, clock_);
    d->set_exit_sink(exits_.sink());
    return d;
  }

  static Task task(const std::string& id_suffix = "1") {
    Task t;
    t.id = "0190a3c4-1111-7000-8000-00000000000" + id_suffix;
    t.name = "web";
    t.image = "cube/busybox:latest";
    t.cmd = {"httpd", "-f", "-p", "8080", "-h", "/www"};
    t.memory_bytes = 64 << 20;
    t.cpu = 0.25;
    t.exposed_ports = {"8080/tcp"};
    t.labels = {{"cube.test", "run1"}};
    t.attempt = 1;
    return t;
  }

  FakeDockerApi api_;
  ManualClock clock_;
  ExitRecorder exits_;
  std::unique_ptr<DockerDriver> driver_;
};

TEST_F(DockerDriverFakeTest, StartCreatesALabelledLimitedContainerAndReportsItsPorts) {
  Task t = task();
  auto r = driver_->start(t);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->state, TaskState::Running);
  EXPECT_EQ(r->task_id, t.id);
  EXPECT_EQ(r->attempt, 1u);
  ASSERT_EQ(r->port_bindings.count("8080/tcp"), 1u);
  EXPECT_EQ(r->port_bindings.at("8080/tcp")[0].host_ip, "127.0.0.1");
  EXPECT_EQ(r->port_bindings.at("8080/tcp")[0].host_port, "49153");
  EXPECT_GT(r->start_time_ms, 0);

  auto c = api_.container(r->container_id);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->name, "cube-web-" + t.id.substr(t.id.size() - 12));
  EXPECT_EQ(c->status, "running");
  const json& cfg = c->config;
  EXPECT_EQ(cfg["Labels"]["cube.task"], t.id);
  EXPECT_EQ(cfg["Labels"]["cube.node"], "agent-1");
  EXPECT_EQ(cfg["Labels"]["cube.attempt"], "1");
  EXPECT_EQ(cfg["Labels"]["cube.test"], "run1");
  EXPECT_EQ(cfg["HostConfig"]["Memory"], 64 << 20);
  EXPECT_EQ(cfg["HostConfig"]["NanoCpus"], 250000000);
  EXPECT_EQ(cfg["HostConfig"]["PidsLimit"], 1024);
  EXPECT_EQ(cfg["HostConfig"]["SecurityOpt"], json::array({"no-new-privileges"}));
  EXPECT_EQ(cfg["HostConfig"]["Privileged"], false);
  EXPECT_EQ(cfg["HostConfig"]["Init"], true);
  EXPECT_EQ(cfg["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostPort"], "");
  EXPECT_EQ(api_.count_calls("pull"), 0u);  // the image was present
  EXPECT_TRUE(api_.wait_for_waiters(1, kReportTimeout));
}

TEST_F(DockerDriverFakeTest, MissingImageIsPulledFirst) {
  Task t = task();
  t.image = "team/app:2";
  auto r = driver_->start(t);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(api_.count_calls("pull team/app:2"), 1u);
}

TEST_F(DockerDriverFakeTest, UnpullableImageIsNotFoundAndCreatesNothing) {
  Task t = task();
  t.image = "no-such/image:1";
  api_.set_pull_error(Status::internal(
      "pull no-such/image:1: Get \"https://registry-1.docker.io/v2/\": no such host (HTTP 500)"));
  auto r = driver_->start(t);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::NotFound);
  EXPECT_EQ(r.status().message(),
            "image not found: no-such/image:1: Get \"https://registry-1.docker.io/v2/\": no such "
            "host (HTTP 500)");
  EXPECT_EQ(api_.count_calls("create"), 0u);
}

TEST_F(DockerDriverFakeTest, PullTimeoutIsNotFoundWhileDockerdAnswers) {
  Task t = task();
  t.image = "slow/image:1";
  api_.set_pull_error(Status::unavailable("pulling slow/image:1 did not finish within 60 s"));
  auto r = driver_->start(t);
  EXPECT_EQ(r.status().code(), ErrorCode::NotFound);
  EXPECT_NE(r.status().message().find("image not found: slow/image:1: pulling"), std::string::npos);
}

TEST_F(DockerDriverFakeTest, UnreachableDockerdIsUnavailable) {
  api_.set_unreachable(Status::unavailable(
      "dockerd unreachable at /var/run/docker.sock: Couldn't connect to server"));
  auto r = driver_->start(task());
  EXPECT_EQ(r.status().code(), ErrorCode::Unavailable);
  EXPECT_NE(r.status().message().find("dockerd unreachable at /var/run/docker.sock"),
            std::string::npos);
  EXPECT_EQ(driver_->list_owned().status().code(), ErrorCode::Unavailable);
}

TEST_F(DockerDriverFakeTest, RefusedConfigIsInvalid) {
  api_.set_create_error(
      Status::invalid("POST /containers/create: Minimum memory limit allowed is 6MB"));
  auto r = driver_->start(task());
  EXPECT_EQ(r.status().code(), ErrorCode::Invalid);
  EXPECT_NE(r.status().message().find("Minimum memory limit"), std::string::npos);
}

TEST_F(DockerDriverFakeTest, SpecErrorsAreInvalidBeforeAnyDockerCall) {
  Task t = task();
  t.exposed_ports = {"nope"};
  EXPECT_EQ(driver_->start(t).status().code(), ErrorCode::Invalid);
  Task p = task();
  p.labels["cube.privileged"] = "true";
  EXPECT_EQ(driver_->start(p).status().code(), ErrorCode::Invalid);
  EXPECT_TRUE(api_.calls().empty());
}

TEST_F(DockerDriverFakeTest, MissingExecutableIsNotFoundAndTheContainerIsRemoved) {
  api_.set_start_error(Status::invalid(
      "POST /containers/x/start: OCI runtime create failed: exec: \"nope\": executable file not "
      "found in $PATH"));
  auto r = driver_->start(task());
  EXPECT_EQ(r.status().code(), ErrorCode::NotFound);
  EXPECT_NE(r.status().message().find("executable not found"), std::string::npos);
  EXPECT_TRUE(api_.containers().empty());
}

TEST_F(DockerDriverFakeTest, ExitCodesReachTheExitSink) {
  struct Case {
    std::string suffix;
    int code;
    bool oom;
    TaskState state;
    std::string reason;
  };
  for (const Case& c : {Case{"1", 0, false, TaskState::Completed, "exit code 0"},
                        Case{"2", 3, false, TaskState::Failed, "exit code 3"},
                        Case{"3", 137, true, TaskState::Failed, "out of memory"}}) {
    Task t = task(c.suffix);
    auto r = driver_->start(t);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    api_.exit(r->container_id, c.code, c.oom);
    auto report = exits_.wait_for(t.id, kReportTimeout);
    ASSERT_TRUE(report.has_value()) << "no exit report for code " << c.code;
    EXPECT_EQ(report->state, c.state) << c.code;
    EXPECT_EQ(report->exit_code, c.code);
    EXPECT_EQ(report->reason, c.reason);
    // inspect() now returns the final status, of the same container.
    auto status = driver_->inspect(t.id);
    ASSERT_TRUE(status.is_ok());
    EXPECT_EQ(status->state, c.state);
    EXPECT_EQ(status->reason, c.reason);
    EXPECT_EQ(status->container_id, r->container_id);
  }
}

TEST_F(DockerDriverFakeTest, StopStopsRemovesAndReportsStopped) {
  Task t = task();
  auto r = driver_->start(t);
  ASSERT_TRUE(r.is_ok());
  ASSERT_TRUE(driver_->stop(t.id, Millis(2500)).is_ok());
  EXPECT_EQ(api_.count_calls("stop " + r->container_id + " t=2500"), 1u);
  EXPECT_FALSE(api_.container(r->container_id).has_value());  // removed
  auto report = exits_.wait_for(t.id, kReportTimeout);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->state, TaskState::Completed);
  EXPECT_EQ(report->reason, "stopped");
  // Idempotent: stopping again (or an unknown task) is OK.
  EXPECT_TRUE(driver_->stop(t.id, Millis(1000)).is_ok());
  EXPECT_TRUE(driver_->stop("unknown", Millis(1000)).is_ok());
  EXPECT_EQ(exits_.count(t.id), 1u);
}

TEST_F(DockerDriverFakeTest, StopOfAnEndedTaskRemovesWithoutASecondReport) {
  Task t = task();
  auto r = driver_->start(t);
  ASSERT_TRUE(r.is_ok());
  api_.exit(r->container_id, 3);
  ASSERT_TRUE(exits_.wait_for(t.id, kReportTimeout).has_value());
  ASSERT_TRUE(driver_->stop(t.id, Millis(1000)).is_ok());
  EXPECT_FALSE(api_.container(r->container_id).has_value());
  EXPECT_EQ(exits_.count(t.id), 1u);
  EXPECT_EQ(driver_->inspect(t.id).status().code(), ErrorCode::NotFound);
}

TEST_F(DockerDriverFakeTest, RepeatedStartOfTheSameAttemptCreatesNoDuplicate) {
  Task t = task();
  auto first = driver_->start(t);
  ASSERT_TRUE(first.is_ok());
  auto second = driver_->start(t);
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(second->container_id, first->container_id);
  EXPECT_EQ(api_.count_calls("create"), 1u);
  EXPECT_EQ(api_.containers().size(), 1u);
}

TEST_F(DockerDriverFakeTest, FreshDriverReadoptsRunningAndEndedContainersByLabel) {
  Task running = task("1");
  Task ended = task("2");
  auto r1 = driver_->start(running);
  auto r2 = driver_->start(ended);
  ASSERT_TRUE(r1.is_ok() && r2.is_ok());
  api_.exit(r2->container_id, 3);
  ASSERT_TRUE(exits_.wait_for(ended.id, kReportTimeout).has_value());
  // A container of another node on the same dockerd is not ours.
  json foreign = {{"Image", "cube/busybox:latest"},
                  {"Labels", {{"cube.task", "other"}, {"cube.node", "agent-2"}}}};
  api_.add_container("cube-other", foreign, "running");

  driver_.reset();  // agent restart: waiters are cancelled, containers keep running
  driver_ = make_driver();
  auto owned = driver_->list_owned();
  ASSERT_TRUE(owned.is_ok()) << owned.status().to_string();
  ASSERT_EQ(owned->size(), 2u);
  std::map<std::string, AttemptStatus> by_task;
  for (const AttemptStatus& s : *owned)
    by_task[s.task_id] = s;
  EXPECT_EQ(by_task.at(running.id).state, TaskState::Running);
  EXPECT_EQ(by_task.at(running.id).container_id, r1->container_id);
  EXPECT_EQ(by_task.at(running.id).attempt, 1u);
  EXPECT_EQ(by_task.at(running.id).port_bindings.at("8080/tcp")[0].host_port, "49153");
  EXPECT_EQ(by_task.at(ended.id).state, TaskState::Failed);
  EXPECT_EQ(by_task.at(ended.id).exit_code, 3);

  // The re-armed waiter reports the adopted container's exit.
  EXPECT_EQ(driver_->waiter_count_for_test(), 1u);
  ASSERT_TRUE(driver_->list_owned().is_ok());  // a second call arms no second waiter
  EXPECT_EQ(driver_->waiter_count_for_test(), 1u);
  // Starting the same attempt again adopts instead of creating a duplicate.
  auto again = driver_->start(running);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->container_id, r1->container_id);
  EXPECT_EQ(api_.count_calls("create"), 2u);  // only the two original creates
  api_.exit(r1->container_id, 0);
  auto report = exits_.wait_for(running.id, kReportTimeout);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->state, TaskState::Completed);
}

TEST_F(DockerDriverFakeTest, StartAfterRestartWithoutListOwnedAdoptsTheContainer) {
  Task t = task();
  auto first = driver_->start(t);
  ASSERT_TRUE(first.is_ok());
  driver_.reset();
  driver_ = make_driver();
  auto again = driver_->start(t);  // name conflict -> same task and attempt -> adopt
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(again->container_id, first->container_id);
  EXPECT_EQ(again->state, TaskState::Running);
  EXPECT_EQ(api_.containers().size(), 1u);
}

TEST_F(DockerDriverFakeTest, ContainerOfAnOlderAttemptIsReplaced) {
  Task t = task();
  auto first = driver_->start(t);
  ASSERT_TRUE(first.is_ok());
  api_.exit(first->container_id, 1);
  ASSERT_TRUE(exits_.wait_for(t.id, kReportTimeout).has_value());
  t.attempt = 2;
  auto second = driver_->start(t);
  ASSERT_TRUE(second.is_ok()) << second.status().to_string();
  EXPECT_NE(second->container_id, first->container_id);
  EXPECT_FALSE(api_.container(first->container_id).has_value());
  auto c = api_.container(second->container_id);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->config["Labels"]["cube.attempt"], "2");
}

TEST_F(DockerDriverFakeTest, NameTakenByAForeignContainerIsConflict) {
  Task t = task();
  api_.add_container(container_name_for(t), {{"Image", "x"}, {"Labels", json::object()}},
                     "running");
  auto r = driver_->start(t);
  EXPECT_EQ(r.status().code(), ErrorCode::Conflict);
  EXPECT_NE(r.status().message().find("docker rm -f " + container_name_for(t)), std::string::npos);
}

TEST_F(DockerDriverFakeTest, LogsAreDemultiplexedAndSlicedByOffset) {
  Task t = task();
  auto r = driver_->start(t);
  ASSERT_TRUE(r.is_ok());
  api_.set_logs(r->container_id, frame(1, "out\n") + frame(2, "err\n"));

  auto all = driver_->logs(t.id, 0, 0);
  ASSERT_TRUE(all.is_ok());
  EXPECT_EQ(all->data, "out\nerr\n");
  EXPECT_EQ(all->next_offset, 8);
  EXPECT_FALSE(all->eof);  // still running

  auto part = driver_->logs(t.id, 2, 3);
  ASSERT_TRUE(part.is_ok());
  EXPECT_EQ(part->data, "t\ne");
  EXPECT_EQ(part->next_offset, 5);

  api_.exit(r->container_id, 0);
  ASSERT_TRUE(exits_.wait_for(t.id, kReportTimeout).has_value());
  auto rest = driver_->logs(t.id, 5, 100);
  ASSERT_TRUE(rest.is_ok());
  EXPECT_EQ(rest->data, "rr\n");
  EXPECT_TRUE(rest->eof);
  auto past = driver_->logs(t.id, 50, 10);
  ASSERT_TRUE(past.is_ok());
  EXPECT_EQ(past->data, "");
  EXPECT_EQ(past->next_offset, 50);

  EXPECT_EQ(driver_->logs("unknown", 0, 10).status().code(), ErrorCode::NotFound);
  EXPECT_EQ(driver_->logs(t.id, -1, 10).status().code(), ErrorCode::Invalid);
}

TEST_F(DockerDriverFakeTest, InspectOfUnknownTaskIsNotFound) {
  EXPECT_EQ(driver_->inspect("nope").status().code(), ErrorCode::NotFound);
}

TEST_F(DockerDriverFakeTest, RemoveUntrackedRemovesOnlyUnknownOldContainersOfThisNode) {
  Task known = task("1");
  ASSERT_TRUE(driver_->start(known).is_ok());
  const int64_t now_s = to_unix_ms(clock_.wall()) / 1000;
  json stray_old = {{"Image", "x"}, {"Labels", {{"cube.task", "gone"}, {"cube.node", "agent-1"}}}};
  json stray_new = {{"Image", "x"}, {"Labels", {{"cube.task", "new"}, {"cube.node", "agent-1"}}}};
  json other_node = {{"Image", "x"}, {"Labels", {{"cube.task", "x"}, {"cube.node", "agent-2"}}}};
  std::string old_id = api_.add_container("stray-old", stray_old, "running", now_s - 600);
  std::string new_id = api_.add_container("stray-new", stray_new, "running", now_s - 5);
  std::string other_id = api_.add_container("other", other_node, "running", now_s - 600);

  auto removed = driver_->remove_untracked({known.id}, Millis(60000));
  ASSERT_TRUE(removed.is_ok()) << removed.status().to_string();
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(api_.container(old_id).has_value());
  EXPECT_TRUE(api_.container(new_id).has_value());    // younger than the grace
  EXPECT_TRUE(api_.container(other_id).has_value());  // another node's
  EXPECT_TRUE(driver_->inspect(known.id).is_ok());

  clock_.advance(Millis(60000));
  auto later = driver_->remove_untracked({known.id}, Millis(60000));
  ASSERT_TRUE(later.is_ok());
  EXPECT_EQ(*later, 1);
  EXPECT_FALSE(api_.container(new_id).has_value());
}

TEST_F(DockerDriverFakeTest, WaiterRetriesAfterDockerdDropsTheWait) {
  api_.set_wait_error(Status::unavailable("dockerd unreachable at /var/run/docker.sock: boom"));
  Task t = task();
  auto r = driver_->start(t);
  ASSERT_TRUE(r.is_ok());
  // The first wait failed; the retried one blocks until the container exits.
  ASSERT_TRUE(api_.wait_for_waiters(1, kReportTimeout));
  EXPECT_EQ(api_.count_calls("wait " + r->container_id), 2u);
  api_.exit(r->container_id, 0);
  auto report = exits_.wait_for(t.id, kReportTimeout);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->state, TaskState::Completed);
}

TEST_F(DockerDriverFakeTest, DestructorCancelsBlockedWaiters) {
  ASSERT_TRUE(driver_->start(task("1")).is_ok());
  ASSERT_TRUE(driver_->start(task("2")).is_ok());
  ASSERT_TRUE(api_.wait_for_waiters(2, kReportTimeout));
  driver_.reset();  // returns only after both waiters were cancelled and joined
  EXPECT_EQ(exits_.count(task("1").id) + exits_.count(task("2").id), 0u);
}

TEST_F(DockerDriverFakeTest, StatsOfARunningTaskComeFromItsContainer) {
  Task t = task();
  auto r = driver_->start(t);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  auto usage = driver_->stats(t.id);
  ASSERT_TRUE(usage.is_ok()) << usage.status().to_string();
  EXPECT_EQ(usage->memory_bytes, 1024);  // what the fake's stats document says
  EXPECT_EQ(api_.count_calls("stats " + r->container_id), 1u);

  EXPECT_EQ(driver_->stats("no-such-task").status().code(), ErrorCode::NotFound);
  api_.set_unreachable(Status::unavailable("dockerd unreachable at /x.sock: refused"));
  EXPECT_EQ(driver_->stats(t.id).status().code(), ErrorCode::Unavailable);
  api_.set_unreachable(std::nullopt);

  api_.exit(r->container_id, 0);
  ASSERT_TRUE(exits_.wait_for(t.id, kReportTimeout).has_value());
  auto ended = driver_->stats(t.id);
  EXPECT_EQ(ended.status().code(), ErrorCode::NotFound) << "an ended task uses nothing";
}

TEST_F(DockerDriverFakeTest, CheckBackendIsAPing) {
  EXPECT_TRUE(driver_->check_backend().is_ok());
  EXPECT_EQ(api_.count_calls("ping"), 1u);
  Status down = Status::unavailable("dockerd unreachable at /var/run/docker.sock: refused");
  api_.set_unreachable(down);
  EXPECT_EQ(driver_->check_backend(), down) << "the agent shows this message as it is";
  api_.set_unreachable(Status::internal("GET /_ping: 500 starting up"));
  Status odd = driver_->check_backend();
  EXPECT_EQ(odd.code(), ErrorCode::Unavailable);
  EXPECT_NE(odd.message().find("500 starting up"), std::string::npos) << odd.message();
}

TEST_F(DockerDriverFakeTest, RemoveUntrackedIsReachableThroughTheDriverInterface) {
  Task t = task();
  auto r = driver_->start(t);
  ASSERT_TRUE(r.is_ok());
  Driver& generic = *driver_;
  clock_.advance(Millis(120000));
  auto removed = generic.remove_untracked({t.id}, Millis(60000));
  ASSERT_TRUE(removed.is_ok());
  EXPECT_EQ(*removed, 0) << "a tracked task's container stays";
  removed = generic.remove_untracked({}, Millis(60000));
  ASSERT_TRUE(removed.is_ok()) << removed.status().to_string();
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(api_.container(r->container_id).has_value());
}

}  // namespace
}  // namespace cube::agent
