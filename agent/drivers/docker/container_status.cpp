#include "agent/drivers/docker/container_status.h"

#include <charconv>
#include <chrono>
#include <utility>

namespace cube::agent {
namespace {

using nlohmann::json;

std::string string_at(const json& j, const char* key) {
  if (!j.is_object())
    return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool bool_at(const json& j, const char* key) {
  if (!j.is_object())
    return false;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// Reads exactly `digits` decimal digits from the front of `s`.
std::optional<int> take_number(std::string_view& s, size_t digits) {
  if (s.size() < digits)
    return std::nullopt;
  int value = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return std::nullopt;
    value = value * 10 + (s[i] - '0');
  }
  s.remove_prefix(digits);
  return value;
}

bool take_char(std::string_view& s, char c) {
  if (s.empty() || s.front() != c)
    return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<int64_t> parse_docker_time_ms(std::string_view s) {
  auto year = take_number(s, 4);
  if (!year || !take_char(s, '-'))
    return std::nullopt;
  auto month = take_number(s, 2);
  if (!month || !take_char(s, '-'))
    return std::nullopt;
  auto day = take_number(s, 2);
  if (!day || !take_char(s, 'T'))
    return std::nullopt;
  auto hour = take_number(s, 2);
  if (!hour || !take_char(s, ':'))
    return std::nullopt;
  auto minute = take_number(s, 2);
  if (!minute || !take_char(s, ':'))
    return std::nullopt;
  auto second = take_number(s, 2);
  if (!second)
    return std::nullopt;
  int64_t millis = 0;
  if (take_char(s, '.')) {
    int digits = 0;
    while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
      if (digits < 3)
        millis = millis * 10 + (s.front() - '0');
      ++digits;
      s.remove_prefix(1);
    }
    if (digits == 0)
      return std::nullopt;
    for (int d = digits; d < 3; ++d)
      millis *= 10;
  }
  int64_t offset_minutes = 0;
  if (take_char(s, 'Z')) {
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    int sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
    auto oh = take_number(s, 2);
    if (!oh || !take_char(s, ':'))
      return std::nullopt;
    auto om = take_number(s, 2);
    if (!om)
      return std::nullopt;
    offset_minutes = sign * (*oh * 60 + *om);
  } else {
    return std::nullopt;
  }
  if (!s.empty())
    return std::nullopt;

  using namespace std::chrono;
  year_month_day date{std::chrono::year(*year), std::chrono::month(static_cast<unsigned>(*month)),
                      std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60)
    return std::nullopt;
  int64_t ms = duration_cast<milliseconds>(sys_days(date).time_since_epoch()).count() +
               ((*hour * 60 + *minute) * 60 + *second - offset_minutes * 60) * 1000LL + millis;
  return ms < 0 ? 0 : ms;
}

std::map<std::string, std::vector<PortBinding>> parse_port_bindings(const json& ports) {
  std::map<std::string, std::vector<PortBinding>> out;
  if (!ports.is_object())
    return out;
  for (const auto& [port, list] : ports.items()) {
    if (!list.is_array())
      continue;  // null: exposed but not published
    std::vector<PortBinding> bindings;
    for (const json& b : list)
      bindings.push_back({string_at(b, "HostIp"), string_at(b, "HostPort")});
    if (!bindings.empty())
      out[port] = std::move(bindings);
  }
  return out;
}

Result<ContainerFacts> parse_container_inspect(const json& inspect) {
  if (!inspect.is_object() || string_at(inspect, "Id").empty())
    return Status::internal("container inspect document has no Id");
  auto state_it = inspect.find("State");
  if (state_it == inspect.end() || !state_it->is_object())
    return Status::internal("container inspect document has no State");
  const json& state = *state_it;

  ContainerFacts f;
  f.id = string_at(inspect, "Id");
  f.name = string_at(inspect, "Name");
  if (f.name.starts_with("/"))
    f.name.erase(0, 1);
  f.status = string_at(state, "Status");
  f.running = bool_at(state, "Running");
  f.oom_killed = bool_at(state, "OOMKilled");
  f.error = string_at(state, "Error");
  f.started_ms = parse_docker_time_ms(string_at(state, "StartedAt")).value_or(0);
  f.finished_ms = parse_docker_time_ms(string_at(state, "FinishedAt")).value_or(0);
  if (!f.running && (f.status == "exited" || f.status == "dead")) {
    if (auto it = state.find("ExitCode"); it != state.end() && it->is_number_integer())
      f.exit_code = it->get<int32_t>();
  }
  if (auto config = inspect.find("Config"); config != inspect.end() && config->is_object()) {
    if (auto labels = config->find("Labels"); labels != config->end() && labels->is_object()) {
      for (const auto& [k, v] : labels->items()) {
        if (v.is_string())
          f.labels[k] = v.get<std::string>();
      }
    }
  }
  if (auto net = inspect.find("NetworkSettings"); net != inspect.end() && net->is_object()) {
    if (auto ports = net->find("Ports"); ports != net->end())
      f.port_bindings = parse_port_bindings(*ports);
  }
  return f;
}

std::optional<TaskExit> container_exit(const ContainerFacts& facts, bool stop_requested) {
  if (facts.running)
    return std::nullopt;
  TaskExit exit;
  exit.stopped_on_request = stop_requested;
  exit.error = facts.error;
  if (!facts.exit_code.has_value()) {
    // "created": create succeeded, start never happened (or failed) and left no exit code.
    exit.kind = TaskExit::Kind::NeverStarted;
    return exit;
  }
  exit.kind = facts.oom_killed ? TaskExit::Kind::OutOfMemory : TaskExit::Kind::Exited;
  exit.exit_code = facts.exit_code;
  return exit;
}

AttemptStatus task_status_from(const ContainerFacts& facts, const std::string& task_id,
                               uint32_t attempt, bool stop_requested) {
  AttemptStatus s;
  s.task_id = task_id;
  s.attempt = attempt;
  s.state = TaskState::Running;
  s.container_id = facts.id;
  s.port_bindings = facts.port_bindings;
  s.start_time_ms = facts.started_ms;
  if (auto exit = container_exit(facts, stop_requested))
    return ended_status(std::move(s), *exit, facts.finished_ms);
  return s;
}

}  // namespace cube::agent
