// The dashboard's files as the gateway serves them (through RestApi, as a request would reach
// them): types, caching, the CSP, the redirect, 404s, and that they need no token while the
// API still does. Also GET /tasks/{id}/logs, which the task page follows.
#include "gateway/ui_routes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway/rest_api.h"
#include "gateway/ui_assets.h"
#include "tests/unit/gateway/fake_broker_api.h"

namespace cube::gateway {
namespace {

using testing::FakeBrokerApi;
using ::testing::HasSubstr;
using ::testing::Not;

HttpRequest get(std::string path, std::string authorization = "") {
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  r.authorization = std::move(authorization);
  return r;
}

constexpr const char* kToken = "ui-test-token-0123456789";

class UiRoutesTest : public ::testing::Test {
 protected:
  FakeBrokerApi broker_;
  RestApi api_{broker_, RestApiOptions{}};
  RestApi guarded_{broker_, RestApiOptions{std::string(kToken)}};
};

TEST_F(UiRoutesTest, EveryFileIsEmbeddedWithAType) {
  std::vector<std::string> names;
  for (const UiAsset& a : ui_assets()) {
    names.emplace_back(a.name);
    EXPECT_FALSE(a.body.empty()) << a.name;
    EXPECT_EQ(a.etag.front(), '"') << a.name;
  }
  EXPECT_THAT(names, ::testing::IsSupersetOf({"index.html", "app.js", "style.css"}));
}

TEST_F(UiRoutesTest, IndexIsServedAtTheSlashWithTypeCachingAndPolicy) {
  auto r = api_.handle(get("/ui/"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_THAT(r.body, HasSubstr("<script src=\"app.js\""));
  EXPECT_EQ(r.header("Cache-Control"), "no-cache");
  EXPECT_FALSE(r.header("ETag").empty());
  EXPECT_EQ(r.header("Content-Security-Policy"), kUiContentSecurityPolicy);
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
  EXPECT_THAT(r.header("Access-Control-Allow-Origin"), Not(HasSubstr("*")));
  // The policy names no origin but this one.
  EXPECT_THAT(std::string(kUiContentSecurityPolicy), Not(HasSubstr("http")));
  EXPECT_THAT(std::string(kUiContentSecurityPolicy), Not(HasSubstr("*")));
  EXPECT_EQ(api_.handle(get("/ui/index.html")).body, r.body);

  EXPECT_EQ(api_.handle(get("/ui/app.js")).content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(api_.handle(get("/ui/style.css")).content_type, "text/css; charset=utf-8");
}

TEST_F(UiRoutesTest, AMatchingETagIs304WithoutABody) {
  std::string etag = api_.handle(get("/ui/app.js")).header("ETag");
  HttpRequest again = get("/ui/app.js");
  again.if_none_match = "\"other\", W/" + etag;
  auto r = api_.handle(again);
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.header("ETag"), etag);
  again.if_none_match = "\"stale\"";
  EXPECT_EQ(api_.handle(again).status, 200);
}

TEST_F(UiRoutesTest, UiRedirectsToTheSlashAndUnknownFilesAre404Json) {
  auto r = api_.handle(get("/ui"));
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.header("Location"), "/ui/");
  r = api_.handle(get("/ui/nope.js"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_THAT(j["error"]["message"].get<std::string>(), HasSubstr("/ui/nope.js"));
  EXPECT_EQ(api_.handle(get("/ui/../ui/app.js")).status, 404);
}

TEST_F(UiRoutesTest, FilesNeedNoTokenButTheApiStillDoes) {
  EXPECT_EQ(guarded_.handle(get("/ui/")).status, 200);
  EXPECT_EQ(guarded_.handle(get("/ui/app.js")).status, 200);
  EXPECT_EQ(guarded_.handle(get("/ui")).status, 301);
  EXPECT_EQ(guarded_.handle(get("/tasks")).status, 401);
  EXPECT_EQ(guarded_.handle(get("/tasks/x/logs")).status, 401);
  EXPECT_EQ(guarded_.handle(get("/tasks", std::string("Bearer ") + kToken)).status, 200);
}

TEST_F(UiRoutesTest, LogsAreOneChunkFromTheOffset) {
  Task t;
  t.id = "0190a3c4-0000-7000-8000-000000000001";
  t.name = "printer";
  t.driver = "exec";
  t.cmd = {"true"};
  ASSERT_TRUE(broker_.submit(t));
  broker_.set_logs(t.id, "line 1\nline 2\n");

  HttpRequest r = get("/tasks/" + t.id + "/logs");
  auto all = api_.handle(r);
  ASSERT_EQ(all.status, 200) << all.body;
  auto j = nlohmann::json::parse(all.body);
  EXPECT_EQ(j["Data"], "line 1\nline 2\n");
  EXPECT_EQ(j["NextOffset"], 14);
  EXPECT_EQ(j["EOF"], false);

  r.query = {{"offset", "7"}};
  j = nlohmann::json::parse(api_.handle(r).body);
  EXPECT_EQ(j["Data"], "line 2\n");

  r.query = {{"offset", "-1"}};
  auto bad = api_.handle(r);
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("offset"));
  r.query = {{"offset", "12abc"}};
  EXPECT_EQ(api_.handle(r).status, 400);

  EXPECT_EQ(api_.handle(get("/tasks/0190a3c4-0000-7000-8000-000000000009/logs")).status, 404);
}

}  // namespace
}  // namespace cube::gateway
