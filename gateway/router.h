// The gateway's route table: which (method, path) pairs exist, and for a request that matches
// none, whether the path exists with other methods (405 with Allow) or not at all (404).
//
//   GET  /tasks          list tasks              POST /tasks   submit (or stop: State 3)
//   GET  /tasks/{id}     one task and history    DELETE /tasks/{id}  stop
//   GET  /nodes          agents                  GET  /metrics  Prometheus text
//   GET  /nodes/{n}      one agent (name or ID)  GET  /nodes/{n}/stats  its stats in the
//   GET  /nodes/{n}/tasks  the tasks on it            prior orchestrators' worker shape
//   GET  /services       services                POST /services  create
//   GET  /services/{s}   one service, its tasks  PUT  /services/{s}  update (a rollout)
//   DELETE /services/{s} remove                  POST /services/{s}/scale|rollback|restart
//   GET  /events         the event feed as Server-Sent Events (gateway/event_stream.h)
//   GET  /healthz        "ok" when the broker answers STATUS
//   GET  /tasks/{id}/logs  a chunk of its output   GET  /ui  redirect to /ui/
//   GET  /ui/{asset}     the dashboard's files ("/ui/" is index.html)
//
// HEAD is allowed wherever GET is. One trailing slash is ignored ("/tasks/" is "/tasks"), as
// the prior orchestrators' routers (chi, gorilla) were commonly configured; not under /ui,
// where "/ui/" is the dashboard and "/ui" redirects there (relative asset URLs need the slash).
//
// Thread-safety: pure.
#pragma once

#include <string>
#include <string_view>

namespace cube::gateway {

enum class Route {
  ListTasks,
  SubmitTask,
  GetTask,
  StopTask,
  ListNodes,
  GetNode,
  GetNodeStats,
  ListNodeTasks,
  Health,
  Metrics,
  ListServices,
  CreateService,
  GetService,
  UpdateService,
  RemoveService,
  ScaleService,
  RollbackService,
  RestartService,
  Events,
  TaskLogs,
  UiRedirect,
  UiAsset,
};

struct RouteMatch {
  enum class Kind { Found, MethodNotAllowed, NotFound };
  Kind kind = Kind::NotFound;
  Route route = Route::Health;  // Found only
  std::string task_id;          // GetTask / StopTask / TaskLogs: the {id} segment
  std::string node;             // GetNode / GetNodeStats / ListNodeTasks: the {n} segment
  std::string service;          // the routes of one service: the {s} segment
  std::string asset;            // UiAsset: the path after "/ui/" ("" for the index)
  std::string allow;            // MethodNotAllowed: "GET, HEAD, POST" for the Allow header
};

// Matches `method` (upper case) and `path` (percent-decoded, no query) against the table.
RouteMatch match_route(std::string_view method, std::string_view path);

}  // namespace cube::gateway
