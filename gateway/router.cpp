#include "gateway/router.h"

#include <array>
#include <optional>
#include <utility>
#include <vector>

namespace cube::gateway {
namespace {

// A path pattern: literal, or a prefix followed by one non-empty segment (and a suffix).
enum class Pattern {
  Tasks,
  TaskById,
  Nodes,
  NodeByName,
  NodeStats,
  NodeTasks,
  Health,
  Metrics,
  Events,
  Services,  // up to ServiceRestart: their segment is a service name
  ServiceByName,
  ServiceScale,
  ServiceRollback,
  ServiceRestart,
  TaskLogs,
  UiRoot,
  UiAsset,
};

struct Entry {
  Pattern pattern;
  std::string_view method;
  Route route;
};

// Methods per pattern in the order the Allow header lists them.
constexpr std::array<Entry, 22> kRoutes = {{
    {Pattern::Tasks, "GET", Route::ListTasks},
    {Pattern::Tasks, "POST", Route::SubmitTask},
    {Pattern::TaskById, "GET", Route::GetTask},
    {Pattern::TaskById, "DELETE", Route::StopTask},
    {Pattern::Nodes, "GET", Route::ListNodes},
    {Pattern::NodeByName, "GET", Route::GetNode},
    {Pattern::NodeStats, "GET", Route::GetNodeStats},
    {Pattern::NodeTasks, "GET", Route::ListNodeTasks},
    {Pattern::Health, "GET", Route::Health},
    {Pattern::Metrics, "GET", Route::Metrics},
    {Pattern::Events, "GET", Route::Events},
    {Pattern::Services, "GET", Route::ListServices},
    {Pattern::Services, "POST", Route::CreateService},
    {Pattern::ServiceByName, "GET", Route::GetService},
    {Pattern::ServiceByName, "PUT", Route::UpdateService},
    {Pattern::ServiceByName, "DELETE", Route::RemoveService},
    {Pattern::ServiceScale, "POST", Route::ScaleService},
    {Pattern::ServiceRollback, "POST", Route::RollbackService},
    {Pattern::ServiceRestart, "POST", Route::RestartService},
    {Pattern::TaskLogs, "GET", Route::TaskLogs},
    {Pattern::UiRoot, "GET", Route::UiRedirect},
    {Pattern::UiAsset, "GET", Route::UiAsset},
}};

constexpr std::string_view kTasksPrefix = "/tasks/";
constexpr std::string_view kNodesPrefix = "/nodes/";
constexpr std::string_view kServicesPrefix = "/services/";
constexpr std::string_view kUiPrefix = "/ui/";

// The one non-empty segment after `prefix` in `path`, and what follows it ("" or "/...").
std::optional<std::pair<std::string_view, std::string_view>> segment_after(
    std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix))
    return std::nullopt;
  std::string_view rest = path.substr(prefix.size());
  size_t slash = rest.find('/');
  std::string_view segment = rest.substr(0, slash);
  if (segment.empty())
    return std::nullopt;
  return std::pair{segment, slash == std::string_view::npos ? "" : rest.substr(slash)};
}

// Which pattern `path` is, and the {id} or {n} segment for those that have one.
std::optional<Pattern> classify(std::string_view path, std::string& id) {
  if (path == "/ui")
    return Pattern::UiRoot;
  if (path.starts_with(kUiPrefix)) {
    id = std::string(path.substr(kUiPrefix.size()));
    return Pattern::UiAsset;
  }
  if (path.size() > 1 && path.back() == '/')
    path.remove_suffix(1);
  if (path == "/tasks")
    return Pattern::Tasks;
  if (path == "/nodes")
    return Pattern::Nodes;
  if (path == "/healthz")
    return Pattern::Health;
  if (path == "/metrics")
    return Pattern::Metrics;
  if (path == "/events")
    return Pattern::Events;
  if (path == "/services")
    return Pattern::Services;
  if (auto task = segment_after(path, kTasksPrefix)) {
    id = std::string(task->first);
    if (task->second.empty())
      return Pattern::TaskById;
    if (task->second == "/logs")
      return Pattern::TaskLogs;
  }
  if (auto node = segment_after(path, kNodesPrefix)) {
    id = std::string(node->first);
    if (node->second.empty())
      return Pattern::NodeByName;
    if (node->second == "/stats")
      return Pattern::NodeStats;
    if (node->second == "/tasks")
      return Pattern::NodeTasks;
  }
  if (auto service = segment_after(path, kServicesPrefix)) {
    id = std::string(service->first);
    if (service->second.empty())
      return Pattern::ServiceByName;
    if (service->second == "/scale")
      return Pattern::ServiceScale;
    if (service->second == "/rollback")
      return Pattern::ServiceRollback;
    if (service->second == "/restart")
      return Pattern::ServiceRestart;
  }
  return std::nullopt;
}

}  // namespace

RouteMatch match_route(std::string_view method, std::string_view path) {
  RouteMatch match;
  std::string id;
  auto pattern = classify(path, id);
  if (!pattern)
    return match;  // NotFound
  // HEAD is GET without the body (the HTTP server drops it).
  std::string_view effective = method == "HEAD" ? std::string_view("GET") : method;
  std::vector<std::string_view> allowed;
  for (const auto& entry : kRoutes) {
    if (entry.pattern != *pattern)
      continue;
    if (entry.method == effective) {
      match.kind = RouteMatch::Kind::Found;
      match.route = entry.route;
      if (*pattern == Pattern::TaskById || *pattern == Pattern::TaskLogs)
        match.task_id = std::move(id);
      else if (*pattern == Pattern::UiAsset)
        match.asset = std::move(id);
      else if (*pattern >= Pattern::Services && *pattern <= Pattern::ServiceRestart)
        match.service = std::move(id);
      else
        match.node = std::move(id);
      return match;
    }
    allowed.push_back(entry.method);
    if (entry.method == "GET")
      allowed.push_back("HEAD");
  }
  match.kind = RouteMatch::Kind::MethodNotAllowed;
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0)
      match.allow += ", ";
    match.allow += allowed[i];
  }
  return match;
}

}  // namespace cube::gateway
