// The REST handlers as plain functions over a FakeBrokerApi: status codes, JSON shapes and
// error bodies for the prior orchestrators' requests, without sockets.
#include "gateway/rest_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "gateway/json_error.h"
#include "protocol/messages.h"
#include "tests/support/prior_art_bodies.h"
#include "tests/support/prometheus_text_parser.h"
#include "tests/unit/gateway/fake_broker_api.h"

namespace cube::gateway {
namespace {

using ::testing::ElementsAre;
using testing::FakeBrokerApi;
using ::testing::HasSubstr;

HttpRequest request(std::string method, std::string path, std::string body = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = std::move(body);
  return r;
}

nlohmann::json json_of(const HttpResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.body;
  return j;
}

// The error shape every failure has: {"error": {"code": ..., "message": ...}}.
void expect_error(const HttpResponse& r, int status, const std::string& code,
                  const std::string& message_part) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  auto j = json_of(r);
  ASSERT_TRUE(j.contains("error")) << r.body;
  EXPECT_EQ(j["error"].value("code", ""), code) << r.body;
  EXPECT_THAT(j["error"].value("message", ""), HasSubstr(message_part));
}

class RestApiTest : public ::testing::Test {
 protected:
  FakeBrokerApi broker_;
  RestApi api_{broker_, RestApiOptions{}};
};

TEST_F(RestApiTest, GoCubeCreateTaskBodyIs201WithTheStoredTaskInTheirShape) {
  auto r = api_.handle(request("POST", "/tasks", test::kGoCubeApiReferenceBody));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Location"), "/tasks/3fa85f64-5717-4562-b3fc-2c963f66afa6");
  auto t = json_of(r);
  EXPECT_EQ(t["ID"], "3fa85f64-5717-4562-b3fc-2c963f66afa6");
  EXPECT_EQ(t["Name"], "my-task");
  EXPECT_EQ(t["Image"], "nginx:latest");
  EXPECT_EQ(t["State"], 0);  // numeric, Pending
  EXPECT_EQ(t["CPU"], 0.5);
  EXPECT_EQ(t["Memory"], 536870912);
  EXPECT_EQ(t["Disk"], 1073741824);
  EXPECT_EQ(t["Env"], nlohmann::json::array({"ENV=production"}));
  EXPECT_TRUE(t["ExposedPorts"].contains("80/tcp"));
  EXPECT_EQ(t["RestartPolicy"], "always");
  EXPECT_EQ(t["HealthCheck"], "/health");
  for (const char* field : {"ContainerID", "StartTime", "FinishTime", "PortBindings"})
    EXPECT_TRUE(t.contains(field)) << field;
  EXPECT_EQ(broker_.task_count(), 1u);
}

TEST_F(RestApiTest, TheSameIdAgainIs200WithTheStoredTaskAndNoSecondSubmit) {
  ASSERT_EQ(api_.handle(request("POST", "/tasks", test::kOrcCreateTaskBody)).status, 201);
  auto again = api_.handle(request("POST", "/tasks", test::kOrcCreateTaskBody));
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json_of(again)["ID"], "266592cd-960d-4091-981c-8c25c44b1018");
  EXPECT_EQ(broker_.task_count(), 1u);
  // The second POST only looked the task up.
  EXPECT_THAT(broker_.calls(), ElementsAre("get", "submit", "get"));
}

TEST_F(RestApiTest, GoCubeExampleBodyIsNotJsonAnd400SaysWhereItBreaks) {
  auto r = api_.handle(request("POST", "/tasks", test::kGoCubeExampleUsageBody));
  expect_error(r, 400, "invalid", "byte " + std::to_string(test::kGoCubeExampleUsageBreakByte));
  EXPECT_THAT(json_of(r)["error"]["message"].get<std::string>(), HasSubstr("line 15"));
  EXPECT_TRUE(broker_.calls().empty()) << "nothing reaches the broker";
}

TEST_F(RestApiTest, UnknownFieldIs400NamingIt) {
  auto r = api_.handle(request("POST", "/tasks", R"({"Name": "x", "Imagee": "busybox"})"));
  expect_error(r, 400, "invalid", "\"Imagee\"");
}

TEST_F(RestApiTest, BadValueIs400NamingTheField) {
  auto r = api_.handle(request("POST", "/tasks", R"({"Name": "x", "Image": "busybox",
                                                     "Memory": "12XB"})"));
  expect_error(r, 400, "invalid", "Memory");
  r = api_.handle(request("POST", "/tasks", R"({"Name": "x", "Image": "busybox",
                                                "RestartPolicy": "sometimes"})"));
  expect_error(r, 400, "invalid", "RestartPolicy");
  EXPECT_EQ(broker_.task_count(), 0u);
}

TEST_F(RestApiTest, AnInvalidBodyWithAnExistingIdIsStill400) {
  ASSERT_EQ(api_.handle(request("POST", "/tasks", test::kOrcCreateTaskBody)).status, 201);
  auto r = api_.handle(request("POST", "/tasks", R"({"ID": "266592cd-960d-4091-981c-8c25c44b1018",
                                                     "Image": "busybox", "CPU": -1})"));
  expect_error(r, 400, "invalid", "CPU");
}

TEST_F(RestApiTest, TaskEventWithState3StopsTheTask) {
  ASSERT_EQ(api_.handle(request("POST", "/tasks", test::kOrcCreateTaskBody)).status, 201);
  auto r = api_.handle(request("POST", "/tasks", R"({"ID": "266592cd-960d-4091-981c-8c25c44b1018",
      "State": 3, "Task": {"ID": "266592cd-960d-4091-981c-8c25c44b1018"}})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r)["State"], 3);
  EXPECT_EQ(json_of(r)["Reason"], "stopped");

  auto unknown =
      api_.handle(request("POST", "/tasks", R"({"ID": "0190a3c4-0000-7000-8000-000000000001",
      "State": 3, "Task": {}})"));
  expect_error(unknown, 404, "not_found", "0190a3c4-0000-7000-8000-000000000001");
}

TEST_F(RestApiTest, ATaskWithoutIdGetsAUuidV7BeforeTheSubmit) {
  auto r = api_.handle(request("POST", "/tasks", R"({"Name": "web", "Image": "busybox"})"));
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = json_of(r)["ID"];
  EXPECT_TRUE(is_uuid(id)) << id;
  EXPECT_EQ(id[14], '7') << "version 7, time-ordered: " << id;
  // Generated here, so a retried SUBMIT carries the same ID; no lookup was needed.
  EXPECT_THAT(broker_.calls(), ElementsAre("submit"));
}

TEST_F(RestApiTest, EmptyBodyIs400) {
  expect_error(api_.handle(request("POST", "/tasks", "")), 400, "invalid", "not valid JSON");
}

TEST_F(RestApiTest, ListIsAnArrayOfTasks) {
  auto empty = api_.handle(request("GET", "/tasks"));
  ASSERT_EQ(empty.status, 200);
  EXPECT_EQ(json_of(empty), nlohmann::json::array());
  ASSERT_EQ(api_.handle(request("POST", "/tasks", test::kOrcCreateTaskBody)).status, 201);
  ASSERT_EQ(api_.handle(request("POST", "/tasks", test::kGoCubeApiReferenceBody)).status, 201);
  auto list = json_of(api_.handle(request("GET", "/tasks")));
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 2u);
  for (const auto& t : list) {
    EXPECT_TRUE(t["State"].is_number_integer());
    EXPECT_TRUE(t.contains("ContainerID"));
  }
}

TEST_F(RestApiTest, GetReturnsTheTaskWithEventsAnd404ForUnknown) {
  ASSERT_EQ(api_.handle(request("POST", "/tasks", test::kOrcCreateTaskBody)).status, 201);
  auto r = api_.handle(request("GET", "/tasks/266592cd-960d-4091-981c-8c25c44b1018"));
  ASSERT_EQ(r.status, 200);
  auto t = json_of(r);
  EXPECT_EQ(t["Name"], "test-from-api-777");
  ASSERT_TRUE(t["Events"].is_array());
  EXPECT_EQ(t["Events"].size(), 1u);
  expect_error(api_.handle(request("GET", "/tasks/nope")), 404, "not_found", "nope");
}

TEST_F(RestApiTest, DeleteStopsWith204And404ForUnknown) {
  ASSERT_EQ(api_.handle(request("POST", "/tasks", test::kOrcCreateTaskBody)).status, 201);
  auto r = api_.handle(request("DELETE", "/tasks/266592cd-960d-4091-981c-8c25c44b1018"));
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
  auto t = json_of(api_.handle(request("GET", "/tasks/266592cd-960d-4091-981c-8c25c44b1018")));
  EXPECT_EQ(t["State"], 3);
  // Stopping again is fine.
  EXPECT_EQ(api_.handle(request("DELETE", "/tasks/266592cd-960d-4091-981c-8c25c44b1018")).status,
            204);
  expect_error(api_.handle(request("DELETE", "/tasks/0190a3c4-0000-7000-8000-000000000000")), 404,
               "not_found", "0190a3c4-0000-7000-8000-000000000000");
}

TEST_F(RestApiTest, NodesIsAnArray) {
  protocol::NodeInfo n;
  n.id = "a1";
  n.name = "node-1";
  n.state = "ready";
  n.capacity.slots = 4;
  n.free_slots = 3;
  broker_.set_nodes({n});
  auto r = api_.handle(request("GET", "/nodes"));
  ASSERT_EQ(r.status, 200);
  auto j = json_of(r);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Name"], "node-1");
  EXPECT_EQ(j[0]["State"], "ready");
  EXPECT_EQ(j[0]["FreeSlots"], 3);
}

protocol::NodeInfo node_with_stats(std::string id, std::string name) {
  protocol::NodeInfo n;
  n.id = std::move(id);
  n.name = std::move(name);
  n.state = "ready";
  protocol::NodeUsage u;
  u.sampled_ms = 1'700'000'000'000;
  u.cpu_used = 0.5;
  u.cpu_total = 2;
  u.memory_total_bytes = int64_t{8} << 30;
  u.memory_used_bytes = int64_t{2} << 30;
  u.disk_total_bytes = int64_t{100} << 30;
  u.disk_used_bytes = int64_t{40} << 30;
  u.load_1 = 0.25;
  u.load_5 = 0.5;
  u.load_15 = 0.75;
  u.running = 3;
  n.usage = u;
  return n;
}

// The prior orchestrators' worker GET /stats, read the way the book's Stats helpers read it.
TEST_F(RestApiTest, NodeStatsHaveTheWorkerStatsShapeOfThePriorOrchestrators) {
  broker_.set_nodes({node_with_stats("a1", "worker-1")});
  for (const char* path : {"/nodes/worker-1/stats", "/nodes/a1/stats"}) {
    auto r = api_.handle(request("GET", path));
    ASSERT_EQ(r.status, 200) << path << ": " << r.body;
    auto j = json_of(r);
    // MemUsedKb = mem_total - mem_available, in kB as /proc/meminfo.
    EXPECT_EQ(j["MemStats"]["mem_total"], 8u << 20);
    EXPECT_EQ(j["MemStats"]["mem_available"], 6u << 20);
    EXPECT_EQ(
        j["MemStats"]["mem_total"].get<uint64_t>() - j["MemStats"]["mem_available"].get<uint64_t>(),
        2u << 20);
    // DiskTotal / DiskUsed / DiskFree, bytes.
    EXPECT_EQ(j["DiskStats"]["all"], uint64_t{100} << 30);
    EXPECT_EQ(j["DiskStats"]["used"], uint64_t{40} << 30);
    EXPECT_EQ(j["DiskStats"]["free"], uint64_t{60} << 30);
    // CpuUsage(): (total - idle) / total over the goprocinfo CPUStat fields.
    const auto& cpu = j["CpuStats"];
    uint64_t idle = cpu["idle"].get<uint64_t>() + cpu["iowait"].get<uint64_t>();
    uint64_t busy = 0;
    for (const char* k : {"user", "nice", "system", "irq", "softirq", "steal"})
      busy += cpu[k].get<uint64_t>();
    EXPECT_DOUBLE_EQ(static_cast<double>(busy) / static_cast<double>(busy + idle), 0.25);
    EXPECT_EQ(j["LoadStats"]["last1min"], 0.25);
    EXPECT_EQ(j["LoadStats"]["last5min"], 0.5);
    EXPECT_EQ(j["LoadStats"]["last15min"], 0.75);
    EXPECT_EQ(j["TaskCount"], 3);
    EXPECT_EQ(j["Node"], "worker-1");
    EXPECT_EQ(j["NodeID"], "a1");
  }
}

TEST_F(RestApiTest, OneNodeByNameOrIdAnd404NamingAnUnknownOne) {
  broker_.set_nodes({node_with_stats("a1", "worker-1"), node_with_stats("a2", "worker-2")});
  auto r = api_.handle(request("GET", "/nodes/worker-2"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r)["ID"], "a2");
  EXPECT_EQ(json_of(api_.handle(request("GET", "/nodes/a1")))["Name"], "worker-1");
  expect_error(api_.handle(request("GET", "/nodes/nope")), 404, "not_found", "\"nope\"");
  expect_error(api_.handle(request("GET", "/nodes/nope/stats")), 404, "not_found", "\"nope\"");
  expect_error(api_.handle(request("GET", "/nodes/nope/tasks")), 404, "not_found", "\"nope\"");
}

TEST_F(RestApiTest, TwoNodesOfOneNameAreAConflictListingTheirIds) {
  broker_.set_nodes({node_with_stats("a1", "twin"), node_with_stats("a2", "twin")});
  expect_error(api_.handle(request("GET", "/nodes/twin")), 409, "conflict", "a1, a2");
  EXPECT_EQ(api_.handle(request("GET", "/nodes/a2/stats")).status, 200);
}

TEST_F(RestApiTest, StatsOfANodeWithoutASampleAre503SayingWhy) {
  protocol::NodeInfo n;
  n.id = "a1";
  n.name = "fresh";
  broker_.set_nodes({n});
  expect_error(api_.handle(request("GET", "/nodes/fresh/stats")), 503, "unavailable",
               "has sent no stats yet");
}

TEST_F(RestApiTest, NodeTasksAreTheTasksWhoseAttemptIsOnIt) {
  broker_.set_nodes({node_with_stats("a1", "worker-1"), node_with_stats("a2", "worker-2")});
  Task on_a1;
  on_a1.id = "t1";
  on_a1.image = "busybox";
  on_a1.node_id = "a1";
  Task on_a2 = on_a1;
  on_a2.id = "t2";
  on_a2.node_id = "a2";
  broker_.set_task(on_a1);
  broker_.set_task(on_a2);
  auto r = api_.handle(request("GET", "/nodes/worker-1/tasks"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json_of(r);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["ID"], "t1");
  EXPECT_EQ(j[0]["NodeID"], "a1");
}

TEST_F(RestApiTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  expect_error(api_.handle(request("GET", "/stats")), 404, "not_found", "/stats");
  auto r = api_.handle(request("PUT", "/tasks"));
  expect_error(r, 405, "invalid", "PUT");
  EXPECT_EQ(r.header("Allow"), "GET, HEAD, POST");
  r = api_.handle(request("POST", "/tasks/abc"));
  expect_error(r, 405, "invalid", "POST");
  EXPECT_EQ(r.header("Allow"), "GET, HEAD, DELETE");
  EXPECT_TRUE(broker_.calls().empty());
}

TEST_F(RestApiTest, BrokerDownIs503Unavailable) {
  broker_.set_unavailable(true);
  expect_error(api_.handle(request("GET", "/tasks")), 503, "unavailable", "did not answer");
  expect_error(api_.handle(request("POST", "/tasks", test::kGoCubeApiReferenceBody)), 503,
               "unavailable", "did not answer");
  expect_error(api_.handle(request("GET", "/healthz")), 503, "unavailable", "does not answer");
  expect_error(api_.handle(request("GET", "/metrics")), 503, "unavailable", "did not answer");
}

// A POST the broker did not answer may have been stored: the 503 names the ID the gateway chose,
// so the client can look the task up, or retry with that ID and store it at most once.
TEST_F(RestApiTest, AnUnansweredSubmitNamesTheIdToRetryWith) {
  broker_.set_unavailable(true);
  auto r = api_.handle(request("POST", "/tasks", R"({"Name": "web", "Image": "nginx:1.25"})"));
  expect_error(r, 503, "unavailable", "may have been stored; retry with \"ID\"");
  std::string id = json_of(r).value("ID", "");
  EXPECT_TRUE(is_uuid_v7(id)) << r.body;
  EXPECT_EQ(r.header("Location"), "/tasks/" + id);

  broker_.set_unavailable(false);
  auto retried = api_.handle(request(
      "POST", "/tasks", R"({"ID": ")" + id + R"(", "Name": "web", "Image": "nginx:1.25"})"));
  EXPECT_EQ(retried.status, 201) << retried.body;
  EXPECT_EQ(json_of(retried)["ID"], id);
}

// --- POST /tasks with many tasks: one SUBMIT_BATCH ---

TEST_F(RestApiTest, AnArrayIsOneBatchAnswered200WithEachTasksResultInOrder) {
  const std::string own_id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";
  auto r = api_.handle(request("POST", "/tasks", R"([
    {"Name": "web", "Image": "nginx:1.25", "Memory": "64MiB"},
    {"Name": "bad", "Image": "nginx:1.25", "Memory": -1},
    {"ID": "0190a3c4-0000-7000-8000-0000000000ff", "State": 3, "Task": {"Name": "gone"}},
    {"ID": ")" + own_id + R"(", "Name": "job", "Driver": "exec", "Cmd": ["true"]}
  ])"));

  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(broker_.calls(), ElementsAre("submit_many"));
  auto results = json_of(r);
  ASSERT_TRUE(results.is_array()) << r.body;
  ASSERT_EQ(results.size(), 4u);
  // Stored, under the UUIDv7 the gateway chose before the SUBMIT_BATCH.
  EXPECT_TRUE(is_uuid_v7(results[0].value("ID", ""))) << r.body;
  EXPECT_EQ(results[0]["Task"]["ID"], results[0]["ID"]);
  EXPECT_EQ(results[0]["Task"]["Name"], "web");
  EXPECT_EQ(results[0]["Task"]["Memory"], 64 << 20);
  EXPECT_FALSE(results[0]["Task"].contains("State")) << "the task as submitted says no state";
  EXPECT_FALSE(results[0].contains("error"));
  // Refused on its own, without failing the others.
  EXPECT_TRUE(is_uuid_v7(results[1].value("ID", ""))) << r.body;
  EXPECT_FALSE(results[1].contains("Task"));
  EXPECT_EQ(results[1]["error"]["code"], "invalid");
  EXPECT_THAT(results[1]["error"].value("message", ""), HasSubstr("Memory"));
  EXPECT_EQ(results[2]["ID"], "0190a3c4-0000-7000-8000-0000000000ff");
  EXPECT_EQ(results[2]["error"]["code"], "not_found");
  EXPECT_EQ(results[3]["ID"], own_id);
  EXPECT_EQ(results[3]["Task"]["Driver"], "exec");
  EXPECT_EQ(broker_.task_count(), 2u);
}

TEST_F(RestApiTest, ABatchWhoseTasksAllFailIsStill200) {
  auto r = api_.handle(request("POST", "/tasks", R"([{"Name": "a"}, {"Name": "b"}])"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto results = json_of(r);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& result : results)
    EXPECT_EQ(result["error"]["code"], "invalid") << r.body;  // a docker task needs an Image
  EXPECT_EQ(broker_.task_count(), 0u);
}

TEST_F(RestApiTest, OneTaskPerLineIsABatchToo) {
  auto r = api_.handle(request("POST", "/tasks",
                               "{\"Name\": \"a\", \"Driver\": \"sim\"}\n"
                               "{\"Name\": \"b\", \"Driver\": \"sim\"}\n"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r).size(), 2u);
  EXPECT_EQ(broker_.task_count(), 2u);
}

TEST_F(RestApiTest, ABatchThatCannotBeSentWholeIs400NamingWhy) {
  expect_error(api_.handle(request("POST", "/tasks", R"([{"Name": "a"}, {"Memory": true}])")), 400,
               "invalid", "task #1: field \"Memory\"");
  expect_error(api_.handle(request("POST", "/tasks", "{\"Name\": \"a\"}\n{\"Imagee\": \"b\"}\n")),
               400, "invalid", "line 2: unknown field \"Imagee\"");
  expect_error(api_.handle(request("POST", "/tasks", "[]")), 400, "invalid", "no task");
  std::string too_many = "[";
  for (size_t i = 0; i <= protocol::kMaxSubmitBatch; ++i)
    too_many += std::string(i == 0 ? "" : ",") + R"({"Driver": "sim"})";
  too_many += "]";
  expect_error(api_.handle(request("POST", "/tasks", too_many)), 400, "invalid",
               "1001 tasks, more than the 1000 one request may carry");
  const std::string id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";
  expect_error(api_.handle(request("POST", "/tasks",
                                   R"([{"ID": ")" + id + R"(", "Driver": "sim"}, {"Driver": "sim"},
                                       {"ID": ")" +
                                       id + R"(", "Driver": "sim"}])")),
               400, "invalid", "task ID " + id + " is given twice (task #0 and task #2)");
  EXPECT_TRUE(broker_.calls().empty());
}

// A batch the broker did not answer may have been stored, wholly or in part: the 503 names every
// task's ID, so the client can send the same tasks again with them and store each at most once.
TEST_F(RestApiTest, AnUnansweredBatchIs503NamingEveryIdToRetryWith) {
  broker_.set_unavailable(true);
  auto r = api_.handle(request("POST", "/tasks", R"([{"Name": "a", "Driver": "sim"},
                                                     {"Name": "b", "Driver": "sim"}])"));
  expect_error(r, 503, "unavailable", "may have been stored; retry with the IDs in \"IDs\"");
  auto ids = json_of(r)["IDs"];
  ASSERT_EQ(ids.size(), 2u) << r.body;
  EXPECT_TRUE(is_uuid_v7(ids[0].get<std::string>())) << r.body;
  EXPECT_TRUE(is_uuid_v7(ids[1].get<std::string>())) << r.body;
  EXPECT_NE(ids[0], ids[1]);

  broker_.set_unavailable(false);
  auto retried = api_.handle(request("POST", "/tasks",
                                     R"([{"ID": )" + ids[0].dump() +
                                         R"(, "Name": "a", "Driver": "sim"}, {"ID": )" +
                                         ids[1].dump() + R"(, "Name": "b", "Driver": "sim"}])"));
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(json_of(retried)[0]["ID"], ids[0]);
  EXPECT_EQ(json_of(retried)[1]["ID"], ids[1]);
  EXPECT_EQ(broker_.task_count(), 2u);
}

TEST_F(RestApiTest, HealthzIsOkWhenTheBrokerAnswers) {
  auto r = api_.handle(request("GET", "/healthz"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_THAT(broker_.calls(), ElementsAre("status"));
}

TEST_F(RestApiTest, HealthzSaysTheRoleOfABrokerOnASharedStore) {
  protocol::BrokerStatus s;
  s.role = "standby";
  s.leader = "10.0.0.1:7100";
  broker_.set_status(s);
  auto r = api_.handle(request("GET", "/healthz"));
  EXPECT_EQ(r.status, 200) << "a standby's gateway proxies to the leader: it is healthy";
  EXPECT_EQ(r.body, "ok\nrole: standby\nleader: 10.0.0.1:7100\n");
  EXPECT_THAT(r.headers,
              ::testing::Contains(std::pair<std::string, std::string>("X-Cube-Role", "standby")));

  s.role = "leader";
  broker_.set_status(s);
  r = api_.handle(request("GET", "/healthz"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\nrole: leader\nleader: 10.0.0.1:7100\n");

  // A lone broker calls itself leader but names none: the answer it always gave.
  s.leader.clear();
  broker_.set_status(s);
  r = api_.handle(request("GET", "/healthz"));
  EXPECT_EQ(r.body, "ok\n");
}

TEST_F(RestApiTest, MetricsIsPrometheusTextFromStatusAndNodes) {
  protocol::BrokerStatus s;
  s.version = "0.1.0";
  s.tasks_by_state = {{"Pending", 2}, {"Running", 1}};
  s.counters = {{"client.submits", 3}};
  broker_.set_status(s);
  auto r = api_.handle(request("GET", "/metrics"));
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.content_type, HasSubstr("text/plain; version=0.0.4"));
  std::string error;
  auto parsed = test::parse_prometheus_text(r.body, &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->value("cube_task_submits_total"), 3.0);
  EXPECT_EQ(parsed->value("cube_tasks", {{"state", "Pending"}}), 2.0);
  EXPECT_THAT(broker_.calls(), ElementsAre("status", "nodes"));
}

class RestApiTokenTest : public ::testing::Test {
 protected:
  static constexpr const char* kToken = "0123456789abcdef0123456789abcdef";
  FakeBrokerApi broker_;
  RestApi api_{broker_, RestApiOptions{std::string(kToken)}};
};

TEST_F(RestApiTokenTest, RequestsWithoutTheTokenAre401BeforeRouting) {
  auto r = api_.handle(request("GET", "/tasks"));
  expect_error(r, 401, "unauthorized", "Authorization: Bearer");
  EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer realm=\"cube\"");
  // Unknown paths too: without the token nothing about the routes is revealed.
  expect_error(api_.handle(request("GET", "/secret")), 401, "unauthorized", "bearer token");
  auto wrong = request("GET", "/tasks");
  wrong.authorization = "Bearer nope";
  expect_error(api_.handle(wrong), 401, "unauthorized", "not the one");
  EXPECT_TRUE(broker_.calls().empty());
}

TEST_F(RestApiTokenTest, TheRightTokenIsServedAndHealthzNeedsNone) {
  auto r = request("GET", "/tasks");
  r.authorization = std::string("Bearer ") + kToken;
  EXPECT_EQ(api_.handle(r).status, 200);
  r.authorization = std::string("bearer ") + kToken;  // the scheme is case-insensitive
  EXPECT_EQ(api_.handle(r).status, 200);
  EXPECT_EQ(api_.handle(request("GET", "/healthz")).status, 200);
}

TEST(JsonError, CodesMapToHttpStatuses) {
  EXPECT_EQ(http_status_for(ErrorCode::NotFound), 404);
  EXPECT_EQ(http_status_for(ErrorCode::Invalid), 400);
  EXPECT_EQ(http_status_for(ErrorCode::Conflict), 409);
  EXPECT_EQ(http_status_for(ErrorCode::Unavailable), 503);
  EXPECT_EQ(http_status_for(ErrorCode::Unauthorized), 401);
  EXPECT_EQ(http_status_for(ErrorCode::Internal), 500);
  auto r = error_response(Status::conflict("already \"there\""));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, "{\"error\":{\"code\":\"conflict\",\"message\":\"already \\\"there\\\"\"}}\n");
}

TEST(JsonError, InvalidUtf8InAMessageIsReplacedNotThrown) {
  auto r = error_response(Status::invalid("bad name \xff\xfe"));
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(nlohmann::json::parse(r.body, nullptr, false).is_discarded()) << r.body;
}

// --- /services: the REST mapping of the service requests (their rules are the broker's,
// tested against a real one in tests/integration/http_gateway_test.cpp) ---

protocol::Reply service_reply(uint64_t version) {
  protocol::Reply r;
  Service s;
  s.name = "web";
  s.replicas = 3;
  s.task_template.driver = "exec";
  s.task_template.cmd = {"sleep", "300"};
  s.version = version;
  s.template_version = version;
  s.update_state = "updating";
  r.services.push_back(protocol::ServiceInfo{s, 2, 3});
  return r;
}

constexpr const char* kServiceBody =
    R"({"Name": "web", "Replicas": 3, "Template": {"Driver": "exec", "Cmd": ["sleep", "300"]}})";

TEST_F(RestApiTest, PostServicesCreatesAndAnswers201WithLocation) {
  broker_.set_service_reply(service_reply(1));
  auto r = api_.handle(request("POST", "/services", kServiceBody));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Location"), "/services/web");
  auto j = json_of(r);
  EXPECT_EQ(j["Name"], "web");
  EXPECT_EQ(j["Running"], 2);
  EXPECT_EQ(j["UpdateStatus"]["State"], "updating");
  auto sent = broker_.service_requests();
  ASSERT_EQ(sent.size(), 1u);
  const auto* create = std::get_if<protocol::ServiceCreateRequest>(&sent[0]);
  ASSERT_NE(create, nullptr);
  EXPECT_EQ(create->service.replicas, 3u);
  EXPECT_EQ(create->service.task_template.cmd, (std::vector<std::string>{"sleep", "300"}));
}

TEST_F(RestApiTest, ABadServiceBodyIs400NamingTheFieldAndNothingIsSent) {
  expect_error(api_.handle(request("POST", "/services", R"({"Name": "web", "Replicas": -1})")), 400,
               "invalid", "Replicas");
  expect_error(api_.handle(request("POST", "/services", R"({"Name": "web", "Colour": 1})")), 400,
               "invalid", "unknown field \"Colour\"");
  expect_error(api_.handle(request("POST", "/services", "")), 400, "invalid", "body is empty");
  expect_error(api_.handle(request("POST", "/services/web/scale", R"({"Replicas": 20000})")), 400,
               "invalid", "limit of 10000");
  expect_error(api_.handle(request("POST", "/services/web/scale", R"({"Count": 2})")), 400,
               "invalid", "{\"Replicas\": N}");
  expect_error(api_.handle(request("PUT", "/services/web", R"({"Name": "db", "Replicas": 1,
               "Template": {"Driver": "exec", "Cmd": ["true"]}})")),
               400, "invalid", "a service keeps its name");
  EXPECT_TRUE(broker_.service_requests().empty());
}

TEST_F(RestApiTest, PutSendsTheDefinitionWithTheVersionTheCallerRead) {
  broker_.set_service_reply(service_reply(5));
  std::string body = R"({"Replicas": 3, "Version": 4,
                         "Template": {"Driver": "exec", "Cmd": ["sleep", "301"]}})";
  auto r = api_.handle(request("PUT", "/services/web", body));
  ASSERT_EQ(r.status, 200) << r.body;
  auto sent = broker_.service_requests();
  ASSERT_EQ(sent.size(), 1u);
  const auto* update = std::get_if<protocol::ServiceUpdateRequest>(&sent[0]);
  ASSERT_NE(update, nullptr);
  EXPECT_EQ(update->service.name, "web") << "the URL names the service";
  EXPECT_EQ(update->expected_version, 4u);
  EXPECT_EQ(update->service.task_template.cmd, (std::vector<std::string>{"sleep", "301"}));
}

TEST_F(RestApiTest, ServiceActionsMapToTheirRequestsAndTheBrokersErrorsToHttp) {
  broker_.set_service_reply(service_reply(2));
  EXPECT_EQ(api_.handle(request("POST", "/services/web/rollback")).status, 200);
  EXPECT_EQ(api_.handle(request("POST", "/services/web/restart")).status, 200);
  EXPECT_EQ(api_.handle(request("POST", "/services/web/scale", R"({"Replicas": 5})")).status, 200);
  EXPECT_EQ(api_.handle(request("DELETE", "/services/web")).status, 204);
  auto listed = api_.handle(request("GET", "/services"));
  EXPECT_EQ(listed.status, 200);
  EXPECT_EQ(json_of(listed).size(), 1u);
  EXPECT_THAT(broker_.calls(), ElementsAre("service:SERVICE_ROLLBACK", "service:SERVICE_RESTART",
                                           "service:SERVICE_SCALE", "service:SERVICE_REMOVE",
                                           "service:SERVICE_LIST"));
  auto requests = broker_.service_requests();
  const auto* scale = std::get_if<protocol::ServiceScaleRequest>(&requests[2]);
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(scale->replicas, 5u);

  broker_.set_service_reply(Status::not_found("no service named \"nope\""));
  expect_error(api_.handle(request("GET", "/services/nope")), 404, "not_found", "nope");
  broker_.set_service_reply(Status::conflict("service \"web\" changed since version 4"));
  expect_error(api_.handle(request("PUT", "/services/web", kServiceBody)), 409, "conflict",
               "changed since");
  broker_.set_unavailable(true);
  expect_error(api_.handle(request("GET", "/services")), 503, "unavailable", "did not answer");
}

}  // namespace
}  // namespace cube::gateway
