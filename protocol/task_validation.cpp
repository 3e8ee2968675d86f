#include "protocol/task_validation.h"

#include <charconv>
#include <cmath>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/ids.h"
#include "protocol/messages.h"

namespace cube {
namespace {

Status field_error(std::string_view field, const std::string& message) {
  return Status::invalid("field \"" + std::string(field) + "\": " + message);
}

// Docker's reference grammar, simplified: [host[:port]/]path[:tag][@digest], lowercase path.
bool is_image_reference(const std::string& image) {
  static const std::regex kImage(
      R"(^([a-zA-Z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*)"
      R"((:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$)");
  return image.size() <= 255 && std::regex_match(image, kImage);
}

bool is_port_spec(std::string_view spec) {
  auto slash = spec.find('/');
  std::string_view number = spec.substr(0, slash);
  if (slash != std::string_view::npos) {
    auto proto = spec.substr(slash + 1);
    if (proto != "tcp" && proto != "udp")
      return false;
  }
  int port = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), port);
  return ec == std::errc() && ptr == number.data() + number.size() && port >= 1 && port <= 65535;
}

}  // namespace

Status validate_task_spec(const TaskSpec& task) {
  if (!task.id.empty() && !is_uuid(task.id)) {
    return field_error("ID", "\"" + task.id + "\" is not a UUID (leave it out to get one)");
  }
  if (task.name.size() > 128)
    return field_error("Name", "longer than 128 bytes");
  std::string_view driver = effective_driver(task.driver);
  if (driver != kDriverDocker && driver != kDriverExec && driver != kDriverSim) {
    return field_error("Driver",
                       "unknown driver \"" + task.driver + "\" (use docker, exec or sim)");
  }
  if (driver == kDriverDocker) {
    if (task.image.empty())
      return field_error("Image", "required for the docker driver");
  }
  if (!task.image.empty() && !is_image_reference(task.image)) {
    return field_error(
        "Image", "\"" + task.image + "\" is not an image reference (for example busybox:latest)");
  }
  if (driver == kDriverExec && task.cmd.empty()) {
    return field_error("Cmd", "required for the exec driver (the command to run)");
  }
  // NaN passes `< 0` and would poison every comparison the scheduler makes; MessagePack (unlike
  // JSON) can carry it.
  if (!std::isfinite(task.cpu))
    return field_error("CPU", "must be a finite number of cores");
  if (task.cpu < 0)
    return field_error("CPU", "must not be negative");
  if (task.memory_bytes < 0)
    return field_error("Memory", "must not be negative");
  if (task.disk_bytes < 0)
    return field_error("Disk", "must not be negative");
  if (task.duration_ms < 0)
    return field_error("Duration", "must not be negative");
  for (const auto& port : task.exposed_ports) {
    if (!is_port_spec(port)) {
      return field_error("ExposedPorts",
                         "\"" + port + "\" is not PORT[/tcp|/udp] with PORT in 1..65535");
    }
  }
  const auto& rp = task.restart_policy;
  if (!rp.empty() && rp != "no" && rp != "on-failure" && rp != "always") {
    return field_error("RestartPolicy",
                       "\"" + rp + "\" is not one of \"no\", \"on-failure\", \"always\"");
  }
  if (!task.health_check.empty() && task.health_check.front() != '/') {
    return field_error("HealthCheck",
                       "\"" + task.health_check + "\" must be a path such as /health");
  }
  if (task.health_interval_ms < 0)
    return field_error("HealthCheckInterval", "must not be negative");
  if (task.health_timeout_ms < 0)
    return field_error("HealthCheckTimeout", "must not be negative");
  if (task.health_retries < 0)
    return field_error("HealthCheckRetries", "must not be negative");
  for (const auto& e : task.env) {
    if (e.find('=') == std::string::npos || e.front() == '=') {
      return field_error("Env", "\"" + e + "\" is not KEY=VALUE");
    }
  }
  for (const auto& c : task.constraints) {
    auto eq = c.find('=');
    if (eq == std::string::npos || eq == 0) {
      return field_error("Constraints", "\"" + c + "\" is not key=value");
    }
  }
  return Status::ok();
}

Status check_distinct_task_ids(std::span<const Task> tasks, const TaskPosition& where) {
  auto place = [&](size_t i) { return where ? where(i) : "#" + std::to_string(i); };
  std::unordered_map<std::string_view, size_t> first_at;
  first_at.reserve(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    const std::string& id = tasks[i].id;
    if (id.empty())
      continue;
    auto [it, added] = first_at.emplace(id, i);
    if (!added) {
      return Status::invalid("task ID " + id + " is given twice (" + place(it->second) + " and " +
                             place(i) + "): give each task its own ID, or none");
    }
  }
  return Status::ok();
}

Status check_submit_batch(std::span<const Task> tasks, const TaskPosition& where) {
  if (tasks.empty())
    return Status::invalid("the batch holds no task: send at least one");
  if (tasks.size() > protocol::kMaxSubmitBatch) {
    return Status::invalid("the batch holds " + std::to_string(tasks.size()) +
                           " tasks, more than the " + std::to_string(protocol::kMaxSubmitBatch) +
                           " one request may carry: send them in several");
  }
  return check_distinct_task_ids(tasks, where);
}

}  // namespace cube
