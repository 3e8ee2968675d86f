#include "protocol/service_json.h"

#include <limits>
#include <string>

#include "protocol/task_json.h"

namespace cube {
namespace {

using nlohmann::json;

Status field_error(std::string_view field, const std::string& message) {
  return Status::invalid("field \"" + std::string(field) + "\": " + message);
}

Status read_count(std::string_view field, const json& v, uint32_t max, uint32_t& out) {
  if (v.is_null())
    return Status::ok();
  if (!v.is_number_integer())
    return field_error(field, std::string("expected a whole number, got ") + v.type_name());
  int64_t n = v.get<int64_t>();
  if (n < 0)
    return field_error(field, std::to_string(n) + " is negative");
  if (n > static_cast<int64_t>(max))
    return field_error(field, std::to_string(n) + " is above the limit of " + std::to_string(max));
  out = static_cast<uint32_t>(n);
  return Status::ok();
}

Status read_text(std::string_view field, const json& v, std::string& out) {
  if (v.is_null())
    return Status::ok();
  if (!v.is_string())
    return field_error(field, std::string("expected a string, got ") + v.type_name());
  out = v.get<std::string>();
  return Status::ok();
}

Status read_update(const json& body, UpdatePolicy& u) {
  if (body.is_null())
    return Status::ok();
  if (!body.is_object())
    return field_error("UpdateConfig", std::string("expected an object, got ") + body.type_name());
  for (const auto& item : body.items()) {
    const std::string& key = item.key();
    const json& v = item.value();
    std::string field = "UpdateConfig." + key;
    if (key == "Parallelism") {
      CUBE_RETURN_IF_ERROR(
          read_count(field, v, std::numeric_limits<uint32_t>::max(), u.parallelism));
    } else if (key == "Delay") {
      CUBE_RETURN_IF_ERROR(read_duration_ms(field, v, u.delay_ms));
    } else if (key == "Monitor") {
      CUBE_RETURN_IF_ERROR(read_duration_ms(field, v, u.monitor_ms));
    } else if (key == "FailureAction") {
      CUBE_RETURN_IF_ERROR(read_text(field, v, u.failure_action));
    } else if (key == "Order") {
      CUBE_RETURN_IF_ERROR(read_text(field, v, u.order));
    } else {
      return Status::invalid("unknown field \"" + key + "\" in UpdateConfig");
    }
  }
  return Status::ok();
}

// Printed by service_to_json / service_info_to_json; ignored on input.
bool is_output_only(std::string_view key) {
  return key == "Version" || key == "TemplateVersion" || key == "CreatedAt" || key == "UpdatedAt" ||
         key == "Running" || key == "Tasks" || key == "TaskList" || key == "UpdateStatus" ||
         key == "PreviousTemplate" || key == "PreviousTemplateVersion";
}

}  // namespace

Result<Service> service_from_json_text(std::string_view text) {
  json body = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded())
    return Status::invalid("service file is not valid JSON");
  return service_from_json(body);
}

Result<Service> service_from_json(const json& body) {
  if (!body.is_object())
    return Status::invalid(std::string("a service must be a JSON object, got ") + body.type_name());
  Service s;
  for (const auto& item : body.items()) {
    const std::string& key = item.key();
    const json& v = item.value();
    if (key == "Name") {
      CUBE_RETURN_IF_ERROR(read_text(key, v, s.name));
    } else if (key == "Replicas") {
      CUBE_RETURN_IF_ERROR(read_count(key, v, kMaxReplicas, s.replicas));
    } else if (key == "Template") {
      auto task = task_from_json(v);
      if (!task)
        return task.status().with_context("field \"Template\"");
      s.task_template = std::move(*task);
    } else if (key == "UpdateConfig") {
      CUBE_RETURN_IF_ERROR(read_update(v, s.update));
    } else if (!is_output_only(key)) {
      return Status::invalid("unknown field \"" + key + "\" in service");
    }
  }
  return s;
}

json service_to_json(const Service& service) {
  const UpdatePolicy& u = service.update;
  return json{
      {"Name", service.name},
      {"Replicas", service.replicas},
      {"Template", task_spec_to_json(service.task_template)},
      {"UpdateConfig",
       {{"Parallelism", u.parallelism},
        {"Delay", u.delay_ms},
        {"FailureAction", u.failure_action},
        {"Monitor", u.monitor_ms},
        {"Order", u.order}}},
      {"Version", service.version},
      {"TemplateVersion", service.template_version},
      {"CreatedAt", format_rfc3339(service.created_ms)},
      {"UpdatedAt", format_rfc3339(service.updated_ms)},
      // Swarm's UpdateStatus: null before the first update.
      {"UpdateStatus", service.update_state.empty()
                           ? json(nullptr)
                           : json{{"State", service.update_state},
                                  {"Message", service.update_message},
                                  {"StartedAt", format_rfc3339(service.update_started_ms)},
                                  {"CompletedAt", format_rfc3339(service.update_completed_ms)}}},
      {"PreviousTemplateVersion", service.previous_template_version},
  };
}

json service_info_to_json(const protocol::ServiceInfo& info) {
  json j = service_to_json(info.service);
  j["Running"] = info.running;
  j["Tasks"] = info.tasks;
  return j;
}

}  // namespace cube
