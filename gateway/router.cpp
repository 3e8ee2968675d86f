#include "gateway/router.h"

#include <array>
#include <optional>
#include <vector>

namespace cube::gateway {
namespace {

// A path pattern: literal, or "/tasks/" followed by one non-empty segment.
enum class Pattern { Tasks, TaskById, Nodes, Health, Metrics };

struct Entry {
  Pattern pattern;
  std::string_view method;
  Route route;
};

// Methods per pattern in the order the Allow header lists them.
constexpr std::array<Entry, 7> kRoutes = {{
    {Pattern::Tasks, "GET", Route::ListTasks},
    {Pattern::Tasks, "POST", Route::SubmitTask},
    {Pattern::TaskById, "GET", Route::GetTask},
    {Pattern::TaskById, "DELETE", Route::StopTask},
    {Pattern::Nodes, "GET", Route::ListNodes},
    {Pattern::Health, "GET", Route::Health},
    {Pattern::Metrics, "GET", Route::Metrics},
}};

constexpr std::string_view kTasksPrefix = "/tasks/";

// Which pattern `path` is, and the {id} for TaskById.
std::optional<Pattern> classify(std::string_view path, std::string& id) {
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
  if (path.starts_with(kTasksPrefix)) {
    std::string_view rest = path.substr(kTasksPrefix.size());
    if (!rest.empty() && rest.find('/') == std::string_view::npos) {
      id = std::string(rest);
      return Pattern::TaskById;
    }
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
      match.task_id = std::move(id);
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
