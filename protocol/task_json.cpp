#include "protocol/task_json.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <limits>
#include <optional>

#include "common/units.h"
#include "protocol/wire_fields.h"

namespace cube {
namespace {

using nlohmann::json;
using protocol::FieldRole;
using protocol::for_each_field;
using protocol::JsonForm;
using protocol::kForeignJsonFields;

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

}  // namespace

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

namespace {

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

// --- One field from JSON, by its C++ type and JsonForm (protocol/wire_fields.h) ---

Status read_json(std::string_view field, JsonForm, const json& v, std::string& out) {
  return read_string(field, v, out);
}

Status read_json(std::string_view field, JsonForm form, const json& v,
                 std::vector<std::string>& out) {
  if (form == JsonForm::Ports && v.is_object()) {
    out.clear();
    for (const auto& [port, ignored] : v.items())
      out.push_back(port);
    return Status::ok();
  }
  if (form == JsonForm::Ports && !v.is_array() && !v.is_null())
    return field_error(
        field, std::string("expected an object like {\"80/tcp\": {}}, got ") + json_type(v));
  return read_string_list(field, v, out);
}

Status read_json(std::string_view field, JsonForm, const json& v, double& out) {
  if (v.is_number()) {
    out = v.get<double>();
  } else if (!v.is_null()) {
    return field_error(field, std::string("expected a number of cores, got ") + json_type(v));
  }
  return Status::ok();
}

Status read_json(std::string_view field, JsonForm form, const json& v, int64_t& out) {
  if (form == JsonForm::Duration)
    return read_duration_ms(field, v, out);
  return read_size(field, v, out);
}

Status read_json(std::string_view field, JsonForm, const json& v, int32_t& out) {
  if (v.is_number_integer()) {
    int64_t n = v.get<int64_t>();
    if (n < 0 || n > std::numeric_limits<int32_t>::max())
      return field_error(field, v.dump() + " is out of range");
    out = static_cast<int32_t>(n);
  } else if (!v.is_null()) {
    return field_error(field, std::string("expected a whole number, got ") + json_type(v));
  }
  return Status::ok();
}

Status read_json(std::string_view field, JsonForm, const json& v,
                 std::map<std::string, std::string>& out) {
  if (v.is_object()) {
    for (const auto& [k, lv] : v.items()) {
      if (!lv.is_string())
        return field_error(field, "values must be strings");
      out[k] = lv.get<std::string>();
    }
  } else if (!v.is_null()) {
    return field_error(field, std::string("expected an object of strings, got ") + json_type(v));
  }
  return Status::ok();
}

// Status fields are never read from JSON (read_task ignores them); the overload exists so the
// table can be walked with one generic call.
template <typename T>
Status read_json(std::string_view field, JsonForm, const json&, T&) {
  return Status::internal("field \"" + std::string(field) + "\" is not read from JSON");
}

// Reads the task object itself; `state_out` receives a State field when present.
Status read_task(const json& body, Task& task, std::optional<TaskState>& state_out) {
  if (!body.is_object()) {
    return Status::invalid(std::string("a task must be a JSON object, got ") + json_type(body));
  }
  // Not a structured binding: clang before 16 cannot capture one in the lambda below.
  for (const auto& item : body.items()) {
    const std::string& key = item.key();
    const json& v = item.value();
    if (key == "State") {
      // On input a State is the desired state, as in the prior orchestrators (3 stops the task).
      TaskState state = TaskState::Running;
      CUBE_RETURN_IF_ERROR(read_state(key, v, state));
      if (!v.is_null())
        state_out = state;
      continue;
    }
    bool known = false;
    Status s;
    for_each_field<Task>([&](const auto& f) {
      if (known || key != f.json)
        return;
      known = true;
      if (f.role == FieldRole::Spec)
        s = read_json(f.json, f.form, v, task.*f.member);
    });
    CUBE_RETURN_IF_ERROR(s);
    if (!known && std::find(std::begin(kForeignJsonFields), std::end(kForeignJsonFields), key) ==
                      std::end(kForeignJsonFields)) {
      return Status::invalid("unknown field \"" + key + "\" in task");
    }
  }
  return Status::ok();
}

// --- One field to JSON ---

json to_json(JsonForm form, const std::vector<std::string>& v) {
  if (form != JsonForm::Ports)
    return v;
  json exposed = json::object();
  for (const auto& p : v)
    exposed[p] = json::object();
  return exposed;
}

json to_json(JsonForm form, int64_t v) {
  if (form == JsonForm::Time)
    return format_rfc3339(v);
  return v;
}

json to_json(JsonForm, TaskState v) {
  return static_cast<int>(v);
}

json to_json(JsonForm, const std::optional<int32_t>& v) {
  return v ? json(*v) : json(nullptr);
}

json to_json(JsonForm, const std::map<std::string, std::vector<PortBinding>>& v) {
  json bindings = json::object();
  for (const auto& [port, list] : v) {
    json arr = json::array();
    for (const auto& b : list)
      arr.push_back({{"HostIp", b.host_ip}, {"HostPort", b.host_port}});
    bindings[port] = arr;
  }
  return bindings;
}

// Strings, numbers and label maps as themselves.
template <typename T>
json to_json(JsonForm, const T& v) {
  return v;
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

std::string TaskList::where(size_t index) const {
  switch (form) {
    case Form::Single:
      return "the task";
    case Form::Array:
      return "task #" + std::to_string(index);
    case Form::Lines:
      return "line " + std::to_string(index < lines.size() ? lines[index] : 0);
  }
  return {};
}

namespace {

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Calls each(line, number) for every line of `text` (numbered from 1, without its "\n" or
// "\r\n") until it returns a non-OK Status, which is returned.
template <typename Each>
Status for_each_line(std::string_view text, Each each) {
  size_t number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.ends_with('\r'))
      line.remove_suffix(1);
    CUBE_RETURN_IF_ERROR(each(line, ++number));
  }
  return Status::ok();
}

// NDJSON: a first non-blank line that parses on its own, and more after it. A task spread over
// several lines (a pretty-printed object) fails the first test.
bool looks_like_lines(std::string_view text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end == std::string_view::npos ? end : end - start);
    if (!is_blank(line)) {
      return end != std::string_view::npos && !is_blank(text.substr(end)) &&
             json::accept(line.begin(), line.end());
    }
    if (end == std::string_view::npos)
      return false;
    start = end + 1;
  }
  return false;
}

}  // namespace

Result<TaskList> tasks_from_json_text(std::string_view text) {
  TaskList list;
  json body = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (body.is_array()) {
    list.form = TaskList::Form::Array;
    list.tasks.reserve(body.size());
    for (size_t i = 0; i < body.size(); ++i) {
      auto task = task_from_json(body[i]);
      if (!task)
        return task.status().with_context(list.where(i));
      list.tasks.push_back(std::move(*task));
    }
    return list;
  }
  if (body.is_discarded() && looks_like_lines(text)) {
    list.form = TaskList::Form::Lines;
    Status parsed = for_each_line(text, [&](std::string_view line, size_t number) {
      if (is_blank(line))
        return Status::ok();
      auto task = task_from_json_text(line);
      if (!task)
        return task.status().with_context("line " + std::to_string(number));
      list.tasks.push_back(std::move(*task));
      list.lines.push_back(number);
      return Status::ok();
    });
    CUBE_RETURN_IF_ERROR(parsed);
    return list;
  }
  // One task, or text that is none of the three: its error says where parsing it as one breaks.
  auto task = body.is_discarded() ? task_from_json_text(text) : task_from_json(body);
  if (!task)
    return task.status();
  list.tasks.push_back(std::move(*task));
  return list;
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

namespace {

// The task's fields in `role` (every field when nullopt) as the prior orchestrators print them.
json fields_to_json(const Task& t, std::optional<FieldRole> role) {
  static const Task kDefault{};
  json j = json::object();
  for_each_field<Task>([&](const auto& f) {
    if (role && f.role != *role)
      return;
    if (f.json_omits_default && t.*f.member == kDefault.*f.member)
      return;  // Cube's own optional settings: tasks without them print as the prior ones'
    j[std::string(f.json)] = to_json(f.form, t.*f.member);
  });
  return j;
}

}  // namespace

nlohmann::json task_to_json(const Task& t) {
  return fields_to_json(t, std::nullopt);
}

nlohmann::json task_spec_to_json(const TaskSpec& spec) {
  Task t;
  static_cast<TaskSpec&>(t) = spec;
  return fields_to_json(t, FieldRole::Spec);
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
