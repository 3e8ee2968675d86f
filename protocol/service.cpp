#include "protocol/service.h"

#include "protocol/task_validation.h"

namespace cube {
namespace {

Status field_error(std::string_view field, const std::string& message) {
  return Status::invalid("field \"" + std::string(field) + "\": " + message);
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

}  // namespace

Status validate_service_name(std::string_view name) {
  std::string why;
  if (name.empty()) {
    why = "is empty";
  } else if (name.size() > kMaxServiceNameBytes) {
    why = "is longer than " + std::to_string(kMaxServiceNameBytes) + " bytes";
  } else if (name.front() == '_' || name.front() == '-') {
    why = "must start with a letter or digit";
  } else {
    for (char c : name) {
      if (!is_name_char(c)) {
        why = "may hold only letters, digits, '_' and '-'";
        break;
      }
    }
  }
  if (why.empty())
    return Status::ok();
  return field_error("Name", "service name \"" + std::string(name) + "\" " + why);
}

Status validate_service(const Service& service) {
  CUBE_RETURN_IF_ERROR(validate_service_name(service.name));
  if (service.replicas > kMaxReplicas) {
    return field_error("Replicas", std::to_string(service.replicas) + " is above the limit of " +
                                       std::to_string(kMaxReplicas) + " replicas per service");
  }
  CUBE_RETURN_IF_ERROR(validate_update_policy(service.update));
  if (!service.task_template.id.empty()) {
    return field_error("Template.ID",
                       "a service's template has no ID: the broker gives each replica its own");
  }
  return validate_task_spec(service.task_template).with_context("template");
}

Status validate_update_policy(const UpdatePolicy& u) {
  if (u.parallelism == 0)
    return field_error("UpdateConfig.Parallelism", "must be at least 1");
  if (u.delay_ms < 0)
    return field_error("UpdateConfig.Delay", "must not be negative");
  if (u.monitor_ms < 0)
    return field_error("UpdateConfig.Monitor", "must not be negative");
  if (u.failure_action != kFailureActionPause && u.failure_action != kFailureActionRollback) {
    return field_error("UpdateConfig.FailureAction",
                       "\"" + u.failure_action + "\" is not \"pause\" or \"rollback\"");
  }
  if (u.order != kUpdateOrderStopFirst && u.order != kUpdateOrderStartFirst) {
    return field_error("UpdateConfig.Order",
                       "\"" + u.order + "\" is not \"stop-first\" or \"start-first\"");
  }
  return Status::ok();
}

Task normalized_template(const Task& task_template) {
  Task t;
  static_cast<TaskSpec&>(t) = static_cast<const TaskSpec&>(task_template);
  t.id.clear();
  t.name.clear();
  t.driver = std::string(effective_driver(t.driver));
  if (t.restart_policy.empty())
    t.restart_policy = "always";
  return t;
}

bool is_rolling(std::string_view update_state) {
  return update_state == kUpdateStateUpdating || update_state == kUpdateStateRollbackStarted;
}

std::string replica_name(std::string_view service, uint32_t slot) {
  return std::string(service) + "." + std::to_string(slot);
}

}  // namespace cube
