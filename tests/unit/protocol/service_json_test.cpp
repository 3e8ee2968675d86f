#include "protocol/service_json.h"

#include <gtest/gtest.h>

#include <functional>

#include "protocol/service.h"

namespace cube {
namespace {

TEST(ServiceJson, TheDocumentedFileParses) {
  auto s = service_from_json_text(R"({
    "Name": "web", "Replicas": 3,
    "Template": {"Driver": "exec", "Cmd": ["sleep", "3600"], "Memory": "64MiB"},
    "UpdateConfig": {"Parallelism": 2, "Delay": "10s", "FailureAction": "rollback",
                     "Monitor": 30000, "Order": "start-first"}})");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->name, "web");
  EXPECT_EQ(s->replicas, 3u);
  EXPECT_EQ(s->task_template.cmd, (std::vector<std::string>{"sleep", "3600"}));
  EXPECT_EQ(s->task_template.memory_bytes, 64 << 20);
  EXPECT_EQ(s->update, (UpdatePolicy{2, 10000, "rollback", 30000, "start-first"}));
  EXPECT_TRUE(validate_service(*s).is_ok());
}

TEST(ServiceJson, MissingFieldsKeepTheDefaults) {
  auto s = service_from_json_text(R"({"Name": "web", "Template": {"Image": "nginx"}})");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->replicas, 0u);
  EXPECT_EQ(s->update, UpdatePolicy{});
  EXPECT_EQ(s->update.parallelism, 1u);
  EXPECT_EQ(s->update.monitor_ms, 5000);
  EXPECT_EQ(s->update.failure_action, "pause");
  EXPECT_EQ(s->update.order, "stop-first");
}

TEST(ServiceJson, InspectOutputCanBeSentBack) {
  Service s;
  s.name = "web";
  s.replicas = 2;
  s.task_template = normalized_template([] {
    Task t;
    t.driver = "exec";
    t.cmd = {"sleep", "60"};
    return t;
  }());
  s.version = 4;
  s.template_version = 2;
  s.created_ms = 1700000000000;
  auto j = service_info_to_json(protocol::ServiceInfo{s, 2, 2});
  j["TaskList"] = nlohmann::json::array();
  auto back = service_from_json(j);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->name, s.name);
  EXPECT_EQ(back->replicas, s.replicas);
  EXPECT_EQ(back->task_template, s.task_template);
  EXPECT_EQ(back->version, 0u) << "the broker's fields are ignored on input";
}

TEST(ServiceJson, BadInputNamesTheField) {
  struct Case {
    const char* json;
    const char* error;
  };
  const Case cases[] = {
      {R"({"Name": "web", "Replicas": -1})", "field \"Replicas\": -1 is negative"},
      {R"({"Name": "web", "Replicas": 20000})", "above the limit of 10000"},
      {R"({"Name": "web", "Replicas": "3"})", "field \"Replicas\": expected a whole number"},
      {R"({"Name": "web", "Replica": 3})", "unknown field \"Replica\" in service"},
      {R"({"Name": "web", "UpdateConfig": {"Delay": "soon"}})", "UpdateConfig.Delay"},
      {R"({"Name": "web", "UpdateConfig": {"Paralelism": 2}})",
       "unknown field \"Paralelism\" in UpdateConfig"},
      {R"({"Name": "web", "Template": {"Imagee": "x"}})", "field \"Template\""},
      {R"([1, 2])", "a service must be a JSON object"},
      {R"({"Name": )", "not valid JSON"},
  };
  for (const auto& c : cases) {
    auto s = service_from_json_text(c.json);
    ASSERT_FALSE(s.is_ok()) << c.json;
    EXPECT_TRUE(s.status().is_invalid()) << c.json;
    EXPECT_NE(s.status().message().find(c.error), std::string::npos)
        << c.json << " -> " << s.status().message();
  }
}

TEST(ServiceValidation, EachBadSettingIsRefusedNamingTheField) {
  Service ok;
  ok.name = "web";
  ok.replicas = 3;
  ok.task_template.driver = "exec";
  ok.task_template.cmd = {"sleep", "1"};
  ASSERT_TRUE(validate_service(ok).is_ok());
  struct Case {
    std::function<void(Service&)> spoil;
    const char* field;
  };
  const Case cases[] = {
      {[](Service& s) { s.name = ""; }, "Name"},
      {[](Service& s) { s.name = "web.1"; }, "Name"},
      {[](Service& s) { s.name = "-web"; }, "Name"},
      {[](Service& s) { s.name = std::string(64, 'a'); }, "Name"},
      {[](Service& s) { s.replicas = kMaxReplicas + 1; }, "Replicas"},
      {[](Service& s) { s.update.parallelism = 0; }, "UpdateConfig.Parallelism"},
      {[](Service& s) { s.update.delay_ms = -1; }, "UpdateConfig.Delay"},
      {[](Service& s) { s.update.monitor_ms = -1; }, "UpdateConfig.Monitor"},
      {[](Service& s) { s.update.failure_action = "panic"; }, "UpdateConfig.FailureAction"},
      {[](Service& s) { s.update.order = "random"; }, "UpdateConfig.Order"},
      {[](Service& s) { s.task_template.id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12"; },
       "Template.ID"},
      {[](Service& s) { s.task_template.cmd.clear(); }, "template"},
  };
  for (const auto& c : cases) {
    Service s = ok;
    c.spoil(s);
    Status status = validate_service(s);
    EXPECT_TRUE(status.is_invalid()) << c.field;
    EXPECT_NE(status.message().find(c.field), std::string::npos) << status.message();
  }
}

TEST(ServiceValidation, TheTemplateIsNormalized) {
  Task t;
  t.id = "x";
  t.name = "n";
  t.cmd = {"sleep"};
  t.state = TaskState::Failed;
  Task n = normalized_template(t);
  EXPECT_TRUE(n.id.empty());
  EXPECT_TRUE(n.name.empty());
  EXPECT_EQ(n.driver, "docker");
  EXPECT_EQ(n.restart_policy, "always");
  EXPECT_EQ(n.state, TaskState::Pending);
  t.restart_policy = "no";
  EXPECT_EQ(normalized_template(t).restart_policy, "no");
  EXPECT_EQ(replica_name("web", 3), "web.3");
}

}  // namespace
}  // namespace cube
