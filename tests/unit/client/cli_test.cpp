// run_cli end to end against a fake broker: exit codes, what `submit` sends, what each command
// prints.
#include "client/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "common/ids.h"
#include "protocol/codec.h"
#include "protocol/task_validation.h"
#include "tests/unit/client/fake_broker.h"

namespace cube {
namespace {

using testing::FakeBroker;
using testing::FakeResponse;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReceivedRequest;

constexpr char kId[] = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

CliResult run(std::vector<std::string> args, const Clock& clock, const std::string& input = "") {
  args.insert(args.begin(), "cube-client");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream out;
  std::ostringstream err;
  std::istringstream in(input);
  CliResult result;
  result.code = run_cli(static_cast<int>(args.size()), argv.data(), out, err, in, clock);
  result.out = out.str();
  result.err = err.str();
  return result;
}

size_t line_count(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

Task sample_task(const std::string& id, const std::string& name, TaskState state) {
  Task t;
  t.id = id;
  t.name = name;
  t.image = "nginx:1.25";
  t.state = state;
  t.created_ms = 1'700'000'000'000;
  return t;
}

// A broker that stores submitted tasks (assigning kId when the ID is empty) and answers the other
// requests from what it stored. Unknown IDs get not_found.
// What a FakeTaskBroker serves: tasks, the states a task goes through on successive GETs, and
// the reason given when one of those states is Failed.
struct Script {
  std::vector<Task> tasks;
  std::vector<TaskState> get_states;
  std::string failure_reason;
};

class FakeTaskBroker {
 public:
  // The script is fixed before the broker thread starts; only that thread touches it afterwards.
  explicit FakeTaskBroker(Script script = {})
      : tasks_(std::move(script.tasks)),
        get_states_(std::move(script.get_states)),
        failure_reason_(std::move(script.failure_reason)),
        broker_([this](size_t, const ReceivedRequest& request) { return handle(request); }) {}

  std::string address() const { return broker_.address(); }
  std::vector<ReceivedRequest> requests() const { return broker_.requests(); }

 private:
  std::vector<Task> tasks_;
  std::vector<TaskState> get_states_;
  std::string failure_reason_;

  FakeResponse handle(const ReceivedRequest& request) {
    protocol::Reply reply;
    using T = protocol::MessageType;
    switch (static_cast<T>(request.type)) {
      case T::SubmitRequest: {
        auto submit = protocol::decode_as<protocol::SubmitRequest>(request.body);
        Task t = submit->task;
        if (t.id.empty())
          t.id = kId;
        tasks_.push_back(t);
        reply.task = t;
        break;
      }
      case T::SubmitBatchRequest: {
        // Each task judged on its own, as the broker does: the invalid ones are refused.
        auto batch = protocol::decode_as<protocol::SubmitBatchRequest>(request.body);
        for (const Task& t : batch->tasks) {
          if (Status valid = validate_task_spec(t); !valid.is_ok()) {
            reply.submitted.push_back({t.id, valid.code(), valid.message()});
            continue;
          }
          tasks_.push_back(t);
          reply.submitted.push_back({t.id, ErrorCode::Ok, ""});
        }
        break;
      }
      case T::ListRequest:
        reply.tasks = tasks_;
        break;
      case T::GetRequest:
      case T::StopRequest: {
        std::string id = static_cast<T>(request.type) == T::GetRequest
                             ? protocol::decode_as<protocol::GetRequest>(request.body)->task_id
                             : protocol::decode_as<protocol::StopRequest>(request.body)->task_id;
        for (auto& t : tasks_) {
          if (t.id != id)
            continue;
          if (static_cast<T>(request.type) == T::GetRequest && gets_ < get_states_.size()) {
            t.state = get_states_[gets_++];
            if (t.state == TaskState::Failed)
              t.reason = failure_reason_;
          }
          reply.task = t;
          reply.events = {TaskEvent{TaskState::Pending, 1'700'000'000'000, "", ""}};
          if (t.state == TaskState::Running)
            reply.task_stats =
                protocol::TaskStats{t.id, t.attempt, 1'700'000'000'000, 0.25, 48 << 20};
        }
        if (!reply.task)
          reply.status = Status::not_found("no task with ID " + id);
        break;
      }
      case T::NodesRequest: {
        protocol::NodeInfo node;
        node.id = "5b0c7e2a-0000-4000-8000-000000000001";
        node.name = "node-1";
        node.state = "ready";
        node.capacity = {2, 4ll << 30, 10ll << 30, 4};
        node.running = 1;
        node.allocated = {0.5, 600ll << 20, 0, 1};
        protocol::NodeUsage usage;
        usage.cpu_used = 1.5;
        usage.cpu_total = 2;
        usage.memory_used_bytes = 1ll << 30;
        usage.memory_total_bytes = 8ll << 30;
        usage.disk_used_bytes = 3ll << 30;
        usage.disk_total_bytes = 20ll << 30;
        usage.load_1 = 0.5;
        usage.load_5 = 0.25;
        usage.load_15 = 0.1;
        usage.running = 1;
        node.usage = usage;
        reply.nodes = {node};
        break;
      }
      case T::StatusRequest: {
        protocol::BrokerStatus status;
        status.version = "0.1.0";
        status.epoch = "e-123";
        status.nodes_ready = 1;
        status.nodes_total = 2;
        status.tasks_by_state = {{"Running", 3}, {"Pending", 1}};
        status.scheduler = "spread";
        reply.broker = status;
        break;
      }
      default:
        reply.status = Status::invalid("unexpected request");
    }
    return FakeResponse::answer(reply);
  }

  size_t gets_ = 0;
  FakeBroker broker_;  // last: its thread calls handle(), which uses the members above
};

Task decode_submitted(const ReceivedRequest& request) {
  auto submit = protocol::decode_as<protocol::SubmitRequest>(request.body);
  EXPECT_TRUE(submit.is_ok());
  return submit.is_ok() ? submit->task : Task{};
}

class CliUsageError : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(CliUsageError, ExitsTwoWithAHintAndSendsNothing) {
  FakeTaskBroker broker;
  std::vector<std::string> args = {"--broker", broker.address()};
  for (const auto& a : GetParam())
    args.push_back(a);
  ManualClock clock;

  CliResult r = run(args, clock);

  EXPECT_EQ(r.code, kExitUsage) << r.err;
  EXPECT_THAT(r.err, HasSubstr("cube-client: "));
  EXPECT_THAT(r.err, HasSubstr("--help"));
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(broker.requests().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliUsageError,
    ::testing::Values(
        std::vector<std::string>{}, std::vector<std::string>{"frobnicate"},
        std::vector<std::string>{"list", "--bogus"}, std::vector<std::string>{"-o", "json", "list"},
        std::vector<std::string>{"list", "-o", "yaml"}, std::vector<std::string>{"list", "extra"},
        std::vector<std::string>{"events", "--filter", "colour=red"},
        std::vector<std::string>{"events", "--filter", "node"},
        std::vector<std::string>{"events", "--since", "-3"},
        std::vector<std::string>{"events", "-o", "wide"},
        std::vector<std::string>{"list", "--watch", "-o", "json"},
        std::vector<std::string>{"nodes", "node-a", "--watch"},
        std::vector<std::string>{"list", "--", "x"}, std::vector<std::string>{"get"},
        std::vector<std::string>{"get", "a", "b"}, std::vector<std::string>{"stop"},
        std::vector<std::string>{"submit"},
        std::vector<std::string>{"submit", "--name", "web"},  // no image
        std::vector<std::string>{"submit", "--name", "web", "--image", "nginx", "--memory", "12XB"},
        std::vector<std::string>{"submit", "--name", "web", "--image", "nginx", "--cpu", "lots"},
        std::vector<std::string>{"submit", "--name", "web", "--image", "nginx", "-p", "99999"},
        std::vector<std::string>{"submit", "--name", "web", "--image", "nginx", "--label",
                                 "novalue"},
        std::vector<std::string>{"submit", "--name", "web", "--image", "nginx", "sh"},
        std::vector<std::string>{"submit", "-f", "/nonexistent/task.json"},
        std::vector<std::string>{"submit", "-f", "-", "--name", "web"},
        std::vector<std::string>{"run", "web"},
        std::vector<std::string>{"--timeout", "soon", "list"},
        std::vector<std::string>{"list", "--timeout", "0s"},
        std::vector<std::string>{"list", "--broker", "nohost"},
        std::vector<std::string>{"help", "frobnicate"},
        // services: checked before anything is sent
        std::vector<std::string>{"service"}, std::vector<std::string>{"service", "frob"},
        std::vector<std::string>{"service", "create", "--driver", "exec", "--", "sleep", "1"},
        std::vector<std::string>{"service", "create", "--name", "web", "--replicas", "-1",
                                 "--driver", "exec", "--", "sleep", "1"},
        std::vector<std::string>{"service", "create", "--name", "web", "--replicas", "10001",
                                 "--driver", "exec", "--", "sleep", "1"},
        std::vector<std::string>{"service", "create", "--name", "a.b", "--driver", "exec", "--",
                                 "sleep", "1"},
        std::vector<std::string>{"service", "create", "--name", "web", "--driver", "exec",
                                 "--update-order", "sideways", "--", "sleep", "1"},
        std::vector<std::string>{"service", "create", "-f", "-", "--replicas", "2"},
        std::vector<std::string>{"service", "ps"}, std::vector<std::string>{"service", "rm"},
        std::vector<std::string>{"service", "scale", "web"},
        std::vector<std::string>{"service", "scale", "web=many"},
        std::vector<std::string>{"service", "ls", "--replicas", "3"}));

TEST(Cli, ServiceCreateSendsTheTemplateReplicasAndUpdatePolicy) {
  std::vector<ReceivedRequest> seen;
  testing::FakeBroker broker([&](size_t, const ReceivedRequest& request) {
    protocol::Reply reply;
    reply.request_id = request.request_id;
    auto create = protocol::decode_as<protocol::ServiceCreateRequest>(request.body);
    if (create.is_ok())
      reply.services = {protocol::ServiceInfo{create->service, 0, 0}};
    return FakeResponse::answer(reply);
  });
  ManualClock clock;
  CliResult r = run({"service",
                     "create",
                     "--broker",
                     broker.address(),
                     "--name",
                     "web",
                     "--replicas",
                     "3",
                     "--driver",
                     "exec",
                     "--memory",
                     "64MiB",
                     "--update-parallelism",
                     "2",
                     "--update-delay",
                     "10s",
                     "--update-failure-action",
                     "rollback",
                     "--",
                     "sleep",
                     "60"},
                    clock);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "web\n");
  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].type, static_cast<uint8_t>(protocol::MessageType::ServiceCreateRequest));
  auto sent = protocol::decode_as<protocol::ServiceCreateRequest>(requests[0].body);
  ASSERT_TRUE(sent.is_ok());
  EXPECT_EQ(sent->service.name, "web");
  EXPECT_EQ(sent->service.replicas, 3u);
  EXPECT_EQ(sent->service.task_template.cmd, (std::vector<std::string>{"sleep", "60"}));
  EXPECT_EQ(sent->service.task_template.memory_bytes, 64 << 20);
  EXPECT_TRUE(sent->service.task_template.id.empty());
  EXPECT_EQ(sent->service.update.parallelism, 2u);
  EXPECT_EQ(sent->service.update.delay_ms, 10000);
  EXPECT_EQ(sent->service.update.failure_action, "rollback");
  EXPECT_EQ(sent->service.update.order, "stop-first");  // the default
}

TEST(Cli, ServiceLsShowsRunningOfDesired) {
  testing::FakeBroker broker([&](size_t, const ReceivedRequest& request) {
    protocol::Reply reply;
    reply.request_id = request.request_id;
    Service web;
    web.name = "web";
    web.replicas = 3;
    web.version = 2;
    web.task_template.image = "nginx:1.25";
    reply.services = {protocol::ServiceInfo{web, 2, 3}};
    return FakeResponse::answer(reply);
  });
  ManualClock clock;
  CliResult r = run({"service", "ls", "--broker", broker.address()}, clock);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("NAME"));
  EXPECT_THAT(r.out, HasSubstr("2/3"));
  EXPECT_THAT(r.out, HasSubstr("nginx:1.25"));
  CliResult j = run({"service", "ls", "-o", "json", "--broker", broker.address()}, clock);
  ASSERT_EQ(j.code, kExitOk) << j.err;
  auto parsed = nlohmann::json::parse(j.out);
  EXPECT_EQ(parsed.at(0).at("Running"), 2);
  EXPECT_EQ(parsed.at(0).at("Replicas"), 3);
}

TEST(Cli, UnreachableBrokerExitsThreeWithOneLineNamingTheAddress) {
  SteadyTime start = system_clock().now();
  CliResult r = run({"--broker", "127.0.0.1:1", "--timeout", "300ms", "list"}, system_clock());
  Millis elapsed = std::chrono::duration_cast<Millis>(system_clock().now() - start);

  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_THAT(r.err, HasSubstr("127.0.0.1:1"));
  EXPECT_THAT(r.err, HasSubstr("did not answer within 0.3 s"));
  EXPECT_EQ(r.out, "");
  EXPECT_LT(elapsed, Millis(3000));  // within the timeout, never a hang (upper bound only)
}

TEST(Cli, GlobalOptionsMayFollowTheCommand) {
  CliResult r = run({"status", "--timeout", "300ms", "--broker", "127.0.0.1:1"}, system_clock());
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_THAT(r.err, HasSubstr("127.0.0.1:1"));
}

TEST(Cli, SubmitFlagsBuildTheTask) {
  FakeTaskBroker broker;
  ManualClock clock;

  CliResult r = run({"submit",   "--broker",   broker.address(), "--name",    "web",
                     "--image",  "nginx:1.25", "--driver",       "docker",    "--cpu",
                     "0.5",      "--memory",   "512MiB",         "--disk",    "1GiB",
                     "-p",       "80/tcp",     "--port",         "443",       "-e",
                     "A=1",      "--env",      "B=two words",    "--restart", "always",
                     "--health", "/health",    "--constraint",   "zone=a",    "--label",
                     "team=web", "--label",    "tier=front",     "--",        "nginx",
                     "-g",       "daemon off;"},
                    clock);

  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 1u);
  Task t = decode_submitted(requests[0]);
  // The client chose the ID (a UUIDv7) before sending, so a retry cannot store the task twice.
  EXPECT_TRUE(is_uuid_v7(t.id)) << t.id;
  EXPECT_EQ(r.out, t.id + "\n");  // only the ID
  EXPECT_EQ(t.name, "web");
  EXPECT_EQ(t.image, "nginx:1.25");
  EXPECT_EQ(t.driver, "docker");
  EXPECT_DOUBLE_EQ(t.cpu, 0.5);
  EXPECT_EQ(t.memory_bytes, 512ll << 20);
  EXPECT_EQ(t.disk_bytes, 1ll << 30);
  EXPECT_EQ(t.exposed_ports, (std::vector<std::string>{"80/tcp", "443"}));
  EXPECT_EQ(t.env, (std::vector<std::string>{"A=1", "B=two words"}));
  EXPECT_EQ(t.restart_policy, "always");
  EXPECT_EQ(t.health_check, "/health");
  EXPECT_EQ(t.constraints, (std::vector<std::string>{"zone=a"}));
  EXPECT_EQ(t.labels, (std::map<std::string, std::string>{{"team", "web"}, {"tier", "front"}}));
  EXPECT_EQ(t.cmd, (std::vector<std::string>{"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(t.desired_state, TaskState::Running);
}

TEST(Cli, SubmitSimTaskWithDurationAndExplicitId) {
  FakeTaskBroker broker;
  ManualClock clock;

  CliResult r = run({"--broker", broker.address(), "submit", "--name", "sim-1", "--driver", "sim",
                     "--duration", "1.5s", "--id", "0190a3c4-0000-7000-8000-000000000001"},
                    clock);

  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "0190a3c4-0000-7000-8000-000000000001\n");
  Task t = decode_submitted(broker.requests().at(0));
  EXPECT_EQ(t.driver, "sim");
  EXPECT_EQ(t.duration_ms, 1500);
  EXPECT_EQ(t.id, "0190a3c4-0000-7000-8000-000000000001");
}

TEST(Cli, SubmitWithoutANameIsNamedAfterTheImageOrTheCommand) {
  FakeTaskBroker broker;
  ManualClock clock;

  CliResult by_image = run(
      {"--broker", broker.address(), "submit", "--image", "registry:5000/no-such/image:1"}, clock);
  CliResult by_digest = run(
      {"--broker", broker.address(), "submit", "--image", "busybox@sha256:" + std::string(64, 'a')},
      clock);
  CliResult by_command = run(
      {"--broker", broker.address(), "submit", "--driver", "exec", "--", "/bin/sleep", "1"}, clock);

  ASSERT_EQ(by_image.code, kExitOk) << by_image.err;
  ASSERT_EQ(by_digest.code, kExitOk) << by_digest.err;
  ASSERT_EQ(by_command.code, kExitOk) << by_command.err;
  EXPECT_EQ(decode_submitted(broker.requests().at(0)).name, "image");
  EXPECT_EQ(decode_submitted(broker.requests().at(1)).name, "busybox");
  EXPECT_EQ(decode_submitted(broker.requests().at(2)).name, "sleep");
}

TEST(Cli, SubmitFromStdinAcceptsATaskEventWrapper) {
  FakeTaskBroker broker;
  ManualClock clock;
  std::string json = R"({"ID": "0190a3c4-0000-7000-8000-000000000002", "State": 2,
    "Timestamp": "2024-01-01T00:00:00Z",
    "Task": {"Name": "echo", "Image": "busybox:latest", "Cmd": ["echo", "hi"], "Memory": "64MiB",
             "ExposedPorts": {"8080/tcp": {}}, "RestartPolicy": "on-failure", "State": 0}})";

  CliResult r = run({"--broker", broker.address(), "submit", "-f", "-"}, clock, json);

  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "0190a3c4-0000-7000-8000-000000000002\n");
  Task t = decode_submitted(broker.requests().at(0));
  EXPECT_EQ(t.id, "0190a3c4-0000-7000-8000-000000000002");
  EXPECT_EQ(t.name, "echo");
  EXPECT_EQ(t.cmd, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_EQ(t.memory_bytes, 64ll << 20);
  EXPECT_EQ(t.exposed_ports, (std::vector<std::string>{"8080/tcp"}));
  EXPECT_EQ(t.restart_policy, "on-failure");
}

TEST(Cli, SubmitRejectsBadJsonBeforeSendingIt) {
  FakeTaskBroker broker;
  ManualClock clock;

  CliResult r = run({"--broker", broker.address(), "submit", "-f", "-"}, clock,
                    R"({"Name": "x", "Imagee": "busybox"})");

  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("unknown field \"Imagee\""));
  EXPECT_TRUE(broker.requests().empty());
}

std::vector<Task> decode_batch(const ReceivedRequest& request) {
  EXPECT_EQ(request.type, static_cast<uint8_t>(protocol::MessageType::SubmitBatchRequest));
  auto batch = protocol::decode_as<protocol::SubmitBatchRequest>(request.body);
  EXPECT_TRUE(batch.is_ok());
  return batch.is_ok() ? batch->tasks : std::vector<Task>{};
}

TEST(Cli, SubmitFileOfLinesJudgesEachTaskAndPrintsOneLinePerTaskInOrder) {
  FakeTaskBroker broker;
  ManualClock clock;
  std::string ndjson =
      "{\"Name\": \"first\", \"Driver\": \"sim\"}\n"
      "\n"
      "{\"Name\": \"bad\", \"Driver\": \"sim\", \"Memory\": -1}\n"
      "{\"Driver\": \"exec\", \"Cmd\": [\"true\"], \"ID\": \"" +
      std::string(kId) + "\"}\n";

  CliResult r = run({"--broker", broker.address(), "submit", "-f", "-"}, clock, ndjson);

  EXPECT_EQ(r.code, kExitBrokerError);
  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 1u);  // one SUBMIT_BATCH for the whole file
  std::vector<Task> sent = decode_batch(requests[0]);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].name, "first");
  EXPECT_TRUE(is_uuid_v7(sent[0].id)) << sent[0].id;  // chosen before the first send
  EXPECT_TRUE(is_uuid_v7(sent[1].id)) << sent[1].id;
  EXPECT_EQ(sent[2].id, kId);
  EXPECT_EQ(r.out, sent[0].id + "\n" + kId + "\n");
  EXPECT_EQ(r.err, "ERROR line 3 (bad): invalid: field \"Memory\": must not be negative\n");
}

TEST(Cli, SubmitFileOfAnArrayNamesAnUnnamedTaskByItsIndex) {
  FakeTaskBroker broker;
  ManualClock clock;
  std::string array =
      R"([{"Name": "a", "Driver": "sim"}, {"Driver": "exec"}, {"Name": "c", "Driver": "sim"}])";

  CliResult r = run({"--broker", broker.address(), "submit", "-f", "-"}, clock, array);

  EXPECT_EQ(r.code, kExitBrokerError);
  std::vector<Task> sent = decode_batch(broker.requests().at(0));
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(r.out, sent[0].id + "\n" + sent[2].id + "\n");
  EXPECT_EQ(r.err,
            "ERROR task #1: invalid: field \"Cmd\": required for the exec driver (the command to "
            "run)\n");

  // All accepted: exit 0, one ID per line.
  FakeTaskBroker good;
  CliResult ok = run({"--broker", good.address(), "submit", "-f", "-"}, clock,
                     R"([{"Name": "a", "Driver": "sim"}, {"Name": "b", "Driver": "sim"}])");
  EXPECT_EQ(ok.code, kExitOk) << ok.err;
  EXPECT_EQ(line_count(ok.out), 2u);
  EXPECT_EQ(ok.err, "");
}

TEST(Cli, SubmitFileThatCannotBeUsedIsAUsageErrorAndSendsNothing) {
  FakeTaskBroker broker;
  ManualClock clock;
  auto submit = [&](const std::string& input) {
    return run({"--broker", broker.address(), "submit", "-f", "-"}, clock, input);
  };

  CliResult parse =
      submit("{\"Name\": \"a\"}\n{\"Name\": \"b\"}\n{\"Name\": \"c\", \"Imagee\": 1}\n");
  EXPECT_EQ(parse.code, kExitUsage);
  EXPECT_THAT(parse.err, HasSubstr("task file stdin: line 3: unknown field \"Imagee\" in task"));

  CliResult field = submit(R"([{"Name": "a"}, {"Name": "b", "Memory": true}])");
  EXPECT_EQ(field.code, kExitUsage);
  EXPECT_THAT(field.err, HasSubstr("task file stdin: task #1: field \"Memory\""));

  CliResult twice = submit("{\"Name\": \"a\", \"ID\": \"" + std::string(kId) +
                           "\"}\n{\"Name\": \"b\", \"ID\": \"" + std::string(kId) + "\"}\n");
  EXPECT_EQ(twice.code, kExitUsage);
  EXPECT_THAT(twice.err,
              HasSubstr("task ID " + std::string(kId) + " is given twice (line 1 and line 2)"));

  CliResult empty = submit("[]");
  EXPECT_EQ(empty.code, kExitUsage);
  EXPECT_THAT(empty.err, HasSubstr("task file stdin holds no task"));

  EXPECT_TRUE(broker.requests().empty());
}

TEST(Cli, SubmitFileWaitWaitsForEveryTaskAndNamesTheOneThatFailed) {
  FakeTaskBroker broker(Script{{}, {TaskState::Running, TaskState::Failed}, "exit code 3"});
  ManualClock clock;

  CliResult r = run({"--broker", broker.address(), "submit", "-f", "-", "--wait"}, clock,
                    R"([{"Name": "a", "Driver": "sim"}, {"Name": "b", "Driver": "sim"}])");

  EXPECT_EQ(r.code, kExitBrokerError);
  std::vector<Task> sent = decode_batch(broker.requests().at(0));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(r.out, sent[0].id + "\n" + sent[1].id + "\n");
  EXPECT_EQ(r.err, "cube-client: task " + sent[1].id + " failed: exit code 3\n");
  EXPECT_EQ(broker.requests().size(), 3u);  // SUBMIT_BATCH and one GET per task
}

// A broker that never answers: each task's line gives the ID it was sent with, so that
// submitting it again with that ID stores it at most once.
TEST(Cli, SubmitFileToASilentBrokerNamesEachTasksId) {
  FakeBroker silent([](size_t, const ReceivedRequest&) { return FakeResponse::drop(); });

  CliResult r = run({"--broker", silent.address(), "--timeout", "300ms", "submit", "-f", "-"},
                    system_clock(), R"([{"Name": "a", "Driver": "sim"}, {"Driver": "sim"}])");

  EXPECT_EQ(r.code, kExitUnreachable);
  std::vector<Task> sent = decode_batch(silent.requests().at(0));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("ERROR task #0 (a): no answer, so it may have been stored, as " +
                               sent[0].id + ": submit it again with that ID to store it once\n"));
  EXPECT_THAT(r.err,
              HasSubstr("ERROR task #1: no answer, so it may have been stored, as " + sent[1].id));
  EXPECT_THAT(r.err, HasSubstr("did not answer within 0.3 s"));
}

TEST(Cli, RunIsSubmitWithNameAndImage) {
  FakeTaskBroker broker;
  ManualClock clock;

  CliResult r = run({"--broker", broker.address(), "run", "hello", "busybox:latest", "-p", "80",
                     "--", "echo", "hello"},
                    clock);

  ASSERT_EQ(r.code, kExitOk) << r.err;
  Task t = decode_submitted(broker.requests().at(0));
  EXPECT_EQ(r.out, t.id + "\n");
  EXPECT_EQ(t.name, "hello");
  EXPECT_EQ(t.image, "busybox:latest");
  EXPECT_EQ(t.exposed_ports, (std::vector<std::string>{"80"}));
  EXPECT_EQ(t.cmd, (std::vector<std::string>{"echo", "hello"}));
}

TEST(Cli, SubmitWaitReturnsOnceRunning) {
  FakeTaskBroker broker(
      Script{{}, {TaskState::Pending, TaskState::Scheduled, TaskState::Running}, ""});
  ManualClock clock;

  CliResult r = run(
      {"--broker", broker.address(), "submit", "--name", "web", "--image", "nginx:1.25", "--wait"},
      clock);

  EXPECT_EQ(r.code, kExitOk) << r.err;
  std::string id = decode_submitted(broker.requests().at(0)).id;
  EXPECT_EQ(r.out, id + "\n");
  EXPECT_EQ(broker.requests().size(), 4u);  // SUBMIT and three GETs
}

TEST(Cli, SubmitWaitExitsOneWithTheReasonWhenTheTaskFails) {
  FakeTaskBroker broker(
      Script{{}, {TaskState::Scheduled, TaskState::Failed}, "image not found: nginx:9"});
  ManualClock clock;

  CliResult r =
      run({"--broker", broker.address(), "submit", "--name", "web", "--image", "nginx:9", "--wait"},
          clock);

  EXPECT_EQ(r.code, kExitBrokerError);
  std::string id = decode_submitted(broker.requests().at(0)).id;
  EXPECT_EQ(r.out, id + "\n");
  EXPECT_EQ(r.err, "cube-client: task " + id + " failed: image not found: nginx:9\n");
}

TEST(Cli, SubmitWaitGivesUpAfterTheWaitTimeout) {
  FakeTaskBroker broker(Script{{}, std::vector<TaskState>(1000, TaskState::Pending), ""});
  ManualClock clock;

  CliResult r = run({"--broker", broker.address(), "submit", "--name", "web", "--image",
                     "nginx:1.25", "--wait", "--wait-timeout", "1s"},
                    clock);

  EXPECT_EQ(r.code, kExitBrokerError);
  EXPECT_THAT(r.err, HasSubstr("is still Pending after 1 s"));
}

TEST(Cli, GetOfAnUnknownTaskExitsOneWithTheBrokersMessage) {
  FakeTaskBroker broker;
  ManualClock clock;

  CliResult r = run({"--broker", broker.address(), "get", "nope"}, clock);

  EXPECT_EQ(r.code, kExitBrokerError);
  EXPECT_EQ(r.err, "cube-client: not_found: no task with ID nope\n");
  EXPECT_EQ(r.out, "");
}

TEST(Cli, ListPrintsATableAndJson) {
  Task pending = sample_task("0190a3c4-0000-7000-8000-000000000009", "db", TaskState::Pending);
  pending.reason = "no node has 2 GiB free memory";
  FakeTaskBroker broker(Script{{sample_task(kId, "web", TaskState::Running), pending}, {}, ""});
  ManualClock clock(from_unix_ms(1'700'000'000'000 + 300'000));

  CliResult table = run({"--broker", broker.address(), "list"}, clock);
  ASSERT_EQ(table.code, kExitOk) << table.err;
  EXPECT_THAT(table.out, HasSubstr("ID"));
  EXPECT_THAT(table.out, HasSubstr("REASON"));
  EXPECT_THAT(table.out, HasSubstr("no node has 2 GiB free memory"));
  EXPECT_THAT(table.out, HasSubstr("Running"));
  EXPECT_THAT(table.out, HasSubstr("5m"));
  EXPECT_EQ(line_count(table.out), 3u);

  CliResult json = run({"--broker", broker.address(), "list", "-o", "json"}, clock);
  ASSERT_EQ(json.code, kExitOk) << json.err;
  auto parsed = nlohmann::json::parse(json.out);
  ASSERT_TRUE(parsed.is_array());
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0]["ID"], kId);
  EXPECT_EQ(parsed[0]["State"], 2);  // numeric, as the prior orchestrators print it
  EXPECT_EQ(parsed[1]["Name"], "db");

  CliResult wide = run({"--broker", broker.address(), "list", "-o", "wide"}, clock);
  ASSERT_EQ(wide.code, kExitOk) << wide.err;
  EXPECT_THAT(wide.out, HasSubstr("IMAGE"));
  EXPECT_THAT(wide.out, HasSubstr("nginx:1.25"));
}

TEST(Cli, GetShowsFieldsAndHistoryOrJson) {
  Task task = sample_task(kId, "web", TaskState::Running);
  task.exposed_ports = {"80/tcp"};
  task.port_bindings["80/tcp"] = {PortBinding{"0.0.0.0", "32768"}};
  task.exit_code = 0;
  FakeTaskBroker broker(Script{{task}, {}, ""});
  ManualClock clock;

  CliResult human = run({"--broker", broker.address(), "get", kId}, clock);
  ASSERT_EQ(human.code, kExitOk) << human.err;
  EXPECT_THAT(human.out, HasSubstr("Name:"));
  EXPECT_THAT(human.out, HasSubstr("80/tcp -> 0.0.0.0:32768"));
  EXPECT_THAT(human.out, HasSubstr("Exit code:"));
  EXPECT_THAT(human.out, HasSubstr("Events:"));
  EXPECT_THAT(human.out, HasSubstr("Pending"));
  EXPECT_THAT(human.out, HasSubstr("0.25 CPU, 48 MiB"));  // the task's latest usage

  CliResult json = run({"--broker", broker.address(), "get", kId, "-o", "json"}, clock);
  ASSERT_EQ(json.code, kExitOk) << json.err;
  auto parsed = nlohmann::json::parse(json.out);
  EXPECT_EQ(parsed["ID"], kId);
  EXPECT_EQ(parsed["State"], 2);
  ASSERT_EQ(parsed["Events"].size(), 1u);
  EXPECT_EQ(parsed["Events"][0]["State"], 0);
  EXPECT_EQ(parsed["Stats"]["CPUUsed"], 0.25);
  EXPECT_EQ(parsed["Stats"]["Memory"], 48 << 20);
}

TEST(Cli, StopPrintsTheId) {
  FakeTaskBroker broker(Script{{sample_task(kId, "web", TaskState::Running)}, {}, ""});
  ManualClock clock;

  CliResult r = run({"--broker", broker.address(), "stop", kId}, clock);

  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, std::string(kId) + "\n");
  EXPECT_EQ(broker.requests().at(0).type, static_cast<uint8_t>(protocol::MessageType::StopRequest));
}

TEST(Cli, NodesAndStatus) {
  FakeTaskBroker broker;
  ManualClock clock;

  CliResult nodes = run({"--broker", broker.address(), "nodes"}, clock);
  ASSERT_EQ(nodes.code, kExitOk) << nodes.err;
  EXPECT_THAT(nodes.out, HasSubstr("node-1"));
  EXPECT_THAT(nodes.out, HasSubstr("5b0c7e2a"));
  EXPECT_THAT(nodes.out, HasSubstr("1/4"));
  EXPECT_THAT(nodes.out, HasSubstr("1.5/2"));         // CPU busy/total
  EXPECT_THAT(nodes.out, HasSubstr("1 GiB/8 GiB"));   // memory used/total
  EXPECT_THAT(nodes.out, HasSubstr("3 GiB/20 GiB"));  // disk used/total
  EXPECT_THAT(nodes.out, HasSubstr("0.5 0.25 0.1"));  // load 1/5/15

  CliResult wide = run({"--broker", broker.address(), "nodes", "-o", "wide"}, clock);
  ASSERT_EQ(wide.code, kExitOk) << wide.err;
  EXPECT_THAT(wide.out, HasSubstr("2 CPU, 4 GiB, 10 GiB"));  // capacity
  EXPECT_THAT(wide.out, HasSubstr("0.5 CPU, 600 MiB, -"));   // allocated

  CliResult json = run({"--broker", broker.address(), "nodes", "-o", "json"}, clock);
  ASSERT_EQ(json.code, kExitOk) << json.err;
  auto node = nlohmann::json::parse(json.out)[0];
  EXPECT_EQ(node["Name"], "node-1");
  EXPECT_EQ(node["Memory"], 4ll << 30);
  EXPECT_EQ(node["Allocated"]["Memory"], 600ll << 20);
  EXPECT_EQ(node["Allocated"]["CPU"], 0.5);
  EXPECT_EQ(node["Stats"]["CPUUsed"], 1.5);
  EXPECT_EQ(node["Stats"]["MemoryUsed"], 1ll << 30);
  EXPECT_EQ(node["Stats"]["DiskTotal"], 20ll << 30);
  EXPECT_EQ(node["Stats"]["Load15"], 0.1);

  CliResult status = run({"--broker", broker.address(), "status"}, clock);
  ASSERT_EQ(status.code, kExitOk) << status.err;
  EXPECT_THAT(status.out, HasSubstr("0.1.0"));
  EXPECT_THAT(status.out, HasSubstr("e-123"));
  EXPECT_THAT(status.out, HasSubstr("1 ready / 2 total"));
  EXPECT_THAT(status.out, HasSubstr("4 total"));
  EXPECT_THAT(status.out, HasSubstr("Scheduler:"));
  EXPECT_THAT(status.out, HasSubstr("spread"));
  CliResult status_json = run({"--broker", broker.address(), "status", "-o", "json"}, clock);
  ASSERT_EQ(status_json.code, kExitOk) << status_json.err;
  EXPECT_EQ(nlohmann::json::parse(status_json.out)["Scheduler"], "spread");
  EXPECT_EQ(nlohmann::json::parse(status_json.out)["Role"], "leader");
  EXPECT_EQ(nlohmann::json::parse(status_json.out)["Leader"], "");
}

TEST(Cli, NodesNameShowsOneNodeAndTheTasksOnIt) {
  Task here = sample_task(kId, "web", TaskState::Running);
  here.node_id = "5b0c7e2a-0000-4000-8000-000000000001";
  here.node = "node-1";
  Task elsewhere = sample_task("0190a3c4-0000-7000-8000-00000000beef", "db", TaskState::Running);
  elsewhere.node_id = "another-agent";
  FakeTaskBroker broker(Script{{here, elsewhere}, {}, ""});
  ManualClock clock;

  for (const char* name : {"node-1", "5b0c7e2a-0000-4000-8000-000000000001"}) {
    CliResult r = run({"--broker", broker.address(), "nodes", name}, clock);
    ASSERT_EQ(r.code, kExitOk) << r.err;
    EXPECT_THAT(r.out, HasSubstr("5b0c7e2a-0000-4000-8000-000000000001"));
    EXPECT_THAT(r.out, HasSubstr("1 running of 4 slots"));
    EXPECT_THAT(r.out, HasSubstr("1.5/2 cores"));
    EXPECT_THAT(r.out, HasSubstr("1 GiB/8 GiB"));
    EXPECT_THAT(r.out, HasSubstr("web"));
    EXPECT_THAT(r.out, Not(HasSubstr("db")));
  }

  CliResult json = run({"--broker", broker.address(), "nodes", "node-1", "-o", "json"}, clock);
  ASSERT_EQ(json.code, kExitOk) << json.err;
  EXPECT_EQ(nlohmann::json::parse(json.out)["Name"], "node-1");

  CliResult unknown = run({"--broker", broker.address(), "nodes", "nope"}, clock);
  EXPECT_EQ(unknown.code, kExitBrokerError);
  EXPECT_THAT(unknown.err, HasSubstr("no node is named or has the ID \"nope\""));
  CliResult two = run({"--broker", broker.address(), "nodes", "a", "b"}, clock);
  EXPECT_EQ(two.code, kExitUsage);
}

TEST(Cli, HelpAndVersionExitZero) {
  ManualClock clock;
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"-h"},
                                        {"help"},
                                        {"help", "submit"},
                                        {"submit", "--help"},
                                        {"run", "-h"},
                                        {"list", "--help"},
                                        {"get", "--help"},
                                        {"stop", "--help"},
                                        {"nodes", "--help"},
                                        {"status", "--help"}}) {
    CliResult r = run(args, clock);
    EXPECT_EQ(r.code, kExitOk) << args[0];
    EXPECT_THAT(r.out, HasSubstr("Usage: cube-client"));
    EXPECT_EQ(r.err, "");
  }
  CliResult submit_help = run({"submit", "--help"}, clock);
  EXPECT_THAT(submit_help.out, HasSubstr("Examples:"));
  EXPECT_THAT(submit_help.out, HasSubstr("--memory"));
  CliResult version = run({"--version"}, clock);
  EXPECT_EQ(version.code, kExitOk);
  EXPECT_THAT(version.out, HasSubstr("cube-client "));
}

// The global options are settings (common/config_file.h): --print-config shows them without a
// command, and a command's own options are not among them.
TEST(Cli, PrintConfigShowsTheGlobalSettings) {
  ManualClock clock;
  CliResult r = run({"--broker", "10.0.0.1:7100", "--print-config"}, clock);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("broker = 10.0.0.1:7100 +# flag\n"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("timeout = 5s +# default\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("image")));
  CliResult with_command = run({"list", "--timeout", "2s", "--print-config"}, clock);
  ASSERT_EQ(with_command.code, kExitOk) << with_command.err;
  EXPECT_THAT(with_command.out, ::testing::ContainsRegex("timeout = 2s +# flag\n"));
  CliResult bad = run({"--timeout", "0s", "--print-config"}, clock);
  EXPECT_EQ(bad.code, kExitUsage) << "--print-config checks the values";
  EXPECT_THAT(bad.err, HasSubstr("--timeout must be more than 0"));
}

}  // namespace
}  // namespace cube
