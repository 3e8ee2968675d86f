#include "protocol/task_json.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <limits>

#include "common/units.h"

namespace cube {
namespace {

using nlohmann::json;

// Fields the prior orchestrators print and their users send back; accepted and ignored.
// Cube's own output-only fields (Node, Reason, Attempt...) are here too, so that the output of
// `get -o json` can be submitted again.
constexpr std::array<std::string_view, 17> kIgnoredFields = {
    "PortBindings", "HostPorts", "StartsAt",   "FinishedAt",   "CreatedAt",    "UpdatedAt",
    "ContainerID",  "StartTime", "FinishTime", "RestartCount", "Node",         "NodeID",
    "Reason",       "ExitCode",  "Events",     "Attempt",      "DesiredState",
};

Status field_error(std::string_view field, const std::string& message) {
  return Status::invalid("field \"" + std::string(field) + "\": " + message);
}

const char* json_type(const json& v) {
  return v.type_name();
}

Status read_string(std::string_view field, const json& v, std::string& out) {
  if (v.is_null())
    return Status::ok();
  if (!v.is_string()) {
    return field_error(field, std::string("expected a string, got ") + json_type(v));
  }
  out = v.get<std::string>();
  return Status::ok();
}

Status read_string_list(std::string_view field, const json& v, std::vector<std::string>& out) {
  if (v.is_null())
    return Status::ok();
  if (!v.is_array()) {
    return field_error(field, std::string("expected an array of strings, got ") + json_type(v));
  }
  out.clear();
  for (const auto& item : v) {
    if (!item.is_string()) {
      return field_error(field,
                         std::string("expected strings in the array, got ") + json_type(item));
    }
    out.push_back(item.get<std::string>());
  }
  return Status::ok();
}

// A JSON number as int64: integers exactly, fractions truncated. Invalid outside the int64
// range (converting such a double is undefined behaviour, and a huge unsigned would wrap).
Status read_int64_number(std::string_view field, const json& v, int64_t& out) {
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return field_error(field, v.dump() + " is too large");
    out = static_cast<int64_t>(u);
    return Status::ok();
  }
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return Status::ok();
  }
  double d = v.get<double>();
  // 2^63 is exact as a double; NaN fails both comparisons.
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
    return field_error(field, v.dump() + " is out of range");
  out = static_cast<int64_t>(d);
  return Status::ok();
}

// A duration is milliseconds as a number, or a string such as "500ms" or "10s".
Status read_duration_ms(std::string_view field, const json& v, int64_t& out) {
  if (v.is_number())
    return read_int64_number(field, v, out);
  if (v.is_string()) {
    auto d = parse_duration(v.get<std::string>());
    if (!d)
      return d.status().with_context("field \"" + std::string(field) + "\"");
    out = d->count();
    return Status::ok();
  }
  if (v.is_null())
    return Status::ok();
  return field_error(field, std::string("expected milliseconds or \"5s\", got ") + json_type(v));
}

// A size is bytes as a number, or a string such as "512MiB".
Status read_size(std::string_view field, const json& v, int64_t& out) {
  if (v.is_null())
    return Status::ok();
  if (v.is_number())
    return read_int64_number(field, v, out);
  if (v.is_string()) {
    auto parsed = parse_size(v.get<std::string>());
    if (!parsed)
      return parsed.status().with_context("field \"" + std::string(field) + "\"");
    out = *parsed;
    return Status::ok();
  }
  return field_error(field,
                     std::string("expected bytes or a size like \"512MiB\", got ") + json_type(v));
}

Status read_state(std::string_view field, const json& v, TaskState& out) {
  if (v.is_null())
    return Status::ok();
  std::optional<TaskState> state;
  if (v.is_number_integer())
    state = task_state_from_int(v.get<int64_t>());
  if (v.is_string())
    state = task_state_from_name(v.get<std::string>());
  if (!state) {
    // Only scalars are quoted: dump() recurses, and a deeply nested array here would overflow
    // the stack.
    return field_error(field, "expected a state 0-4 or its name, got " +
                                  (v.is_primitive() ? v.dump() : std::string(json_type(v))));
  }
  out = *state;
  return Status::ok();
}

// Reads the task object itself; `state_out` receives a State field when present.
Status read_task(const json& body, Task& task, std::optional<TaskState>& state_out) {
  if (!body.is_object()) {
    return Status::invalid(std::string("a task must be a JSON object, got ") + json_type(body));
  }
  for (const auto& [key, v] : body.items()) {
    Status s;
    if (key == "ID") {
      s = read_string(key, v, task.id);
    } else if (key == "Name") {
      s = read_string(key, v, task.name);
    } else if (key == "Image") {
      s = read_string(key, v, task.image);
    } else if (key == "Cmd") {
      s = read_string_list(key, v, task.cmd);
    } else if (key == "Env") {
      s = read_string_list(key, v, task.env);
    } else if (key == "CPU") {
      if (v.is_number()) {
        task.cpu = v.get<double>();
      } else if (!v.is_null()) {
        s = field_error(key, std::string("expected a number of cores, got ") + json_type(v));
      }
    } else if (key == "Memory") {
      s = read_size(key, v, task.memory_bytes);
    } else if (key == "Disk") {
      s = read_size(key, v, task.disk_bytes);
    } else if (key == "ExposedPorts") {
      if (v.is_object()) {
        task.exposed_ports.clear();
        for (const auto& [port, ignored] : v.items())
          task.exposed_ports.push_back(port);
      } else if (v.is_array()) {
        s = read_string_list(key, v, task.exposed_ports);
      } else if (!v.is_null()) {
        s = field_error(
            key, std::string("expected an object like {\"80/tcp\": {}}, got ") + json_type(v));
      }
    } else if (key == "RestartPolicy") {
      s = read_string(key, v, task.restart_policy);
    } else if (key == "HealthCheck") {
      s = read_string(key, v, task.health_check);
    } else if (key == "HealthCheckInterval") {
      s = read_duration_ms(key, v, task.health_interval_ms);
    } else if (key == "HealthCheckTimeout") {
      s = read_duration_ms(key, v, task.health_timeout_ms);
    } else if (key == "HealthCheckRetries") {
      if (v.is_number_integer()) {
        int64_t n = v.get<int64_t>();
        if (n < 0 || n > std::numeric_limits<int32_t>::max())
          return field_error(key, v.dump() + " is out of range");
        task.health_retries = static_cast<int32_t>(n);
      } else if (!v.is_null()) {
        s = field_error(key, std::string("expected a whole number, got ") + json_type(v));
      }
    } else if (key == "Driver") {
      s = read_string(key, v, task.driver);
    } else if (key == "Constraints") {
      s = read_string_list(key, v, task.constraints);
    } else if (key == "Labels") {
      if (v.is_object()) {
        for (const auto& [k, lv] : v.items()) {
          if (!lv.is_string())
            return field_error("Labels", "values must be strings");
          task.labels[k] = lv.get<std::string>();
        }
      } else if (!v.is_null()) {
        s = field_error(key, std::string("expected an object of strings, got ") + json_type(v));
      }
    } else if (key == "Duration") {
      if (v.is_number()) {
        s = read_int64_number(key, v, task.duration_ms);
      } else if (v.is_string()) {
        auto d = parse_duration(v.get<std::string>());
        if (!d)
          return d.status().with_context("field \"Duration\"");
        task.duration_ms = d->count();
      } else if (!v.is_null()) {
        s = field_error(key, std::string("expected milliseconds or \"5s\", got ") + json_type(v));
      }
    } else if (key == "State") {
      TaskState state = TaskState::Running;
      s = read_state(key, v, state);
      if (s.is_ok() && !v.is_null())
        state_out = state;
    } else if (std::find(kIgnoredFields.begin(), kIgnoredFields.end(), key) ==
               kIgnoredFields.end()) {
      return Status::invalid("unknown field \"" + key + "\" in task");
    }
    CUBE_RETURN_IF_ERROR(s);
  }
  return Status::ok();
}

}  // namespace

Result<Task> task_from_json_text(std::string_view text) {
  json body = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    // Parse again with exceptions only to learn where it breaks; the error path is rare.
    try {
      [[maybe_unused]] json unused = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
      return Status::invalid("body is not valid JSON: " + std::string(e.what()) + " (byte " +
                             std::to_string(e.byte) + ")");
    } catch (const json::exception& e) {
      // Not only parse_error: a number such as 1e400 throws out_of_range, which used to escape
      // and terminate the process.
      return Status::invalid("body is not valid JSON: " + std::string(e.what()));
    }
    return Status::invalid("body is not valid JSON");
  }
  return task_from_json(body);
}

Result<Task> task_from_json(const nlohmann::json& body) {
  Task task;
  std::optional<TaskState> desired;
  // A TaskEvent wrapper is recognised by its "Task" object.
  if (body.is_object() && body.contains("Task")) {
    std::optional<TaskState> wrapper_state;
    std::string wrapper_id;
    for (const auto& [key, v] : body.items()) {
      if (key == "Task")
        continue;
      if (key == "ID") {
        CUBE_RETURN_IF_ERROR(read_string("ID", v, wrapper_id));
      } else if (key == "State") {
        TaskState state = TaskState::Running;
        CUBE_RETURN_IF_ERROR(read_state("State", v, state));
        if (!v.is_null())
          wrapper_state = state;
      } else if (key != "Timestamp") {
        return Status::invalid("unknown field \"" + key + "\" in task event");
      }
    }
    std::optional<TaskState> inner_state;
    CUBE_RETURN_IF_ERROR(read_task(body["Task"], task, inner_state).with_context("Task"));
    if (task.id.empty())
      task.id = wrapper_id;
    // The event's State is the request; the inner task's State is what the sender last saw.
    desired = wrapper_state ? wrapper_state : inner_state;
  } else {
    CUBE_RETURN_IF_ERROR(read_task(body, task, desired));
  }
  task.desired_state = desired == TaskState::Completed ? TaskState::Completed : TaskState::Running;
  return task;
}

std::string format_rfc3339(int64_t unix_ms) {
  if (unix_ms == 0)
    return "";
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

nlohmann::json task_to_json(const Task& t) {
  json exposed = json::object();
  for (const auto& p : t.exposed_ports)
    exposed[p] = json::object();
  json bindings = json::object();
  for (const auto& [port, list] : t.port_bindings) {
    json arr = json::array();
    for (const auto& b : list)
      arr.push_back({{"HostIp", b.host_ip}, {"HostPort", b.host_port}});
    bindings[port] = arr;
  }
  json j = {
      {"ID", t.id},
      {"Name", t.name},
      {"State", static_cast<int>(t.state)},
      {"Image", t.image},
      {"Cmd", t.cmd},
      {"Env", t.env},
      {"CPU", t.cpu},
      {"Memory", t.memory_bytes},
      {"Disk", t.disk_bytes},
      {"ExposedPorts", exposed},
      {"PortBindings", bindings},
      {"RestartPolicy", t.restart_policy},
      {"HealthCheck", t.health_check},
      {"RestartCount", t.restart_count},
      {"ContainerID", t.container_id},
      {"StartTime", format_rfc3339(t.start_time_ms)},
      {"FinishTime", format_rfc3339(t.finish_time_ms)},
      {"CreatedAt", format_rfc3339(t.created_ms)},
      {"UpdatedAt", format_rfc3339(t.updated_ms)},
      {"Driver", t.driver},
      {"Constraints", t.constraints},
      {"Labels", t.labels},
      {"Node", t.node},
      {"NodeID", t.node_id},
      {"Reason", t.reason},
      {"Attempt", t.attempt},
      {"DesiredState", static_cast<int>(t.desired_state)},
  };
  j["ExitCode"] = t.exit_code ? json(*t.exit_code) : json(nullptr);
  if (t.duration_ms > 0)
    j["Duration"] = t.duration_ms;
  // Like Duration: only when set, so tasks without them print as the prior orchestrators'.
  if (t.health_interval_ms > 0)
    j["HealthCheckInterval"] = t.health_interval_ms;
  if (t.health_timeout_ms > 0)
    j["HealthCheckTimeout"] = t.health_timeout_ms;
  if (t.health_retries > 0)
    j["HealthCheckRetries"] = t.health_retries;
  return j;
}

nlohmann::json task_event_to_json(const TaskEvent& e) {
  return {{"State", static_cast<int>(e.state)},
          {"StateName", std::string(task_state_name(e.state))},
          {"Timestamp", format_rfc3339(e.timestamp_ms)},
          {"Reason", e.reason},
          {"Node", e.node}};
}

nlohmann::json node_to_json(const protocol::NodeInfo& n) {
  return {{"ID", n.id},
          {"Name", n.name},
          {"State", n.state},
          {"Version", n.version},
          {"Drivers", n.drivers},
          {"CPU", n.capacity.cpu},
          {"Memory", n.capacity.memory_bytes},
          {"Disk", n.capacity.disk_bytes},
          {"Slots", n.capacity.slots},
          {"Running", n.running},
          {"FreeSlots", n.free_slots},
          {"Labels", n.labels},
          {"LastSeen", format_rfc3339(n.last_seen_ms)},
          {"Allocated",
           {{"CPU", n.allocated.cpu},
            {"Memory", n.allocated.memory_bytes},
            {"Disk", n.allocated.disk_bytes},
            {"Tasks", n.allocated.slots}}},
          {"Stats", n.usage ? node_usage_to_json(*n.usage) : nlohmann::json(nullptr)}};
}

nlohmann::json node_usage_to_json(const protocol::NodeUsage& u) {
  return {{"SampledAt", format_rfc3339(u.sampled_ms)},
          {"CPUUsed", u.cpu_used},
          {"CPUTotal", u.cpu_total},
          {"MemoryUsed", u.memory_used_bytes},
          {"MemoryTotal", u.memory_total_bytes},
          {"DiskUsed", u.disk_used_bytes},
          {"DiskTotal", u.disk_total_bytes},
          {"Load1", u.load_1},
          {"Load5", u.load_5},
          {"Load15", u.load_15},
          {"Running", u.running}};
}

nlohmann::json task_stats_to_json(const protocol::TaskStats& t) {
  return {{"SampledAt", format_rfc3339(t.sampled_ms)},
          {"Attempt", t.attempt},
          {"CPUUsed", t.cpu_used},
          {"Memory", t.memory_bytes}};
}

}  // namespace cube
