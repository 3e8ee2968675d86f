// RestApi: the prior orchestrators' REST API (go-cube, orc, Birdman) and Cube's extras, as a
// function from HttpRequest to HttpResponse over a BrokerApi. Every operation is one or two
// calls to the broker's client port, the same path cube-client takes.
//
//   POST   /tasks       body: a task or a TaskEvent {ID, State, Timestamp, Task} (their JSON).
//                       201 + the stored task (Location: /tasks/ID) for a new task (a task
//                       without ID gets a UUIDv7 here, before the SUBMIT, so that a Lazy
//                       Pirate retry of that SUBMIT cannot store it twice);
//                       200 + the stored task when the ID already exists (nothing changes);
//                       State 3 (Completed): stops the task with that ID, 200 + the task,
//                       404 when there is none;
//                       400 {"error":{"code":"invalid","message":...}} for a body that is not
//                       JSON (the message says at which byte it breaks), an unknown field (the
//                       message names it) or a bad value (names the field and the fix).
//                body: a JSON array of them (or one per line, NDJSON): one SUBMIT_BATCH, each
//                       task judged on its own as if POSTed alone. 200 + an array with one
//                       result per task, in order: {"ID", "Task": the task as submitted} or
//                       {"ID", "error": {code, message}}, whatever the results (docs/http.md);
//                       400 naming the item (task #N / line N) and the field for a body that
//                       cannot be read, for no task, more than protocol::kMaxSubmitBatch, or
//                       one ID twice; 503 with "IDs" (every task's, in order) when the broker
//                       did not answer.
//   GET    /tasks       200 + array of tasks in their shape (numeric State, ContainerID,
//                       StartTime/FinishTime, PortBindings...).
//   GET    /tasks/ID    200 + the task with its "Events" history; 404 for an unknown ID.
//   DELETE /tasks/ID    stops it: 204 (also when already stopped); 404 for an unknown ID.
//   GET    /tasks/ID/logs[?offset=N|tail=N]  200 + {"Data": its output from byte N (or its
//                       last N lines), "NextOffset": where to ask again, "EOF": the task ended
//                       and all was read}: the chunk `cube-client logs` reads, which follows by
//                       asking again from NextOffset; 400 for a bad number; 404; 503 when the
//                       task was never placed or its agent does not answer.
//   GET    /nodes       200 + array of agents.
//   GET    /nodes/N     200 + the agent whose ID, else whose name, is N; 404 naming N when
//                       none is; 409 listing the IDs when several agents share the name.
//   GET    /nodes/N/stats  200 + its latest sample in the prior orchestrators' worker /stats
//                       shape (gateway/worker_stats.h); 503 before its first sample.
//   GET    /nodes/N/tasks  200 + the tasks whose current attempt is on it, as GET /tasks.
//   POST   /services    body: a service ({"Name", "Replicas", "Template", "UpdateConfig"}, as
//                       `cube-client service create -f` reads it): 201 + the service
//                       (Location: /services/NAME); 400 naming the field; 409 for a name in use
//                       with another definition (the same one again: 201 + the service).
//   GET    /services    200 + array of services (docs/services.md's JSON, with Running, Tasks
//                       and UpdateStatus).
//   GET    /services/S  200 + the service with its "TaskList"; 404 naming S.
//   PUT    /services/S  body: the new definition (Name, when given, must be S). A new template
//                       starts a rolling update. When the body carries "Version" (as GET gives
//                       it), the update is refused 409 if the service changed since. 200 + the
//                       service.
//   POST   /services/S/scale     body {"Replicas": N}: 200 + the service.
//   POST   /services/S/rollback  200 + the service rolling back; 409 when never updated.
//   POST   /services/S/restart   200 + the service replacing every replica.
//   DELETE /services/S  removes it and stops its tasks: 204; 404 naming S.
//   GET    /events      the event feed as Server-Sent Events (gateway/event_stream.h).
//   GET    /healthz     200 "ok" when the broker answers STATUS; 503 otherwise. A broker on a
//                       shared store (docs/ha.md) adds "role: leader|standby" and, when it
//                       knows one, "leader: HOST:PORT" lines and an X-Cube-Role header; a
//                       standby is 200 too, since its gateway proxies to the leader.
//   GET    /metrics     200 + Prometheus text (gateway/prometheus_text.h); 503 when the broker
//                       does not answer.
//   GET    /ui, /ui/... the dashboard (gateway/ui_routes.h), served without a token.
// Unknown path: 404; known path, other method: 405 with Allow. A broker that does not answer:
// 503 with code "unavailable". With a bearer token configured, every request but /healthz and /ui
// without `Authorization: Bearer <token>` gets 401 (WWW-Authenticate: Bearer) before routing,
// so unauthenticated callers learn nothing about the routes.
//
// Thread-safety: handle() may be called from many threads at once (BrokerApi allows it; the
// RestApi itself holds no mutable state). It blocks for the broker's answer.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "gateway/broker_api.h"
#include "gateway/event_stream.h"
#include "gateway/http_message.h"
#include "gateway/router.h"
#include "protocol/task_json.h"

namespace cube::gateway {

struct RestApiOptions {
  // When set, requests must carry it as a bearer token (see the file comment).
  std::optional<std::string> bearer_token;
};

class RestApi {
 public:
  // `broker` and `clock` (wall time for generated task IDs) must outlive the RestApi.
  RestApi(BrokerApi& broker, RestApiOptions options, const Clock& clock = system_clock());

  HttpResponse handle(const HttpRequest& request) const;

  // Ends the open GET /events streams (within EventStreamOptions::poll) and refuses new ones:
  // call before stopping the HTTP server, which waits for them.
  void stop_streams() { streams_->stop(); }

 private:
  HttpResponse submit(const HttpRequest& request) const;
  HttpResponse submit_one(Task task) const;
  HttpResponse submit_batch(TaskList list) const;
  HttpResponse list_tasks() const;
  HttpResponse get_task(const std::string& id) const;
  HttpResponse stop_task(const std::string& id) const;
  HttpResponse task_logs(const std::string& id, const HttpRequest& request) const;
  HttpResponse list_nodes() const;
  // The node with that ID or name (client/node_lookup.h); the broker's error otherwise.
  Result<protocol::NodeInfo> lookup_node(const std::string& name_or_id) const;
  HttpResponse get_node(const std::string& name_or_id) const;
  HttpResponse get_node_stats(const std::string& name_or_id) const;
  HttpResponse list_node_tasks(const std::string& name_or_id) const;
  // The /services routes (gateway/rest_services.cpp).
  HttpResponse services(const RouteMatch& match, const HttpRequest& request) const;
  HttpResponse health() const;
  HttpResponse metrics() const;

  BrokerApi& broker_;
  const RestApiOptions options_;
  const Clock& clock_;
  // GET /events; behind a pointer: handle() is const, the streams' count is not.
  std::unique_ptr<EventStreams> streams_;
};

}  // namespace cube::gateway
