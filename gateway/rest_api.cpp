#include "gateway/rest_api.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <utility>

#include "client/node_lookup.h"
#include "gateway/bearer_auth.h"
#include "gateway/json_error.h"
#include "gateway/json_text.h"
#include "gateway/prometheus_text.h"
#include "gateway/router.h"
#include "gateway/ui_routes.h"
#include "gateway/worker_stats.h"
#include "protocol/task_json.h"
#include "protocol/task_validation.h"

namespace cube::gateway {
namespace {

// find_node's error, with where to look for a node that is not there.
HttpResponse node_error(const Status& status) {
  if (status.is_not_found())
    return error_response(404, ErrorCode::NotFound, status.message() + " (GET /nodes lists them)");
  return error_response(status);
}

}  // namespace

RestApi::RestApi(BrokerApi& broker, RestApiOptions options, const Clock& clock)
    : broker_(broker),
      options_(std::move(options)),
      clock_(clock),
      streams_(std::make_unique<EventStreams>(broker, clock)) {}

HttpResponse RestApi::handle(const HttpRequest& request) const {
  RouteMatch match = match_route(request.method, request.path);
  // /healthz, and the dashboard's static files (the page then calls the API with a token).
  const bool open_route = match.kind == RouteMatch::Kind::Found &&
                          (match.route == Route::Health || match.route == Route::UiRedirect ||
                           match.route == Route::UiAsset);
  if (options_.bearer_token && !open_route &&
      !bearer_matches(request.authorization, *options_.bearer_token)) {
    HttpResponse r = error_response(
        401, ErrorCode::Unauthorized,
        request.authorization.empty()
            ? "this gateway needs a bearer token: send \"Authorization: Bearer <token>\""
            : "the bearer token is not the one this gateway was started with");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"cube\"");
    return r;
  }
  switch (match.kind) {
    case RouteMatch::Kind::NotFound:
      return error_response(
          404, ErrorCode::NotFound,
          "no such endpoint: " + request.path +
              " (try /tasks, /tasks/{id}, /nodes, /nodes/{name}, /nodes/{name}/stats, "
              "/nodes/{name}/tasks, /services, /services/{name}, /events, /metrics, /healthz "
              "or the dashboard at /ui/)");
    case RouteMatch::Kind::MethodNotAllowed: {
      HttpResponse r = error_response(405, ErrorCode::Invalid,
                                      "method " + request.method + " is not allowed on " +
                                          request.path + "; use " + match.allow);
      r.headers.emplace_back("Allow", match.allow);
      return r;
    }
    case RouteMatch::Kind::Found:
      break;
  }
  switch (match.route) {
    case Route::ListTasks:
      return list_tasks();
    case Route::SubmitTask:
      return submit(request);
    case Route::GetTask:
      return get_task(match.task_id);
    case Route::StopTask:
      return stop_task(match.task_id);
    case Route::TaskLogs:
      return task_logs(match.task_id, request);
    case Route::UiRedirect:
      return ui_redirect();
    case Route::UiAsset:
      return ui_asset(match.asset, request);
    case Route::ListNodes:
      return list_nodes();
    case Route::GetNode:
      return get_node(match.node);
    case Route::GetNodeStats:
      return get_node_stats(match.node);
    case Route::ListNodeTasks:
      return list_node_tasks(match.node);
    case Route::Health:
      return health();
    case Route::Metrics:
      return metrics();
    case Route::Events:
      return streams_->open(request);
    case Route::ListServices:
    case Route::CreateService:
    case Route::GetService:
    case Route::UpdateService:
    case Route::RemoveService:
    case Route::ScaleService:
    case Route::RollbackService:
    case Route::RestartService:
      return services(match, request);
  }
  return error_response(500, ErrorCode::Internal, "unhandled route");
}

HttpResponse RestApi::submit(const HttpRequest& request) const {
  auto parsed = tasks_from_json_text(request.body);
  if (!parsed)
    return error_response(parsed.status());
  if (parsed->form == TaskList::Form::Single)
    return submit_one(std::move(parsed->tasks.front()));
  return submit_batch(std::move(*parsed));
}

HttpResponse RestApi::submit_one(Task task) const {
  if (task.desired_state == TaskState::Completed) {
    // Their TaskEvent with State 3 means "stop the task with this ID"; the broker does that
    // for a SUBMIT with desired state Completed (NotFound when the ID is unknown).
    auto stopped = broker_.submit(task);
    if (!stopped)
      return error_response(stopped.status());
    return json_response(200, task_to_json(*stopped));
  }

  // Checked here too (the broker checks again) so that a bad body with an existing ID is a 400,
  // as it is through cube-client, and not the stored task.
  if (Status s = validate_task_spec(task); !s.is_ok())
    return error_response(s);

  if (task.id.empty()) {
    // Chosen here, not by the broker, so that a 503 can name it (as for a batch).
    choose_task_id(task, clock_.wall());
  } else {
    // 200 for an ID the broker has, 201 for a new one. Two racing POSTs of one new ID may both
    // see 201; the broker still stores one task and both get it.
    auto existing = broker_.get(task.id);
    if (existing)
      return json_response(200, task_to_json(existing->task));
    if (!existing.status().is_not_found())
      return error_response(existing.status());
  }
  auto stored = broker_.submit(task);
  if (stored.status().code() == ErrorCode::Unavailable) {
    // The broker did not answer: the task may be stored or not. Its ID lets the client find
    // out (GET /tasks/{ID}) or retry with it in the body, which stores it at most once.
    Status unknown = stored.status().with_context("task " + task.id +
                                                  " may have been stored; retry with \"ID\": \"" +
                                                  task.id + "\" to submit it at most once");
    HttpResponse r = json_response(http_status_for(unknown.code()),
                                   {{"error", error_json(unknown)}, {"ID", task.id}});
    r.headers.emplace_back("Location", "/tasks/" + task.id);
    return r;
  }
  if (!stored)
    return error_response(stored.status());
  HttpResponse r = json_response(201, task_to_json(*stored));
  r.headers.emplace_back("Location", "/tasks/" + stored->id);
  return r;
}

HttpResponse RestApi::submit_batch(TaskList list) const {
  auto where = [&](size_t i) { return list.where(i); };
  if (Status s = check_submit_batch(list.tasks, where); !s.is_ok())
    return error_response(s);
  // Chosen here, as for one task, so that a 503 can name every ID to retry with.
  for (Task& task : list.tasks)
    choose_task_id(task, clock_.wall());
  auto outcomes = broker_.submit_many(list.tasks);
  if (outcomes.status().code() == ErrorCode::Unavailable) {
    // The broker did not answer: any of the tasks may be stored. "IDs" (in the body's order)
    // lets the client look them up or send the same tasks again with them, storing each once.
    Status unknown = outcomes.status().with_context(
        "the tasks may have been stored; retry with the IDs in \"IDs\" (in the body's order) "
        "to submit each at most once");
    nlohmann::json ids = nlohmann::json::array();
    for (const Task& task : list.tasks)
      ids.push_back(task.id);
    return json_response(http_status_for(unknown.code()),
                         {{"error", error_json(unknown)}, {"IDs", std::move(ids)}});
  }
  if (!outcomes)
    return error_response(outcomes.status());
  // 200 whenever the broker answered, even when every task was refused: each task's own result
  // is in the body (docs/decisions.md, "POST /tasks with many tasks").
  nlohmann::json results = nlohmann::json::array();
  for (size_t i = 0; i < outcomes->size(); ++i) {
    const protocol::SubmitOutcome& outcome = (*outcomes)[i];
    nlohmann::json result = {{"ID", outcome.task_id}};
    if (outcome.error_code == ErrorCode::Ok) {
      result["Task"] = task_spec_to_json(list.tasks[i]);
    } else {
      result["error"] = error_json(outcome.status());
    }
    results.push_back(std::move(result));
  }
  return json_response(200, results);
}

HttpResponse RestApi::list_tasks() const {
  auto tasks = broker_.list();
  if (!tasks)
    return error_response(tasks.status());
  nlohmann::json body = nlohmann::json::array();
  for (const auto& t : *tasks)
    body.push_back(task_to_json(t));
  return json_response(200, body);
}

HttpResponse RestApi::get_task(const std::string& id) const {
  auto details = broker_.get(id);
  if (!details)
    return error_response(details.status());
  nlohmann::json body = task_to_json(details->task);
  nlohmann::json events = nlohmann::json::array();
  for (const auto& e : details->events)
    events.push_back(task_event_to_json(e));
  body["Events"] = std::move(events);
  return json_response(200, body);
}

HttpResponse RestApi::stop_task(const std::string& id) const {
  auto stopped = broker_.stop(id);
  if (!stopped)
    return error_response(stopped.status());
  return no_content();
}

HttpResponse RestApi::task_logs(const std::string& id, const HttpRequest& request) const {
  int64_t numbers[2] = {0, 0};  // offset, tail
  const char* names[2] = {"offset", "tail"};
  for (int i = 0; i < 2; ++i) {
    const std::string* value = request.query_value(names[i]);
    if (value == nullptr)
      continue;
    const std::string& text = *value;
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || end != text.c_str() + text.size() || errno != 0 || n < 0)
      return error_response(400, ErrorCode::Invalid,
                            std::string("query parameter \"") + names[i] + "\": \"" + text +
                                "\" is not a number (0 or more)");
    numbers[i] = n;
  }
  auto chunk = broker_.logs(id, numbers[0], numbers[1]);
  if (!chunk)
    return error_response(chunk.status());
  return json_response(
      200, {{"Data", chunk->data}, {"NextOffset", chunk->next_offset}, {"EOF", chunk->eof}});
}

HttpResponse RestApi::list_nodes() const {
  auto nodes = broker_.nodes();
  if (!nodes)
    return error_response(nodes.status());
  nlohmann::json body = nlohmann::json::array();
  for (const auto& n : *nodes)
    body.push_back(node_to_json(n));
  return json_response(200, body);
}

Result<protocol::NodeInfo> RestApi::lookup_node(const std::string& name_or_id) const {
  auto nodes = broker_.nodes();
  if (!nodes)
    return nodes.status();
  return find_node(std::move(*nodes), name_or_id);
}

HttpResponse RestApi::get_node(const std::string& name_or_id) const {
  auto node = lookup_node(name_or_id);
  if (!node)
    return node_error(node.status());
  return json_response(200, node_to_json(*node));
}

HttpResponse RestApi::get_node_stats(const std::string& name_or_id) const {
  auto node = lookup_node(name_or_id);
  if (!node)
    return node_error(node.status());
  if (!node->usage)
    return error_response(503, ErrorCode::Unavailable,
                          "node " + node->name + " (" + node->id +
                              ") has sent no stats yet: agents send them every "
                              "--stats-interval (default 5s) after they join");
  return json_response(200, worker_stats_json(*node));
}

HttpResponse RestApi::list_node_tasks(const std::string& name_or_id) const {
  auto node = lookup_node(name_or_id);
  if (!node)
    return node_error(node.status());
  auto tasks = broker_.list();
  if (!tasks)
    return error_response(tasks.status());
  nlohmann::json body = nlohmann::json::array();
  for (const auto& t : *tasks) {
    if (t.node_id == node->id)
      body.push_back(task_to_json(t));
  }
  return json_response(200, body);
}

HttpResponse RestApi::health() const {
  auto status = broker_.status();
  if (!status)
    return error_response(503, ErrorCode::Unavailable,
                          "the broker does not answer: " + status.status().message());
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "ok\n";
  // Brokers on a shared store say their role; a standby serves too (the gateway proxies to the
  // leader), so both are 200 and a load balancer may send requests to either. A lone broker
  // (role "leader" or none, and no leader address) answers as it always did.
  const bool elects =
      (!status->role.empty() && status->role != "leader") || !status->leader.empty();
  if (elects) {
    r.body += "role: " + status->role + "\n";
    if (!status->leader.empty())
      r.body += "leader: " + status->leader + "\n";
    r.headers.emplace_back("X-Cube-Role", status->role);
  }
  return r;
}

HttpResponse RestApi::metrics() const {
  auto status = broker_.status();
  if (!status)
    return error_response(status.status());
  auto nodes = broker_.nodes();
  if (!nodes)
    return error_response(nodes.status());
  HttpResponse r;
  r.content_type = kPrometheusContentType;
  r.body = render_metrics(*status, *nodes);
  return r;
}

}  // namespace cube::gateway
