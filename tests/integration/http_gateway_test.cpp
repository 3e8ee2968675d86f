// The HTTP gateway end to end: a real cube-broker with `--http 127.0.0.1:0` (the bound port read
// from --http-ready-file), real exec agents, and httplib::Client sending the prior
// orchestrators' README bodies verbatim.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "agent/drivers/docker/container_spec.h"
#include "agent/drivers/docker/docker_client.h"
#include "tests/integration/cluster.h"
#include "tests/support/prior_art_bodies.h"
#include "tests/support/prometheus_text_parser.h"

namespace cube::test {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr const char* kGoCubeId = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
constexpr const char* kOrcId = "266592cd-960d-4091-981c-8c25c44b1018";
constexpr const char* kUnknownId = "0190a3c4-0000-7000-8000-000000000000";

// A cluster whose broker serves HTTP on a free loopback port.
class HttpCluster {
 public:
  explicit HttpCluster(std::vector<std::string> extra_args = {}) {
    std::string ready = (c.dir() / "http.ready").string();
    std::vector<std::string> args = {"--http", "127.0.0.1:0", "--http-ready-file", ready};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    c.start_broker(args);
    // The broker writes the HTTP ready file before its own, so it is there now.
    std::ifstream in(ready);
    std::getline(in, address);
    EXPECT_FALSE(address.empty()) << c.logs();
    int port = std::stoi(address.substr(address.rfind(':') + 1));
    http = std::make_unique<httplib::Client>("127.0.0.1", port);
    http->set_read_timeout(15, 0);
  }

  httplib::Result post(const std::string& body, const httplib::Headers& headers = {}) {
    return http->Post("/tasks", headers, body, "application/json");
  }
  json get_json(const std::string& path) {
    auto r = http->Get(path.c_str());
    if (!r || r->status != 200)
      return nullptr;
    auto j = json::parse(r->body, nullptr, false);
    return j.is_discarded() ? json(nullptr) : j;
  }
  bool wait_task(const std::string& id, const std::function<bool(const json&)>& pred,
                 std::chrono::milliseconds timeout) {
    return eventually(
        [&] {
          auto t = get_json("/tasks/" + id);
          return t.is_object() && pred(t);
        },
        timeout, 100ms);
  }
  // POSTs an exec task that sleeps and waits until it runs: its ID, or "" (with a failure
  // recorded) when it was refused or did not start.
  std::string run_sleeper() {
    auto r = post(R"({"Name": "sleeper", "Driver": "exec", "Cmd": ["sh", "-c", "sleep 300"]})");
    EXPECT_TRUE(r && r->status == 201) << (r ? r->body : httplib::to_string(r.error()));
    if (!r || r->status != 201)
      return "";
    std::string id = json::parse(r->body)["ID"];
    bool running = wait_task(
        id, [](const json& t) { return t["State"] == 2; }, 15s);
    EXPECT_TRUE(running) << "task " << id << " did not start";
    return running ? id : "";
  }
  std::optional<PrometheusText> metrics() {
    auto r = http->Get("/metrics");
    EXPECT_TRUE(r);
    if (!r)
      return std::nullopt;
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_THAT(r->get_header_value("Content-Type"), HasSubstr("version=0.0.4"));
    std::string error;
    auto parsed = parse_prometheus_text(r->body, &error);
    EXPECT_TRUE(parsed) << error << "\n" << r->body;
    return parsed;
  }

  Cluster c;
  std::string address;
  std::unique_ptr<httplib::Client> http;
};

// Checks the one error shape: status, {"error": {"code", "message"}} with the message naming
// `message_part`.
void expect_json_error(const httplib::Result& r, int status, const std::string& code,
                       const std::string& message_part) {
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, status) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  auto j = json::parse(r->body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r->body;
  EXPECT_EQ(j["error"].value("code", ""), code) << r->body;
  EXPECT_THAT(j["error"].value("message", ""), HasSubstr(message_part)) << r->body;
}

TEST(HttpGateway, PriorArtReadmeBodiesWorkUnchanged) {
  HttpCluster h;
  h.c.start_agent("a1");  // an exec agent: no node offers the docker driver

  // go-cube's "Create Task" body: 201 and the stored task in their shape.
  auto r = h.post(kGoCubeApiReferenceBody);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(r->get_header_value("Location"), std::string("/tasks/") + kGoCubeId);
  auto task = json::parse(r->body);
  EXPECT_EQ(task["ID"], kGoCubeId);
  EXPECT_EQ(task["Image"], "nginx:latest");
  EXPECT_EQ(task["State"], 0);
  // Its nginx image needs a docker agent; with only an exec agent it waits, saying why.
  bool explained = h.wait_task(
      kGoCubeId,
      [](const json& t) {
        return t["State"] == 0 &&
               t.value("Reason", "").find("no node offers the \"docker\" driver") !=
                   std::string::npos;
      },
      10s);
  EXPECT_TRUE(explained) << h.get_json(std::string("/tasks/") + kGoCubeId).dump();

  // go-cube's "Example Usage" body lost a brace: 400 saying where the JSON breaks.
  r = h.post(kGoCubeExampleUsageBody);
  expect_json_error(r, 400, "invalid", "byte " + std::to_string(kGoCubeExampleUsageBreakByte));
  EXPECT_THAT(r->body, HasSubstr("line 15"));

  // orc's body: 201; the same again: 200 with the stored task, still one task.
  r = h.post(kOrcCreateTaskBody);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;
  r = h.post(kOrcCreateTaskBody);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["ID"], kOrcId);

  // GET /tasks: both, in their shape.
  auto list = h.get_json("/tasks");
  ASSERT_TRUE(list.is_array()) << list.dump();
  ASSERT_EQ(list.size(), 2u) << list.dump();
  for (const auto& t : list) {
    EXPECT_TRUE(t["State"].is_number_integer()) << t.dump();
    for (const char* field : {"ID", "Name", "Image", "ContainerID", "StartTime", "FinishTime",
                              "PortBindings", "ExposedPorts", "RestartPolicy", "Memory", "Disk"})
      EXPECT_TRUE(t.contains(field)) << field << " in " << t.dump();
  }
  auto orc = h.get_json(std::string("/tasks/") + kOrcId);
  ASSERT_TRUE(orc.is_object());
  EXPECT_EQ(orc["Name"], "test-from-api-777");
  EXPECT_TRUE(orc["Events"].is_array());

  // orc's DELETE (with its `--data ''`): 204, then the task is Completed (3), as in their output.
  r = h.http->Delete((std::string("/tasks/") + kOrcId).c_str(), "", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204) << r->body;
  EXPECT_TRUE(h.wait_task(
      kOrcId, [](const json& t) { return t["State"] == 3; }, 10s));

  // Unknown IDs: 404 JSON errors.
  expect_json_error(h.http->Delete((std::string("/tasks/") + kUnknownId).c_str()), 404, "not_found",
                    kUnknownId);
  expect_json_error(h.http->Get((std::string("/tasks/") + kUnknownId).c_str()), 404, "not_found",
                    kUnknownId);

  // The CLI sees the same tasks: one path to the broker.
  auto cli = h.c.list();
  ASSERT_TRUE(cli.is_array());
  EXPECT_EQ(cli.size(), 2u);
}

// With a docker agent on the real dockerd (scripts/start-dockerd.sh; a missing dockerd fails this
// test, it does not skip): the READMEs' images cannot be pulled here (no registry), so their tasks
// fail with a reason that says so; a local image runs, and GET /tasks shows its ContainerID and
// PortBindings in Docker's shape; DELETE removes the container.
TEST(HttpGateway, ReadmeImagesFailClearlyAndALocalImageRunsOnADockerAgent) {
  auto socket = agent::resolve_docker_socket("");
  ASSERT_TRUE(socket.is_ok()) << socket.status().to_string();
  agent::DockerClientOptions docker_options;
  docker_options.socket_path = *socket;
  agent::DockerClient docker(docker_options);
  ASSERT_TRUE(docker.ping().is_ok())
      << "dockerd is not reachable: start it with scripts/start-dockerd.sh";

  HttpCluster h;
  h.c.start_agent("dock", {"--driver", "docker", "--stop-grace", "2s"});
  // Removes what the test's tasks left in dockerd, even after a failure.
  std::vector<std::string> task_ids;
  struct Cleanup {
    agent::DockerClient& docker;
    std::vector<std::string>& ids;
    ~Cleanup() {
      for (const auto& id : ids) {
        auto left = docker.container_list({{std::string(agent::kLabelTask), id}}, true);
        if (!left.is_ok())
          continue;
        for (const auto& container : *left)
          (void)docker.container_remove(container.id, /*force=*/true);
      }
    }
  } cleanup{docker, task_ids};

  task_ids.push_back(kOrcId);
  auto r = h.post(kOrcCreateTaskBody);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  bool failed = h.wait_task(
      kOrcId, [](const json& t) { return t["State"] == 4; }, 60s);
  auto orc = h.get_json(std::string("/tasks/") + kOrcId);
  ASSERT_TRUE(failed) << orc.dump() << h.c.logs();
  EXPECT_THAT(orc.value("Reason", ""), HasSubstr("image not found: strm/helloworld-http"));

  r = h.post(R"({"Name": "web", "Image": "cube/busybox:latest", "Cmd": ["sleep", "300"],
                 "ExposedPorts": {"8080/tcp": {}}, "Memory": "64MiB"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  std::string id = json::parse(r->body)["ID"];
  task_ids.push_back(id);
  ASSERT_TRUE(h.wait_task(
      id, [](const json& t) { return t["State"] == 2; }, 60s))
      << h.get_json("/tasks/" + id).dump() << h.c.logs();
  json running;
  for (const auto& t : h.get_json("/tasks")) {
    if (t["ID"] == id)
      running = t;
  }
  ASSERT_TRUE(running.is_object());
  EXPECT_FALSE(running.value("ContainerID", "").empty()) << running.dump();
  ASSERT_TRUE(running["PortBindings"].contains("8080/tcp")) << running.dump();
  EXPECT_FALSE(running["PortBindings"]["8080/tcp"].at(0).value("HostPort", "").empty());
  EXPECT_FALSE(running.value("StartTime", "").empty());

  r = h.http->Delete(("/tasks/" + id).c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  ASSERT_TRUE(h.wait_task(
      id, [](const json& t) { return t["State"] == 3; }, 30s))
      << h.c.logs();
  bool removed = eventually(
      [&] {
        auto left = docker.container_list({{std::string(agent::kLabelTask), id}}, true);
        return left.is_ok() && left->empty();
      },
      15s, 100ms);
  EXPECT_TRUE(removed) << "the stopped task's container is still there";
}

TEST(HttpGateway, AnExecTaskRunsAndDeleteStopsIt) {
  HttpCluster h;
  h.c.start_agent("a1");
  auto nodes = h.get_json("/nodes");
  ASSERT_TRUE(nodes.is_array());
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0]["Name"], "a1");
  EXPECT_EQ(nodes[0]["State"], "ready");

  std::string id = h.run_sleeper();
  ASSERT_FALSE(id.empty()) << h.c.logs();
  auto running = h.get_json("/tasks/" + id);
  EXPECT_EQ(running["Node"], "a1");
  EXPECT_FALSE(running.value("StartTime", "").empty());

  auto r = h.http->Delete(("/tasks/" + id).c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  ASSERT_TRUE(h.wait_task(
      id, [](const json& t) { return t["State"] == 3; }, 20s))
      << h.c.logs();
  auto stopped = h.get_json("/tasks/" + id);
  EXPECT_EQ(stopped["Reason"], "stopped");
  EXPECT_FALSE(stopped.value("FinishTime", "").empty());

  // A TaskEvent with State 3 stops too (the books' own stop request); stopping again is fine.
  r = h.post(R"({"ID": ")" + id + R"(", "State": 3, "Task": {"ID": ")" + id + R"("}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["State"], 3);
}

// MemTotal of this machine in kB, as /proc/meminfo says it (the agent runs here too).
uint64_t mem_total_kb() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "MemTotal:")
      return value;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

// The prior orchestrators' worker URLs, served for each node by the gateway: GET /nodes/NAME,
// /nodes/NAME/stats (the book's Stats, read by its field names) and /nodes/NAME/tasks.
TEST(HttpGateway, AWorkersStatsAndTasksAreServedPerNode) {
  HttpCluster h;
  h.c.start_agent("w1", {"--stats-interval", "200ms"});
  GroupReaper reaper{{}, {h.c.dir() / "w1"}};
  std::string id = h.run_sleeper();
  ASSERT_FALSE(id.empty()) << h.c.logs();

  json stats;
  ASSERT_TRUE(eventually(
      [&] {
        stats = h.get_json("/nodes/w1/stats");
        return stats.is_object() && stats["TaskCount"] == 1;
      },
      15s, 100ms))
      << stats.dump() << "\n"
      << h.c.logs();
  const uint64_t total_kb = stats["MemStats"]["mem_total"].get<uint64_t>();
  EXPECT_EQ(total_kb, mem_total_kb());
  EXPECT_GT(stats["MemStats"]["mem_available"].get<uint64_t>(), 0u);
  EXPECT_LT(stats["MemStats"]["mem_available"].get<uint64_t>(), total_kb);
  EXPECT_GT(stats["DiskStats"]["all"].get<uint64_t>(), 0u);
  EXPECT_EQ(stats["DiskStats"]["used"].get<uint64_t>() + stats["DiskStats"]["free"].get<uint64_t>(),
            stats["DiskStats"]["all"].get<uint64_t>());
  EXPECT_GT(stats["CpuStats"]["user"].get<uint64_t>() + stats["CpuStats"]["idle"].get<uint64_t>(),
            0u);
  EXPECT_GE(stats["LoadStats"]["last1min"].get<double>(), 0.0);
  EXPECT_EQ(stats["Node"], "w1");

  auto node = h.get_json("/nodes/w1");
  ASSERT_TRUE(node.is_object());
  EXPECT_EQ(node["Name"], "w1");
  EXPECT_EQ(h.get_json("/nodes/" + node["ID"].get<std::string>() + "/stats")["NodeID"], node["ID"]);
  auto tasks = h.get_json("/nodes/w1/tasks");
  ASSERT_TRUE(tasks.is_array());
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0]["ID"], id);
  expect_json_error(h.http->Get("/nodes/w2/stats"), 404, "not_found", "\"w2\"");
}

// The /services routes against a real broker and exec agent: create, scale, a rolling update
// through PUT (with the Version read by GET, so a stale one is refused), rollback, remove.
TEST(HttpGateway, AServiceIsCreatedScaledUpdatedRolledBackAndRemovedOverRest) {
  HttpCluster h;
  h.c.start_agent("w1", {"--slots", "8"});
  GroupReaper reaper{{}, {h.c.dir() / "w1"}};
  auto created = h.http->Post("/services", R"({"Name": "web", "Replicas": 2,
      "Template": {"Driver": "exec", "Cmd": ["sleep", "300"]},
      "UpdateConfig": {"Monitor": "500ms", "Parallelism": 2}})",
                              "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(created->get_header_value("Location"), "/services/web");
  // Running counts the live tasks of the current template that run.
  auto settled = [&](int running, const std::string& state) {
    return eventually(
        [&] {
          auto s = h.get_json("/services/web");
          if (!s.is_object() || s["Running"] != running || s["Tasks"] != running)
            return false;
          const json& status = s["UpdateStatus"];
          return state.empty() ? status.is_null() : status.is_object() && status["State"] == state;
        },
        30s, 100ms);
  };
  ASSERT_TRUE(settled(2, "")) << h.get_json("/services/web").dump(2) << h.c.logs();

  auto scaled = h.http->Post("/services/web/scale", R"({"Replicas": 3})", "application/json");
  ASSERT_TRUE(scaled);
  EXPECT_EQ(scaled->status, 200) << scaled->body;
  ASSERT_TRUE(settled(3, "")) << h.get_json("/services/web").dump(2);

  json before = h.get_json("/services/web");
  json changed = before;
  changed["Template"]["Cmd"] = {"sleep", "301"};
  auto put = h.http->Put("/services/web", changed.dump(), "application/json");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 200) << put->body;
  ASSERT_TRUE(settled(3, "completed")) << h.get_json("/services/web").dump(2) << h.c.logs();
  for (const auto& t : h.get_json("/services/web")["TaskList"]) {
    if (t["DesiredState"] == 2) {
      EXPECT_EQ(t["Cmd"], json({"sleep", "301"})) << t.dump();
    }
  }
  // The same Version again is stale now: refused, nothing changed.
  changed["Template"]["Cmd"] = {"sleep", "302"};
  expect_json_error(h.http->Put("/services/web", changed.dump(), "application/json"), 409,
                    "conflict", "changed since version");

  auto rollback = h.http->Post("/services/web/rollback", "", "application/json");
  ASSERT_TRUE(rollback);
  EXPECT_EQ(rollback->status, 200) << rollback->body;
  ASSERT_TRUE(settled(3, "rollback_completed")) << h.get_json("/services/web").dump(2);
  EXPECT_EQ(h.get_json("/services/web")["TemplateVersion"], before["TemplateVersion"]);

  expect_json_error(h.http->Post("/services", R"({"Name": "bad name!"})", "application/json"), 400,
                    "invalid", "Name");
  expect_json_error(h.http->Post("/services/nope/restart", "", "application/json"), 404,
                    "not_found", "no service named \"nope\"");
  auto removed = h.http->Delete("/services/web");
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->status, 204);
  expect_json_error(h.http->Get("/services/web"), 404, "not_found", "web");
  EXPECT_EQ(h.get_json("/services"), json::array());
  EXPECT_TRUE(eventually([&] { return exec_task_processes(h.c.dir() / "w1").empty(); }, 15s));
}

// POST /tasks with a JSON array: one SUBMIT_BATCH. The valid tasks run on a real exec agent; the
// invalid one gets its error in its place and is stored nowhere.
TEST(HttpGateway, AnArrayOfTasksIsSubmittedAsOneBatch) {
  HttpCluster h;
  h.c.start_agent("a1", {"--slots", "4"});

  auto r = h.post(R"([
    {"Name": "ok-0", "Driver": "exec", "Cmd": ["sh", "-c", "exit 0"]},
    {"Name": "bad", "Driver": "exec"},
    {"Name": "ok-2", "Driver": "exec", "Cmd": ["sh", "-c", "exit 0"]}
  ])");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 200) << r->body;
  auto results = json::parse(r->body);
  ASSERT_TRUE(results.is_array()) << r->body;
  ASSERT_EQ(results.size(), 3u) << r->body;
  EXPECT_EQ(results[1]["error"]["code"], "invalid") << r->body;
  EXPECT_THAT(results[1]["error"].value("message", ""), HasSubstr("\"Cmd\": required"));
  EXPECT_FALSE(results[1].contains("Task"));
  for (size_t i : {0u, 2u}) {
    std::string id = results[i].value("ID", "");
    EXPECT_EQ(results[i]["Task"]["Name"], "ok-" + std::to_string(i)) << r->body;
    ASSERT_TRUE(h.wait_task(
        id, [](const json& t) { return t["State"] == 3; }, 20s))
        << id << "\n"
        << h.c.logs();
    auto t = h.get_json("/tasks/" + id);
    EXPECT_EQ(t["ExitCode"], 0) << t.dump();
    EXPECT_EQ(t["Node"], "a1") << t.dump();
  }
  auto all = h.get_json("/tasks");
  ASSERT_TRUE(all.is_array());
  EXPECT_EQ(all.size(), 2u) << all.dump();
  EXPECT_TRUE(h.get_json("/tasks/" + results[1].value("ID", "")).is_null())
      << "the refused task is stored nowhere";
}

TEST(HttpGateway, BadRequestsGetTheRightStatusAndAJsonError) {
  HttpCluster h;
  expect_json_error(h.post("{\"Name\": \"x\",,}"), 400, "invalid", "byte 14");
  expect_json_error(h.post(R"({"Name": "x", "Imagee": "busybox"})"), 400, "invalid", "\"Imagee\"");
  expect_json_error(h.post(R"({"Task": {"Name": "x", "Image": "busybox", "Memroy": 1}})"), 400,
                    "invalid", "\"Memroy\"");
  expect_json_error(h.post(R"({"Name": "x", "Image": "busybox", "CPU": "lots"})"), 400, "invalid",
                    "CPU");
  expect_json_error(h.post(std::string(2 << 20, ' ')), 413, "invalid", "1 MiB");

  auto r = h.http->Put("/tasks", "{}", "application/json");
  expect_json_error(r, 405, "invalid", "PUT");
  EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD, POST");
  r = h.http->Patch((std::string("/tasks/") + kOrcId).c_str(), "{}", "application/json");
  expect_json_error(r, 405, "invalid", "PATCH");
  EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD, DELETE");
  expect_json_error(h.http->Get("/stats"), 404, "not_found", "/stats");

  // Nothing was stored, and the gateway still serves.
  auto list = h.get_json("/tasks");
  ASSERT_TRUE(list.is_array());
  EXPECT_TRUE(list.empty()) << list.dump();
  auto health = h.http->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
}

TEST(HttpGateway, MetricsParseAsPrometheusTextAndCountersMove) {
  HttpCluster h;
  h.c.start_agent("a1");
  auto before = h.metrics();
  ASSERT_TRUE(before);
  EXPECT_EQ(before->value("cube_nodes", {{"state", "ready"}}), 1.0);
  double submits = before->value("cube_task_submits_total").value_or(-1);
  double submit_messages =
      before->value("cube_messages_received_total", {{"socket", "client"}, {"type", "SUBMIT"}})
          .value_or(0);
  ASSERT_GE(submits, 0);

  auto r = h.post(R"({"Name": "quick", "Driver": "exec", "Cmd": ["true"]})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  std::string id = json::parse(r->body)["ID"];
  ASSERT_TRUE(h.wait_task(
      id, [](const json& t) { return t["State"] == 3; }, 15s))
      << h.c.logs();

  auto after = h.metrics();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->value("cube_task_submits_total"), submits + 1);
  EXPECT_EQ(
      after->value("cube_messages_received_total", {{"socket", "client"}, {"type", "SUBMIT"}}),
      submit_messages + 1);
  EXPECT_GE(after->value("cube_task_placements_total").value_or(0), 1.0);
  EXPECT_EQ(after->value("cube_tasks", {{"state", "Completed"}}), 1.0);
  EXPECT_GE(after->value("cube_scheduling_latency_seconds_count").value_or(0), 1.0);
  EXPECT_GE(after->value("cube_store_commit_duration_seconds_count").value_or(0), 1.0);
  EXPECT_GE(after->value("cube_messages_received_total", {{"socket", "work"}, {"type", "HELLO"}})
                .value_or(0),
            1.0);
  EXPECT_EQ(after->types.at("cube_scheduling_latency_seconds"), "histogram");
}

TEST(HttpGateway, ABearerTokenFileIsEnforced) {
  TempDir dir("cube-tok");
  std::string token = "integration-token-0123456789abcdef";
  std::string file = (dir / "token").string();
  std::ofstream(file) << token << "\n";
  ::chmod(file.c_str(), 0600);
  HttpCluster h({"--http-token-file", file});

  expect_json_error(h.http->Get("/tasks"), 401, "unauthorized", "Bearer");
  expect_json_error(h.post(kOrcCreateTaskBody), 401, "unauthorized", "Bearer");
  h.http->set_bearer_token_auth(token);
  auto r = h.http->Get("/tasks");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  httplib::Client anonymous("127.0.0.1", std::stoi(h.address.substr(h.address.rfind(':') + 1)));
  auto health = anonymous.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << "health probes need no token";
  auto page = anonymous.Get("/ui/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200) << "the dashboard's files need no token (its API calls do)";
}

TEST(HttpGateway, TheDashboardsFilesAndATasksLogsOverRealHttp) {
  HttpCluster h;
  h.c.start_agent("a1");
  auto r = h.http->Get("/ui");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 301);
  EXPECT_EQ(r->get_header_value("Location"), "/ui/");
  r = h.http->Get("/ui/");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(r->get_header_value("Content-Security-Policy"), HasSubstr("default-src 'none'"));
  EXPECT_TRUE(r->get_header_value("Access-Control-Allow-Origin").empty());
  std::string etag = r->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  r = h.http->Get("/ui/", {{"If-None-Match", etag}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 304);
  EXPECT_TRUE(r->body.empty());
  expect_json_error(h.http->Get("/ui/missing.js"), 404, "not_found", "/ui/missing.js");

  // GET /tasks/{id}/logs: what `cube-client logs` reads, from an offset.
  auto posted = h.post(
      R"({"Name": "talker", "Driver": "exec", "Cmd": ["sh", "-c", "echo one; echo two; sleep 300"]})");
  ASSERT_TRUE(posted && posted->status == 201);
  std::string id = json::parse(posted->body)["ID"];
  json chunk;
  bool printed = eventually(
      [&] {
        chunk = h.get_json("/tasks/" + id + "/logs");
        return chunk.is_object() && chunk.value("Data", "") == "one\ntwo\n";
      },
      15s, 100ms);
  ASSERT_TRUE(printed) << chunk.dump() << h.c.logs();
  EXPECT_EQ(chunk["NextOffset"], 8);
  EXPECT_EQ(chunk["EOF"], false);
  EXPECT_EQ(h.get_json("/tasks/" + id + "/logs?offset=4")["Data"], "two\n");
  expect_json_error(h.http->Get("/tasks/" + id + "/logs?offset=x"), 400, "invalid", "offset");
  h.http->Delete("/tasks/" + id);
}

TEST(HttpGateway, ANonLoopbackAddressNeedsATokenOrInsecure) {
  TempDir dir("cube-nl");
  auto r = run_command({binary("cube-broker"), "--bind", "127.0.0.1:0", "--data-dir",
                        (dir / "data").string(), "--http", "0.0.0.0:0"},
                       15s);
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--http-token-file"));
  EXPECT_THAT(r.err, HasSubstr("--insecure"));
}

TEST(HttpGateway, SigtermStopsTheGatewayAndTheBrokerCleanly) {
  HttpCluster h;
  ASSERT_EQ(h.post(kOrcCreateTaskBody)->status, 201);
  h.c.broker().signal(SIGTERM);
  auto status = h.c.broker().wait(15s);
  ASSERT_TRUE(status.has_value()) << "the broker did not exit after SIGTERM";
  EXPECT_TRUE(status->exited());
  EXPECT_EQ(status->code, 0) << h.c.logs();
  EXPECT_FALSE(h.http->Get("/healthz")) << "nothing listens any more";
}

}  // namespace
}  // namespace cube::test
