// The /services routes of RestApi (gateway/rest_api.h has the table): each is one service request
// to the broker (docs/services.md), its reply in the JSON of `cube-client service ... -o json`.
#include <nlohmann/json.hpp>

#include <string>
#include <utility>

#include "gateway/json_error.h"
#include "gateway/rest_api.h"
#include "protocol/service_json.h"
#include "protocol/task_json.h"

namespace cube::gateway {
namespace {

using nlohmann::json;

// The one service a reply carries, as JSON (with its tasks for an inspect).
HttpResponse service_response(int status, const protocol::Reply& reply, bool with_tasks) {
  if (reply.services.empty())
    return error_response(500, ErrorCode::Internal, "the broker's reply carries no service");
  json body = service_info_to_json(reply.services.front());
  if (with_tasks) {
    json tasks = json::array();
    for (const auto& t : reply.tasks)
      tasks.push_back(task_to_json(t));
    body["TaskList"] = tasks;
  }
  return json_response(status, body);
}

// A request body parsed once: the service definition, and the JSON it came from (PUT reads its
// "Version" too). Invalid naming what is wrong otherwise.
struct ServiceBody {
  Service service;
  json parsed;
};

Result<ServiceBody> service_from_body(const HttpRequest& request) {
  if (request.body.empty())
    return Status::invalid("the body is empty: send the service as JSON");
  json parsed = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded())
    return Status::invalid("service file is not valid JSON");
  auto service = service_from_json(parsed);
  if (!service)
    return service.status();
  return ServiceBody{std::move(*service), std::move(parsed)};
}

// PUT's optional "Version": the version the caller read (0 when absent).
Result<uint64_t> version_in(const json& body) {
  if (!body.contains("Version"))
    return uint64_t{0};
  const json& v = body["Version"];
  if (!v.is_number_unsigned())
    return Status::invalid("field \"Version\": expected the service's version, a whole number");
  return v.get<uint64_t>();
}

// POST /services/S/scale's {"Replicas": N}.
Result<uint32_t> replicas_in(const std::string& body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.contains("Replicas"))
    return Status::invalid("the body must be {\"Replicas\": N}");
  for (const auto& [key, value] : parsed.items()) {
    if (key != "Replicas")
      return Status::invalid("unknown field \"" + key + "\" (the body is {\"Replicas\": N})");
  }
  const json& n = parsed["Replicas"];
  if (!n.is_number_integer() || n.get<int64_t>() < 0)
    return Status::invalid("field \"Replicas\": expected a whole number 0.." +
                           std::to_string(kMaxReplicas));
  if (n.get<int64_t>() > static_cast<int64_t>(kMaxReplicas)) {
    return Status::invalid("field \"Replicas\": " + std::to_string(n.get<int64_t>()) +
                           " is above the limit of " + std::to_string(kMaxReplicas) +
                           " replicas per service");
  }
  return static_cast<uint32_t>(n.get<int64_t>());
}

}  // namespace

HttpResponse RestApi::services(const RouteMatch& match, const HttpRequest& request) const {
  const std::string& name = match.service;
  auto call = [&](const ServiceRequest& r) { return broker_.service(r); };
  switch (match.route) {
    case Route::ListServices: {
      auto reply = call(protocol::ServiceListRequest{});
      if (!reply)
        return error_response(reply.status());
      json body = json::array();
      for (const auto& info : reply->services)
        body.push_back(service_info_to_json(info));
      return json_response(200, body);
    }
    case Route::CreateService: {
      auto body = service_from_body(request);
      if (!body)
        return error_response(body.status());
      const Service& service = body->service;
      if (Status s = validate_service(service); !s.is_ok())
        return error_response(s);
      auto reply = call(protocol::ServiceCreateRequest{0, service});
      if (!reply)
        return error_response(reply.status());
      HttpResponse r = service_response(201, *reply, false);
      r.headers.emplace_back("Location", "/services/" + service.name);
      return r;
    }
    case Route::GetService: {
      auto reply = call(protocol::ServiceInspectRequest{0, name});
      return reply ? service_response(200, *reply, true) : error_response(reply.status());
    }
    case Route::UpdateService: {
      auto body = service_from_body(request);
      if (!body)
        return error_response(body.status());
      Service& service = body->service;
      if (service.name.empty())
        service.name = name;
      if (service.name != name) {
        return error_response(400, ErrorCode::Invalid,
                              "field \"Name\": \"" + service.name + "\" is not \"" + name +
                                  "\", the service this URL names (a service keeps its name)");
      }
      if (Status s = validate_service(service); !s.is_ok())
        return error_response(s);
      auto version = version_in(body->parsed);
      if (!version)
        return error_response(version.status());
      auto reply = call(protocol::ServiceUpdateRequest{0, service, *version});
      return reply ? service_response(200, *reply, false) : error_response(reply.status());
    }
    case Route::ScaleService: {
      auto replicas = replicas_in(request.body);
      if (!replicas)
        return error_response(replicas.status());
      auto reply = call(protocol::ServiceScaleRequest{0, name, *replicas});
      return reply ? service_response(200, *reply, false) : error_response(reply.status());
    }
    case Route::RollbackService: {
      auto reply = call(protocol::ServiceRollbackRequest{0, name});
      return reply ? service_response(200, *reply, false) : error_response(reply.status());
    }
    case Route::RestartService: {
      auto reply = call(protocol::ServiceRestartRequest{0, name});
      return reply ? service_response(200, *reply, false) : error_response(reply.status());
    }
    case Route::RemoveService: {
      auto reply = call(protocol::ServiceRemoveRequest{0, name});
      return reply ? no_content() : error_response(reply.status());
    }
    default:
      break;
  }
  return error_response(500, ErrorCode::Internal, "unhandled service route");
}

}  // namespace cube::gateway
