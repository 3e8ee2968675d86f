// The prior orchestrators' task JSON (protocol/task_json.h), with the bodies their READMEs
// show (the READMEs of go-cube and orc) copied verbatim.
#include "protocol/task_json.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "protocol/task_validation.h"
#include "tests/support/prior_art_bodies.h"
#include "tests/unit/protocol/samples.h"

namespace cube {
namespace {

// The bodies of go-cube's and orc's READMEs, verbatim (tests/support/prior_art_bodies.h).
constexpr std::string_view kGoCubeBody = test::kGoCubeApiReferenceBody;
// go-cube's "Example Usage" curl body, which lacks the closing brace of the outer object.
constexpr std::string_view kGoCubeCurlBody = test::kGoCubeExampleUsageBody;
// orc's "Create new task": the inner task says Scheduled, the event asks for Running.
constexpr std::string_view kOrcBody = test::kOrcCreateTaskBody;

// orc README, "Check tasks": one element of its output, as a user would send it back.
constexpr std::string_view kOrcListElement = R"({
    "ID": "266592cd-960d-4091-981c-8c25c44b1018",
    "ContainerID": "fd31597bc7eb16c92cc1b59fc2300d92d58c9795648a71e4d4ac9b5b0ff76b08",
    "Name": "test-from-api-777",
    "State": 3,
    "Image": "strm/helloworld-http",
    "Memory": 0,
    "Disk": 0,
    "ExposedPorts": null,
    "PortBindings": null,
    "RestartPolicy": "",
    "StartsAt": "2025-04-13T12:57:35.5391939+03:00",
    "FinishedAt": "2025-04-13T12:58:16.9053937+03:00",
    "CreatedAt": "2025-04-13T12:58:03.8839293+03:00",
    "UpdatedAt": "2025-04-13T12:58:16.9053937+03:00"
})";

Task parse_ok(std::string_view text) {
  auto parsed = task_from_json_text(text);
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().to_string() << "\n" << text;
  return parsed.is_ok() ? *parsed : Task{};
}

void expect_error(std::string_view text, std::string_view needle) {
  auto parsed = task_from_json_text(text);
  ASSERT_FALSE(parsed.is_ok()) << "accepted: " << text;
  EXPECT_TRUE(parsed.status().is_invalid()) << parsed.status().to_string();
  EXPECT_NE(parsed.status().message().find(needle), std::string::npos)
      << "\"" << parsed.status().message() << "\" does not mention " << needle;
}

TEST(TaskJson, GoCubeReadmeBody) {
  Task expected;
  expected.id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
  expected.name = "my-task";
  expected.image = "nginx:latest";
  expected.cpu = 0.5;
  expected.memory_bytes = 536870912;
  expected.disk_bytes = 1073741824;
  expected.env = {"ENV=production"};
  expected.exposed_ports = {"80/tcp"};
  expected.restart_policy = "always";
  expected.health_check = "/health";
  expected.desired_state = TaskState::Running;
  Task got = parse_ok(kGoCubeBody);
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(validate_task_spec(got).is_ok()) << validate_task_spec(got).to_string();
}

TEST(TaskJson, GoCubeCurlExampleIsInvalidJsonWithItsByteOffset) {
  auto parsed = task_from_json_text(kGoCubeCurlBody);
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_TRUE(parsed.status().is_invalid());
  // The input ends before the outer object does: the error points just past the last byte.
  EXPECT_NE(
      parsed.status().message().find("(byte " + std::to_string(kGoCubeCurlBody.size() + 1) + ")"),
      std::string::npos)
      << parsed.status().message();
  EXPECT_NE(parsed.status().message().find("not valid JSON"), std::string::npos);
}

TEST(TaskJson, OrcBodyWrapperStateWins) {
  Task got = parse_ok(kOrcBody);
  EXPECT_EQ(got.id, "266592cd-960d-4091-981c-8c25c44b1018");
  EXPECT_EQ(got.name, "test-from-api-777");
  EXPECT_EQ(got.image, "strm/helloworld-http");
  EXPECT_EQ(got.desired_state, TaskState::Running);
  // The submitted state is a request, not an observation.
  EXPECT_EQ(got.state, TaskState::Pending);
  EXPECT_TRUE(validate_task_spec(got).is_ok());
}

TEST(TaskJson, OrcListOutputSentBackMeansStop) {
  Task got = parse_ok(kOrcListElement);
  EXPECT_EQ(got.id, "266592cd-960d-4091-981c-8c25c44b1018");
  EXPECT_EQ(got.desired_state, TaskState::Completed);
  // Output-only fields are ignored, not copied.
  EXPECT_EQ(got.container_id, "");
  EXPECT_EQ(got.start_time_ms, 0);
  EXPECT_EQ(got.created_ms, 0);
  EXPECT_TRUE(got.exposed_ports.empty());
}

TEST(TaskJson, StateThreeMeansCompletedEverywhere) {
  EXPECT_EQ(parse_ok(R"({"ID": "x", "State": 3, "Task": {"Name": "a", "State": 2}})").desired_state,
            TaskState::Completed);
  EXPECT_EQ(parse_ok(R"({"ID": "x", "State": 3, "Task": {"Name": "a"}})").desired_state,
            TaskState::Completed);
  EXPECT_EQ(parse_ok(R"({"Name": "a", "State": 3})").desired_state, TaskState::Completed);
  EXPECT_EQ(parse_ok(R"({"Name": "a", "State": "completed"})").desired_state, TaskState::Completed);
  // With no wrapper State, the inner one is the request.
  EXPECT_EQ(parse_ok(R"({"ID": "x", "Task": {"Name": "a", "State": 3}})").desired_state,
            TaskState::Completed);
  // Anything else means run it.
  for (std::string_view body :
       {R"({"Name": "a", "State": 0})", R"({"Name": "a", "State": 1})",
        R"({"Name": "a", "State": 2})", R"({"Name": "a", "State": 4})", R"({"Name": "a"})",
        R"({"Name": "a", "State": null})", R"({"ID": "x", "State": 2, "Task": {"State": 3}})"}) {
    EXPECT_EQ(parse_ok(body).desired_state, TaskState::Running) << body;
  }
}

TEST(TaskJson, WrapperIdFillsAnEmptyTaskId) {
  EXPECT_EQ(parse_ok(R"({"ID": "abc", "State": 2, "Task": {"Name": "a"}})").id, "abc");
  EXPECT_EQ(parse_ok(R"({"ID": "abc", "Task": {"ID": "inner", "Name": "a"}})").id, "inner");
}

TEST(TaskJson, UnknownFieldIsNamed) {
  expect_error(R"({"Name": "a", "Imagee": "nginx"})", "unknown field \"Imagee\"");
  expect_error(R"({"ID": "x", "State": 2, "Task": {"Imagee": "nginx"}})",
               "Task: unknown field \"Imagee\"");
  expect_error(R"({"ID": "x", "Statee": 2, "Task": {"Image": "nginx"}})",
               "unknown field \"Statee\" in task event");
}

TEST(TaskJson, WrongTypeNamesTheField) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {R"({"ID": 5})", "field \"ID\": expected a string, got number"},
      {R"({"Name": ["a"]})", "field \"Name\": expected a string, got array"},
      {R"({"Image": true})", "field \"Image\""},
      {R"({"Cmd": "ls -l"})", "field \"Cmd\": expected an array of strings, got string"},
      {R"({"Cmd": ["ls", 1]})", "field \"Cmd\": expected strings in the array, got number"},
      {R"({"Env": {"A": "1"}})", "field \"Env\""},
      {R"({"CPU": "0.5"})", "field \"CPU\": expected a number of cores, got string"},
      {R"({"Memory": true})", "field \"Memory\": expected bytes or a size like \"512MiB\""},
      {R"({"Memory": "12XB"})", "field \"Memory\": \"12XB\" is not a size"},
      {R"({"Disk": [1]})", "field \"Disk\""},
      {R"({"ExposedPorts": "80/tcp"})", "field \"ExposedPorts\""},
      {R"({"RestartPolicy": 1})", "field \"RestartPolicy\""},
      {R"({"HealthCheck": {}})", "field \"HealthCheck\""},
      {R"({"Driver": 2})", "field \"Driver\""},
      {R"({"Constraints": "a=b"})", "field \"Constraints\""},
      {R"({"Labels": ["a"]})", "field \"Labels\""},
      {R"({"Labels": {"a": 1}})", "field \"Labels\": values must be strings"},
      {R"({"Duration": true})", "field \"Duration\""},
      {R"({"Duration": "5 parsecs"})", "field \"Duration\""},
      {R"({"HealthCheckInterval": true})", "field \"HealthCheckInterval\""},
      {R"({"HealthCheckTimeout": "2 fortnights"})", "field \"HealthCheckTimeout\""},
      {R"({"HealthCheckRetries": "3"})", "field \"HealthCheckRetries\": expected a whole number"},
      {R"({"HealthCheckRetries": -1})", "field \"HealthCheckRetries\": -1 is out of range"},
      {R"({"State": "Runnning"})", "field \"State\": expected a state 0-4 or its name"},
      {R"({"State": 9})", "field \"State\""},
      {R"({"State": 2.5})", "field \"State\""},
      {R"({"ID": "x", "State": "bad", "Task": {}})", "field \"State\""},
      {R"({"ID": 7, "Task": {}})", "field \"ID\""},
      {R"({"Task": {"Memory": false}})", "Task: field \"Memory\""},
  };
  for (const auto& [body, needle] : cases)
    expect_error(body, needle);
}

TEST(TaskJson, NumbersOutsideInt64AreErrorsNotUndefinedBehaviour) {
  expect_error(R"({"Memory": 1e30})", "field \"Memory\": 1e+30 is out of range");
  expect_error(R"({"Memory": -1e30})", "field \"Memory\"");
  expect_error(R"({"Disk": 18446744073709551615})",
               "field \"Disk\": 18446744073709551615 is too large");
  expect_error(R"({"Duration": 1e19})", "field \"Duration\"");
  EXPECT_EQ(parse_ok(R"({"Duration": 9223372036854775807})").duration_ms, INT64_MAX);
  EXPECT_EQ(parse_ok(R"({"Memory": 9223372036854775807})").memory_bytes, INT64_MAX);
  EXPECT_EQ(parse_ok(R"({"Memory": -5})").memory_bytes, -5);  // validation rejects it later
  EXPECT_EQ(parse_ok(R"({"Memory": 1024.9})").memory_bytes, 1024);
  EXPECT_EQ(parse_ok(R"({"Duration": 1500.7})").duration_ms, 1500);
}

// nlohmann throws out_of_range (not parse_error) for 1e400 even when asked not to throw on the
// second, diagnostic parse; that used to terminate the process.
TEST(TaskJson, NumberOverflowIsAnErrorNotACrash) {
  expect_error(R"({"CPU": 1e400})", "number overflow");
  expect_error(R"({"Memory": -1e400})", "number overflow");
  EXPECT_EQ(parse_ok(R"({"CPU": 1e-400})").cpu, 0.0);
}

// Found by task_json_fuzz: go-cube's unquoted-looking UUID "123e4567-..." read as a number.
TEST(TaskJson, UuidThatLooksLikeANumberIsAnErrorNotACrash) {
  expect_error(R"({"ID": 123e4567-e89b-12d3-a456-426614174000"})", "number overflow");
}

// Deep nesting is bounded only by the body size; nothing on the error path may recurse over
// it (dump() of a nested "State" overflowed the stack).
TEST(TaskJson, DeeplyNestedValuesAreErrorsNotStackOverflows) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  expect_error(R"({"State": )" + deep + "}",
               "field \"State\": expected a state 0-4 or its name, got array");
  expect_error(R"({"ID": "x", "State": )" + deep + R"(, "Task": {}})", "field \"State\"");
  expect_error(R"({"Cmd": )" + deep + "}", "field \"Cmd\"");
  expect_error(R"({"Imagee": )" + deep + "}", "unknown field \"Imagee\"");
}

TEST(TaskJson, InvalidJsonGivesTheByteOffset) {
  expect_error(R"({"Name": "x",, })", "(byte 14)");
  expect_error(R"({"Name": "x")", "(byte 13)");
  expect_error("", "not valid JSON");
  expect_error("{\"Name\": \"\xff\"}", "ill-formed UTF-8");
  expect_error("[1, 2]", "a task must be a JSON object, got array");
  expect_error("null", "a task must be a JSON object, got null");
  expect_error(R"({"Task": 5})", "Task: a task must be a JSON object, got number");
}

TEST(TaskJson, SizesAsStrings) {
  EXPECT_EQ(parse_ok(R"({"Memory": "512MiB"})").memory_bytes, 512ll << 20);
  EXPECT_EQ(parse_ok(R"({"Memory": "1GiB", "Disk": "10GiB"})").disk_bytes, 10ll << 30);
  EXPECT_EQ(parse_ok(R"({"Memory": "64M"})").memory_bytes, 64ll << 20);
  EXPECT_EQ(parse_ok(R"({"Memory": "1.5GiB"})").memory_bytes, 3ll << 29);
  EXPECT_EQ(parse_ok(R"({"Memory": "1000"})").memory_bytes, 1000);
  EXPECT_EQ(parse_ok(R"({"Duration": "5s"})").duration_ms, 5000);
  EXPECT_EQ(parse_ok(R"({"Duration": "250ms"})").duration_ms, 250);
}

TEST(TaskJson, OutputFieldsOfThePriorOrchestratorsAreIgnored) {
  Task got = parse_ok(R"({
    "Name": "web", "Image": "nginx:latest",
    "HostPorts": {"80/tcp": [{"HostIp": "", "HostPort": "32768"}]},
    "StartsAt": "2025-04-13T12:57:35.5391939+03:00",
    "FinishedAt": "2025-04-13T12:58:16.9053937+03:00",
    "CreatedAt": "2025-04-13T12:58:03.8839293+03:00",
    "UpdatedAt": "2025-04-13T12:58:16.9053937+03:00",
    "ContainerID": "fd31597bc7eb", "StartTime": "x", "FinishTime": "y", "RestartCount": 2,
    "PortBindings": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "1"}]},
    "Node": "n", "NodeID": "i", "Reason": "r", "ExitCode": 1, "Attempt": 3, "DesiredState": 3,
    "Events": []
  })");
  Task expected;
  expected.name = "web";
  expected.image = "nginx:latest";
  EXPECT_EQ(got, expected);
}

TEST(TaskJson, HealthCheckSettingsAsMillisecondsOrDurations) {
  auto t = task_from_json_text(
      R"({"HealthCheck": "/health", "HealthCheckInterval": "500ms", "HealthCheckTimeout": 250,
          "HealthCheckRetries": 5})");
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->health_check, "/health");
  EXPECT_EQ(t->health_interval_ms, 500);
  EXPECT_EQ(t->health_timeout_ms, 250);
  EXPECT_EQ(t->health_retries, 5);
  nlohmann::json j = task_to_json(*t);
  EXPECT_EQ(j["HealthCheckInterval"], 500);
  EXPECT_EQ(j["HealthCheckTimeout"], 250);
  EXPECT_EQ(j["HealthCheckRetries"], 5);
  // Unset (the agent's defaults): not printed, as the prior orchestrators print tasks.
  nlohmann::json plain = task_to_json(Task{});
  EXPECT_FALSE(plain.contains("HealthCheckInterval"));
  EXPECT_FALSE(plain.contains("HealthCheckTimeout"));
  EXPECT_FALSE(plain.contains("HealthCheckRetries"));
}

TEST(TaskJson, ExposedPortsAsObjectOrArray) {
  auto ports = parse_ok(R"({"ExposedPorts": {"80/tcp": {}, "53/udp": {}}})").exposed_ports;
  EXPECT_EQ(ports, (std::vector<std::string>{"53/udp", "80/tcp"}));
  ports = parse_ok(R"({"ExposedPorts": ["8080/tcp"]})").exposed_ports;
  EXPECT_EQ(ports, (std::vector<std::string>{"8080/tcp"}));
}

TEST(TaskJson, ToJsonAndBackKeepsTheSpec) {
  Task original = test::sample_task();
  // The JSON object form of ExposedPorts is sorted by port name.
  std::sort(original.exposed_ports.begin(), original.exposed_ports.end());
  nlohmann::json j = task_to_json(original);
  auto back = task_from_json_text(j.dump());
  ASSERT_TRUE(back.is_ok()) << back.status().to_string() << "\n" << j.dump(2);

  Task spec;  // only the spec travels; status fields are output-only
  spec.id = original.id;
  spec.name = original.name;
  spec.image = original.image;
  spec.cmd = original.cmd;
  spec.env = original.env;
  spec.cpu = original.cpu;
  spec.memory_bytes = original.memory_bytes;
  spec.disk_bytes = original.disk_bytes;
  spec.exposed_ports = original.exposed_ports;
  spec.restart_policy = original.restart_policy;
  spec.health_check = original.health_check;
  spec.driver = original.driver;
  spec.constraints = original.constraints;
  spec.labels = original.labels;
  spec.duration_ms = original.duration_ms;
  spec.health_interval_ms = original.health_interval_ms;
  spec.health_timeout_ms = original.health_timeout_ms;
  spec.health_retries = original.health_retries;
  // "State" in the output is the observed state (Failed): sent back, it means "run it".
  spec.desired_state = TaskState::Running;
  EXPECT_EQ(*back, spec);
}

TEST(TaskJson, ToJsonShape) {
  Task t = test::sample_task();
  nlohmann::json j = task_to_json(t);
  EXPECT_EQ(j["ID"], t.id);
  EXPECT_EQ(j["State"], 4);
  EXPECT_EQ(j["DesiredState"], 3);
  EXPECT_EQ(j["Memory"], 512ll << 20);
  EXPECT_EQ(j["ExitCode"], 137);
  EXPECT_EQ(j["ExposedPorts"], nlohmann::json::parse(R"({"8080/tcp": {}, "53/udp": {}})"));
  EXPECT_EQ(j["PortBindings"],
            nlohmann::json::parse(R"({"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"},
                                                   {"HostIp": "::", "HostPort": "32769"}]})"));
  EXPECT_EQ(j["StartTime"], "2025-11-23T10:00:00.000Z");
  EXPECT_EQ(j["FinishTime"], "2025-11-23T10:01:00.500Z");
  EXPECT_EQ(j["Duration"], 30000);
  EXPECT_EQ(j["Labels"]["team"], "infra");

  t.exit_code.reset();
  t.duration_ms = 0;
  t.start_time_ms = 0;
  j = task_to_json(t);
  EXPECT_TRUE(j["ExitCode"].is_null());
  EXPECT_FALSE(j.contains("Duration"));
  EXPECT_EQ(j["StartTime"], "");
}

TEST(TaskJson, EventAndNodeJson) {
  nlohmann::json e =
      task_event_to_json(TaskEvent{TaskState::Failed, 1763892000123, "node lost", "agent-1"});
  EXPECT_EQ(e["State"], 4);
  EXPECT_EQ(e["StateName"], "Failed");
  EXPECT_EQ(e["Timestamp"], "2025-11-23T10:00:00.123Z");
  EXPECT_EQ(e["Reason"], "node lost");

  nlohmann::json n = node_to_json(test::sample_node());
  EXPECT_EQ(n["Name"], "agent-1");
  EXPECT_EQ(n["Slots"], 8);
  EXPECT_EQ(n["FreeSlots"], 5);
  EXPECT_EQ(n["Memory"], 4ll << 30);
  EXPECT_EQ(n["Drivers"], nlohmann::json::parse(R"(["docker", "exec"])"));
  EXPECT_EQ(n["Allocated"]["CPU"], 1.5);
  EXPECT_EQ(n["Allocated"]["Memory"], 1536ll << 20);
  EXPECT_EQ(n["Allocated"]["Disk"], 2ll << 30);
  EXPECT_EQ(n["Allocated"]["Tasks"], 3);
  EXPECT_EQ(n["Stats"]["CPUUsed"], 0.75);
  EXPECT_EQ(n["Stats"]["CPUTotal"], 2.0);
  EXPECT_EQ(n["Stats"]["MemoryUsed"], 1536ll << 20);
  EXPECT_EQ(n["Stats"]["MemoryTotal"], 4ll << 30);
  EXPECT_EQ(n["Stats"]["DiskUsed"], 40ll << 30);
  EXPECT_EQ(n["Stats"]["DiskTotal"], 100ll << 30);
  EXPECT_EQ(n["Stats"]["Load1"], 0.5);
  EXPECT_EQ(n["Stats"]["Running"], 3);
  EXPECT_EQ(n["Stats"]["SampledAt"], "2025-11-23T10:00:00.500Z");
  protocol::NodeInfo fresh = test::sample_node();
  fresh.usage.reset();
  EXPECT_TRUE(node_to_json(fresh)["Stats"].is_null()) << "no stats before the first sample";

  nlohmann::json t = task_stats_to_json(test::sample_task_stats());
  EXPECT_EQ(t["CPUUsed"], 0.25);
  EXPECT_EQ(t["Memory"], 48ll << 20);
  EXPECT_EQ(t["Attempt"], 3);
}

TEST(TaskJson, Rfc3339) {
  EXPECT_EQ(format_rfc3339(0), "");
  EXPECT_EQ(format_rfc3339(1), "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(format_rfc3339(1763892000000), "2025-11-23T10:00:00.000Z");
  EXPECT_EQ(format_rfc3339(951782400999), "2000-02-29T00:00:00.999Z");
}

// --- several tasks in one text (cube-client submit -f, POST /tasks) ---

TaskList parse_list_ok(std::string_view text) {
  auto list = tasks_from_json_text(text);
  EXPECT_TRUE(list.is_ok()) << list.status().to_string();
  return list.is_ok() ? *list : TaskList{};
}

void expect_list_error(std::string_view text, const std::string& message) {
  auto list = tasks_from_json_text(text);
  ASSERT_FALSE(list.is_ok()) << text;
  EXPECT_TRUE(list.status().is_invalid());
  EXPECT_EQ(list.status().message(), message);
}

TEST(TaskListJson, OneTaskOrTaskEventIsSingleAsBefore) {
  TaskList single = parse_list_ok(R"({"Name": "web", "Image": "nginx"})");
  EXPECT_EQ(single.form, TaskList::Form::Single);
  ASSERT_EQ(single.tasks.size(), 1u);
  EXPECT_EQ(single.tasks[0].name, "web");
  EXPECT_EQ(single.where(0), "the task");
  // A pretty-printed body is one task, not lines.
  TaskList orc = parse_list_ok(kOrcBody);
  EXPECT_EQ(orc.form, TaskList::Form::Single);
  ASSERT_EQ(orc.tasks.size(), 1u);
  EXPECT_EQ(orc.tasks[0].id, "266592cd-960d-4091-981c-8c25c44b1018");
  // Its errors are task_from_json_text's, with the byte where it breaks.
  expect_list_error(R"({"Name": "x",, })",
                    task_from_json_text(R"({"Name": "x",, })").status().message());
  expect_list_error("{\n  \"Name\": 5\n}", "field \"Name\": expected a string, got number");
}

TEST(TaskListJson, AnArrayOfTasksAndTaskEvents) {
  TaskList list = parse_list_ok(R"([
    {"Name": "a", "Image": "busybox"},
    {"ID": "266592cd-960d-4091-981c-8c25c44b1018", "State": 3, "Task": {"Name": "b"}},
    {"Name": "c", "Driver": "sim", "Memory": "64MiB"}
  ])");
  EXPECT_EQ(list.form, TaskList::Form::Array);
  ASSERT_EQ(list.tasks.size(), 3u);
  EXPECT_EQ(list.tasks[0].name, "a");
  EXPECT_EQ(list.tasks[1].id, "266592cd-960d-4091-981c-8c25c44b1018");
  EXPECT_EQ(list.tasks[1].desired_state, TaskState::Completed);
  EXPECT_EQ(list.tasks[2].memory_bytes, 64ll << 20);
  EXPECT_EQ(list.where(2), "task #2");
  EXPECT_TRUE(parse_list_ok("[]").tasks.empty());
}

TEST(TaskListJson, AnArrayErrorNamesTheItemAndTheField) {
  expect_list_error(R"([{"Name": "a"}, {"Name": "b", "Memory": true}])",
                    "task #1: field \"Memory\": expected bytes or a size like \"512MiB\", got "
                    "boolean");
  expect_list_error(R"([{"Name": "a"}, {"Imagee": "x"}])",
                    "task #1: unknown field \"Imagee\" in task");
  expect_list_error(R"([{"Name": "a"}, 7])", "task #1: a task must be a JSON object, got number");
}

TEST(TaskListJson, OneTaskPerLineSkipsBlankLines) {
  TaskList list = parse_list_ok(
      "{\"Name\": \"a\", \"Image\": \"busybox\"}\r\n"
      "\n"
      "   \n"
      "{\"ID\": \"266592cd-960d-4091-981c-8c25c44b1018\", \"Task\": {\"Name\": \"b\"}}\n"
      "{\"Name\": \"c\", \"Driver\": \"sim\"}\n\n");
  EXPECT_EQ(list.form, TaskList::Form::Lines);
  ASSERT_EQ(list.tasks.size(), 3u);
  EXPECT_EQ(list.tasks[0].name, "a");
  EXPECT_EQ(list.tasks[1].name, "b");
  EXPECT_EQ(list.tasks[2].driver, "sim");
  EXPECT_EQ(list.lines, (std::vector<size_t>{1, 4, 5}));
  EXPECT_EQ(list.where(1), "line 4");
}

TEST(TaskListJson, ALineErrorNamesTheLineAndTheField) {
  expect_list_error("{\"Name\": \"a\"}\n\n{\"Name\": \"b\", \"Cpu\": 1}\n",
                    "line 3: unknown field \"Cpu\" in task");
  expect_list_error("{\"Name\": \"a\"}\n{\"Name\": [1]}\n",
                    "line 2: field \"Name\": expected a string, got array");
  auto broken = tasks_from_json_text("{\"Name\": \"a\"}\n{\"Name\": \"b\",}\n");
  ASSERT_FALSE(broken.is_ok());
  EXPECT_TRUE(broken.status().message().starts_with("line 2: body is not valid JSON: "))
      << broken.status().message();
}

}  // namespace
}  // namespace cube
