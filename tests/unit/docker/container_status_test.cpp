// dockerd inspect documents -> ContainerFacts -> TaskExit and AttemptStatus (container_status.h).
#include "agent/drivers/docker/container_status.h"

#include <gtest/gtest.h>

namespace cube::agent {
namespace {

using nlohmann::json;

json inspect_doc(const std::string& status, bool running, int exit_code, bool oom = false) {
  return {
      {"Id", "c0ffee"},
      {"Name", "/cube-web-1"},
      {"State",
       {{"Status", status},
        {"Running", running},
        {"OOMKilled", oom},
        {"ExitCode", exit_code},
        {"Error", ""},
        {"StartedAt", "2024-05-01T10:20:30.123456789Z"},
        {"FinishedAt", running ? "0001-01-01T00:00:00Z" : "2024-05-01T10:21:00.5Z"}}},
      {"Config", {{"Labels", {{"cube.task", "t1"}, {"cube.attempt", "2"}}}}},
      {"NetworkSettings",
       {{"Ports",
         {{"8080/tcp", json::array({{{"HostIp", "127.0.0.1"}, {"HostPort", "49153"}}})},
          {"9090/tcp", nullptr}}}}},
  };
}

TEST(ContainerStatusTest, ParsesInspectDocument) {
  auto f = parse_container_inspect(inspect_doc("running", true, 0));
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(f->id, "c0ffee");
  EXPECT_EQ(f->name, "cube-web-1");
  EXPECT_TRUE(f->running);
  EXPECT_FALSE(f->exit_code.has_value());
  EXPECT_EQ(f->labels.at("cube.task"), "t1");
  EXPECT_EQ(f->started_ms, 1714558830123);
  EXPECT_EQ(f->finished_ms, 0);
  ASSERT_EQ(f->port_bindings.size(), 1u);  // 9090 is exposed but not published
  EXPECT_EQ(f->port_bindings.at("8080/tcp"), (std::vector<PortBinding>{{"127.0.0.1", "49153"}}));
}

TEST(ContainerStatusTest, RejectsDocumentsWithoutIdOrState) {
  EXPECT_FALSE(parse_container_inspect(json::object()).is_ok());
  EXPECT_FALSE(parse_container_inspect(json{{"Id", "x"}}).is_ok());
  EXPECT_FALSE(parse_container_inspect(json::array()).is_ok());
}

TEST(ContainerStatusTest, RunningContainerIsRunningWithPorts) {
  auto f = parse_container_inspect(inspect_doc("running", true, 0)).value();
  AttemptStatus s = task_status_from(f, "t1", 2, false);
  EXPECT_EQ(s.state, TaskState::Running);
  EXPECT_EQ(s.task_id, "t1");
  EXPECT_EQ(s.attempt, 2u);
  EXPECT_EQ(s.container_id, "c0ffee");
  EXPECT_EQ(s.port_bindings.at("8080/tcp")[0].host_port, "49153");
  EXPECT_EQ(s.start_time_ms, 1714558830123);
  EXPECT_FALSE(s.exit_code.has_value());
}

TEST(ContainerStatusTest, ExitCodesAndReasons) {
  struct Case {
    const char* name;
    int exit_code;
    bool oom;
    bool stop_requested;
    TaskState state;
    const char* reason;
  };
  const Case cases[] = {
      {"exit 0", 0, false, false, TaskState::Completed, "exit code 0"},
      {"exit 3", 3, false, false, TaskState::Failed, "exit code 3"},
      {"oom", 137, true, false, TaskState::Failed, "out of memory"},
      {"no command", 127, false, false, TaskState::Failed, "exit code 127: command not found"},
      {"stopped", 143, false, true, TaskState::Completed, "stopped"},
  };
  for (const Case& c : cases) {
    auto f = parse_container_inspect(inspect_doc("exited", false, c.exit_code, c.oom)).value();
    AttemptStatus s = task_status_from(f, "t1", 2, c.stop_requested);
    EXPECT_EQ(s.state, c.state) << c.name;
    EXPECT_EQ(s.reason, c.reason) << c.name;
    ASSERT_TRUE(s.exit_code.has_value()) << c.name;
    EXPECT_EQ(*s.exit_code, c.exit_code) << c.name;
    EXPECT_EQ(s.finish_time_ms, 1714558860500) << c.name;
  }
}

TEST(ContainerStatusTest, CreatedButNeverStartedIsFailed) {
  auto f = parse_container_inspect(inspect_doc("created", false, 0)).value();
  AttemptStatus s = task_status_from(f, "t1", 2, false);
  EXPECT_EQ(s.state, TaskState::Failed);
  EXPECT_EQ(s.reason, "container was created but never started");
}

TEST(ContainerStatusTest, ExitFactsOfAnEndedContainer) {
  using Kind = TaskExit::Kind;
  auto facts = [](const json& doc) { return parse_container_inspect(doc).value(); };
  EXPECT_EQ(container_exit(facts(inspect_doc("running", true, 0)), false), std::nullopt);
  EXPECT_EQ(container_exit(facts(inspect_doc("exited", false, 3)), false),
            (TaskExit{Kind::Exited, 3, 0, false, ""}));
  EXPECT_EQ(container_exit(facts(inspect_doc("exited", false, 137, true)), true),
            (TaskExit{Kind::OutOfMemory, 137, 0, true, ""}));
  EXPECT_EQ(container_exit(facts(inspect_doc("created", false, 0)), false),
            (TaskExit{Kind::NeverStarted, std::nullopt, 0, false, ""}));
  json failed_start = inspect_doc("created", false, 0);
  failed_start["State"]["Error"] = "exec format error";
  EXPECT_EQ(container_exit(facts(failed_start), false),
            (TaskExit{Kind::NeverStarted, std::nullopt, 0, false, "exec format error"}));
}

TEST(ContainerStatusTest, ParsesDockerTimes) {
  EXPECT_EQ(parse_docker_time_ms("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(parse_docker_time_ms("2024-05-01T10:20:30.123456789Z"), 1714558830123);
  EXPECT_EQ(parse_docker_time_ms("2024-05-01T10:20:30.1Z"), 1714558830100);
  EXPECT_EQ(parse_docker_time_ms("2024-05-01T12:20:30+02:00"), 1714558830000);
  EXPECT_EQ(parse_docker_time_ms("0001-01-01T00:00:00Z"), 0);  // Go's zero time: never
  EXPECT_FALSE(parse_docker_time_ms("").has_value());
  EXPECT_FALSE(parse_docker_time_ms("2024-05-01 10:20:30Z").has_value());
  EXPECT_FALSE(parse_docker_time_ms("2024-13-01T10:20:30Z").has_value());
  EXPECT_FALSE(parse_docker_time_ms("2024-05-01T10:20:30").has_value());
  EXPECT_FALSE(parse_docker_time_ms("2024-05-01T10:20:30.Z").has_value());
}

}  // namespace
}  // namespace cube::agent
