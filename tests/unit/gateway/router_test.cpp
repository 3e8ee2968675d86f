#include "gateway/router.h"

#include <gtest/gtest.h>

namespace cube::gateway {
namespace {

using Kind = RouteMatch::Kind;

TEST(Router, MatchesEveryRoute) {
  struct Case {
    const char* method;
    const char* path;
    Route route;
  };
  const Case cases[] = {
      {"GET", "/tasks", Route::ListTasks},   {"POST", "/tasks", Route::SubmitTask},
      {"GET", "/tasks/abc", Route::GetTask}, {"DELETE", "/tasks/abc", Route::StopTask},
      {"GET", "/nodes", Route::ListNodes},   {"GET", "/healthz", Route::Health},
      {"GET", "/metrics", Route::Metrics},   {"HEAD", "/tasks", Route::ListTasks},
      {"GET", "/tasks/", Route::ListTasks},  {"DELETE", "/tasks/abc/", Route::StopTask},
  };
  for (const auto& c : cases) {
    auto m = match_route(c.method, c.path);
    EXPECT_EQ(m.kind, Kind::Found) << c.method << " " << c.path;
    EXPECT_EQ(m.route, c.route) << c.method << " " << c.path;
  }
}

TEST(Router, TaskIdIsTheSegment) {
  auto m = match_route("GET", "/tasks/266592cd-960d-4091-981c-8c25c44b1018");
  ASSERT_EQ(m.kind, Kind::Found);
  EXPECT_EQ(m.task_id, "266592cd-960d-4091-981c-8c25c44b1018");
}

TEST(Router, NodeRoutesTakeANameOrIdSegment) {
  auto m = match_route("GET", "/nodes/worker-1");
  ASSERT_EQ(m.kind, Kind::Found);
  EXPECT_EQ(m.route, Route::GetNode);
  EXPECT_EQ(m.node, "worker-1");
  m = match_route("GET", "/nodes/worker-1/stats");
  ASSERT_EQ(m.kind, Kind::Found);
  EXPECT_EQ(m.route, Route::GetNodeStats);
  EXPECT_EQ(m.node, "worker-1");
  m = match_route("HEAD", "/nodes/1439f4e0-8f41-4774-8805-24f11c8bda2f/tasks/");
  ASSERT_EQ(m.kind, Kind::Found);
  EXPECT_EQ(m.route, Route::ListNodeTasks);
  EXPECT_EQ(m.node, "1439f4e0-8f41-4774-8805-24f11c8bda2f");
  EXPECT_TRUE(m.task_id.empty());
  m = match_route("DELETE", "/nodes/worker-1/stats");
  EXPECT_EQ(m.kind, Kind::MethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD");
  for (const char* path :
       {"/nodes//stats", "/nodes/w/other", "/nodes/w/stats/x", "/nodes/w/tasks/t"})
    EXPECT_EQ(match_route("GET", path).kind, Kind::NotFound) << path;
}

TEST(Router, KnownPathOtherMethodIs405WithAllow) {
  auto m = match_route("PUT", "/tasks");
  EXPECT_EQ(m.kind, Kind::MethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD, POST");
  m = match_route("POST", "/tasks/x");
  EXPECT_EQ(m.kind, Kind::MethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD, DELETE");
  m = match_route("DELETE", "/metrics");
  EXPECT_EQ(m.kind, Kind::MethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD");
  EXPECT_EQ(match_route("get", "/tasks").kind, Kind::MethodNotAllowed)
      << "methods are case-sensitive";
}

TEST(Router, UnknownPathsAre404) {
  for (const char* path :
       {"/", "", "/task", "/tasks/a/b", "/tasks//", "/stats", "/TASKS", "/healthz/x", "//tasks"}) {
    EXPECT_EQ(match_route("GET", path).kind, Kind::NotFound) << path;
  }
}

TEST(Router, ServiceRoutesTakeTheServiceNameSegment) {
  struct Case {
    const char* method;
    const char* path;
    Route route;
  };
  const Case cases[] = {
      {"GET", "/services", Route::ListServices},
      {"POST", "/services", Route::CreateService},
      {"GET", "/services/web", Route::GetService},
      {"PUT", "/services/web", Route::UpdateService},
      {"DELETE", "/services/web/", Route::RemoveService},
      {"POST", "/services/web/scale", Route::ScaleService},
      {"POST", "/services/web/rollback", Route::RollbackService},
      {"POST", "/services/web/restart", Route::RestartService},
  };
  for (const auto& c : cases) {
    auto m = match_route(c.method, c.path);
    ASSERT_EQ(m.kind, Kind::Found) << c.method << " " << c.path;
    EXPECT_EQ(m.route, c.route) << c.method << " " << c.path;
    if (std::string_view(c.path) != "/services") {
      EXPECT_EQ(m.service, "web") << c.path;
    }
    EXPECT_EQ(m.node, "");
  }
  auto wrong = match_route("GET", "/services/web/scale");
  EXPECT_EQ(wrong.kind, Kind::MethodNotAllowed);
  EXPECT_EQ(wrong.allow, "POST");
  EXPECT_EQ(match_route("PATCH", "/services/web").allow, "GET, HEAD, PUT, DELETE");
  EXPECT_EQ(match_route("POST", "/services/web/pause").kind, Kind::NotFound);
}

TEST(Router, TaskLogsTakeTheTaskIdSegment) {
  auto m = match_route("GET", "/tasks/abc/logs");
  ASSERT_EQ(m.kind, Kind::Found);
  EXPECT_EQ(m.route, Route::TaskLogs);
  EXPECT_EQ(m.task_id, "abc");
  m = match_route("DELETE", "/tasks/abc/logs");
  EXPECT_EQ(m.kind, Kind::MethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD");
  EXPECT_EQ(match_route("GET", "/tasks//logs").kind, Kind::NotFound);
  EXPECT_EQ(match_route("GET", "/tasks/abc/logs/x").kind, Kind::NotFound);
}

TEST(Router, UiIsARedirectAndItsFilesAreAssets) {
  auto m = match_route("GET", "/ui");
  ASSERT_EQ(m.kind, Kind::Found);
  EXPECT_EQ(m.route, Route::UiRedirect);
  m = match_route("GET", "/ui/");
  ASSERT_EQ(m.kind, Kind::Found);
  EXPECT_EQ(m.route, Route::UiAsset);
  EXPECT_EQ(m.asset, "");
  m = match_route("HEAD", "/ui/app.js");
  ASSERT_EQ(m.kind, Kind::Found);
  EXPECT_EQ(m.route, Route::UiAsset);
  EXPECT_EQ(m.asset, "app.js");
  m = match_route("POST", "/ui/app.js");
  EXPECT_EQ(m.kind, Kind::MethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD");
  EXPECT_EQ(match_route("GET", "/uix").kind, Kind::NotFound);
}

}  // namespace
}  // namespace cube::gateway
