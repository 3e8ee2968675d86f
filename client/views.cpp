#include "client/views.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <map>
#include <sstream>

#include "client/table.h"
#include "common/units.h"
#include "protocol/latency_histogram.h"

namespace cube {
namespace {

// A reason in the list table is a hint; `get` shows it whole. 48 keeps a row with a full UUID
// under about 140 columns.
constexpr size_t kReasonWidth = 48;
// The first block of a UUID identifies an agent among thousands; `nodes -o wide` has it whole.
constexpr size_t kShortIdWidth = 8;

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty())
      out += sep;
    out += item;
  }
  return out;
}

std::string join_labels(const std::map<std::string, std::string>& labels) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : labels)
    parts.push_back(k + "=" + v);
  return join(parts, ",");
}

// The command as a shell user would type it: arguments with blanks or quotes are quoted.
std::string format_command(const std::vector<std::string>& cmd) {
  std::vector<std::string> parts;
  for (const auto& arg : cmd) {
    bool plain = !arg.empty() && arg.find_first_of(" \t\n\"'\\$;&|<>*?") == std::string::npos;
    if (plain) {
      parts.push_back(arg);
      continue;
    }
    std::string quoted = "\"";
    for (char c : arg) {
      if (c == '"' || c == '\\' || c == '$')
        quoted += '\\';
      quoted += c;
    }
    quoted += '"';
    parts.push_back(quoted);
  }
  return join(parts, " ");
}

// "Name:" padded so that values start in one column.
class Fields {
 public:
  void add(const std::string& name, const std::string& value) {
    if (!value.empty())
      lines_.emplace_back(name, value);
  }
  // One line per value, the name only on the first.
  void add_list(const std::string& name, const std::vector<std::string>& values) {
    for (size_t i = 0; i < values.size(); ++i)
      lines_.emplace_back(i == 0 ? name : "", values[i]);
  }
  std::string render() const {
    size_t width = 0;
    for (const auto& [name, value] : lines_)
      width = std::max(width, name.size());
    std::string out;
    for (const auto& [name, value] : lines_) {
      std::string label = name.empty() ? "" : name + ":";
      out += label;
      out.append(width + 1 - label.size() + 2, ' ');
      out += value;
      out += '\n';
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> lines_;
};

}  // namespace

std::string format_local_time(int64_t unix_ms, bool with_millis) {
  if (unix_ms == 0)
    return "-";
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::string out(buf, n);
  if (with_millis) {
    char ms[8];
    std::snprintf(ms, sizeof ms, ".%03d", static_cast<int>(unix_ms % 1000));
    out += ms;
  }
  return out;
}

std::string format_age_since(int64_t unix_ms, SystemTime now) {
  if (unix_ms == 0)
    return "-";
  return format_age(Millis(to_unix_ms(now) - unix_ms));
}

std::string format_cpu(double cores) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", cores);
  std::string s = buf;
  while (!s.empty() && s.back() == '0')
    s.pop_back();
  if (!s.empty() && s.back() == '.')
    s.pop_back();
  return s;
}

std::string format_load(double one, double five, double fifteen) {
  auto two_decimals = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    std::string s = buf;
    while (!s.empty() && s.back() == '0')
      s.pop_back();
    if (!s.empty() && s.back() == '.')
      s.pop_back();
    return s;
  };
  return two_decimals(one) + " " + two_decimals(five) + " " + two_decimals(fifteen);
}

std::string format_resources(double cpu, int64_t memory_bytes, int64_t disk_bytes) {
  return (cpu > 0 ? format_cpu(cpu) + " CPU" : "-") + ", " +
         (memory_bytes > 0 ? format_size(memory_bytes) : "-") + ", " +
         (disk_bytes > 0 ? format_size(disk_bytes) : "-");
}

std::vector<std::string> format_ports(const Task& task) {
  std::vector<std::string> out;
  for (const auto& port : task.exposed_ports) {
    // Docker keys bindings by "80/tcp"; a bare "80" in the spec means tcp.
    std::string key = port.find('/') == std::string::npos ? port + "/tcp" : port;
    auto it = task.port_bindings.find(key);
    if (it == task.port_bindings.end())
      it = task.port_bindings.find(port);
    if (it == task.port_bindings.end() || it->second.empty()) {
      out.push_back(key);
      continue;
    }
    for (const auto& b : it->second) {
      std::string ip = b.host_ip.empty() ? "0.0.0.0" : b.host_ip;
      out.push_back(key + " -> " + ip + ":" + b.host_port);
    }
  }
  // Bindings for ports the spec did not list (a TaskEvent re-submitted with PortBindings).
  for (const auto& entry : task.port_bindings) {
    const std::string& key = entry.first;
    bool listed = std::any_of(task.exposed_ports.begin(), task.exposed_ports.end(),
                              [&](const std::string& p) { return p == key || p + "/tcp" == key; });
    if (listed)
      continue;
    for (const auto& b : entry.second) {
      std::string ip = b.host_ip.empty() ? "0.0.0.0" : b.host_ip;
      out.push_back(key + " -> " + ip + ":" + b.host_port);
    }
  }
  return out;
}

std::string render_task_table(const std::vector<Task>& tasks, SystemTime now, bool wide) {
  auto shows_reason = [wide](const Task& t) {
    if (t.reason.empty())
      return false;
    return wide || t.state == TaskState::Pending || t.state == TaskState::Failed;
  };
  bool any_reason = std::any_of(tasks.begin(), tasks.end(), shows_reason);
  // Only when a service's replica is listed, so plain task lists keep their columns.
  bool any_service =
      std::any_of(tasks.begin(), tasks.end(), [](const Task& t) { return !t.service.empty(); });
  std::vector<std::string> headers = {"ID", "NAME", "STATE", "NODE", "AGE"};
  if (any_service) {
    headers.emplace_back("SERVICE");
    headers.emplace_back("SLOT");
  }
  if (wide) {
    for (const char* h : {"IMAGE", "DRIVER", "CPU", "MEMORY", "RESTARTS", "PORTS"})
      headers.emplace_back(h);
  }
  if (any_reason)
    headers.emplace_back("REASON");
  Table table(headers);
  for (const auto& t : tasks) {
    std::vector<std::string> row = {t.id, or_dash(t.name), std::string(task_state_name(t.state)),
                                    or_dash(t.node), format_age_since(t.created_ms, now)};
    if (any_service) {
      row.push_back(or_dash(t.service));
      row.push_back(t.service.empty() ? "-" : std::to_string(t.slot));
    }
    if (wide) {
      row.push_back(or_dash(t.image));
      row.push_back(t.driver.empty() ? std::string(kDriverDocker) : t.driver);
      row.push_back(t.cpu > 0 ? format_cpu(t.cpu) : "-");
      row.push_back(t.memory_bytes > 0 ? format_size(t.memory_bytes) : "-");
      row.push_back(std::to_string(t.restart_count));
      row.push_back(or_dash(join(format_ports(t), ",")));
    }
    if (any_reason)
      row.push_back(shows_reason(t) ? (wide ? t.reason : shorten(t.reason, kReasonWidth)) : "");
    table.add_row(std::move(row));
  }
  return table.render();
}

std::string update_summary(const Service& s) {
  const std::string& state = s.update_state;
  std::string said = state == kUpdateStatePaused              ? "update paused"
                     : state == kUpdateStateRollbackStarted   ? "rolling back"
                     : state == kUpdateStateRollbackPaused    ? "rollback paused"
                     : state == kUpdateStateRollbackCompleted ? "rolled back"
                     : state == kUpdateStateUpdating          ? "updating"
                     : state == kUpdateStateCompleted         ? "update completed"
                                                              : state;
  if (said.empty())
    return "-";
  return s.update_message.empty() ? said : said + ": " + s.update_message;
}

std::string render_service_table(const std::vector<protocol::ServiceInfo>& services) {
  Table table({"NAME", "REPLICAS", "IMAGE", "VERSION", "UPDATE"});
  for (const auto& info : services) {
    const Service& s = info.service;
    const Task& t = s.task_template;
    std::string what = !t.image.empty() ? t.image : join(t.cmd, " ");
    table.add_row({s.name, std::to_string(info.running) + "/" + std::to_string(s.replicas),
                   or_dash(shorten(what, kReasonWidth)), std::to_string(s.version),
                   shorten(update_summary(s), kReasonWidth)});
  }
  return table.render();
}

std::string render_service_tasks(const std::vector<Task>& tasks, SystemTime now) {
  Table table({"SLOT", "NAME", "ID", "STATE", "DESIRED", "NODE", "VERSION", "AGE", "REASON"});
  for (const auto& t : tasks) {
    table.add_row({std::to_string(t.slot), or_dash(t.name), t.id,
                   std::string(task_state_name(t.state)),
                   std::string(task_state_name(t.desired_state)), or_dash(t.node),
                   std::to_string(t.service_version), format_age_since(t.created_ms, now),
                   shorten(t.reason, kReasonWidth)});
  }
  return table.render();
}

std::string render_service_details(const ServiceDetails& details, SystemTime now) {
  const Service& s = details.info.service;
  const Task& t = s.task_template;
  Fields f;
  f.add("Name", s.name);
  f.add("Replicas", std::to_string(details.info.running) + " running / " +
                        std::to_string(s.replicas) + " desired (" +
                        std::to_string(details.info.tasks) + " tasks not ended)");
  f.add("Version",
        std::to_string(s.version) + " (template " + std::to_string(s.template_version) + ")");
  f.add("Created", format_local_time(s.created_ms));
  f.add("Updated", format_local_time(s.updated_ms));
  f.add("Driver", t.driver);
  f.add("Image", t.image);
  f.add("Cmd", join(t.cmd, " "));
  f.add("Restart", t.restart_policy);
  if (t.cpu > 0 || t.memory_bytes > 0 || t.disk_bytes > 0)
    f.add("Resources", format_resources(t.cpu, t.memory_bytes, t.disk_bytes));
  f.add("Ports", join(t.exposed_ports, ", "));
  f.add("Constraints", join(t.constraints, ", "));
  f.add("HealthCheck", t.health_check);
  const UpdatePolicy& u = s.update;
  f.add("UpdateConfig", "parallelism " + std::to_string(u.parallelism) + ", delay " +
                            format_age(Millis(u.delay_ms)) + ", monitor " +
                            format_age(Millis(u.monitor_ms)) + ", on failure " + u.failure_action +
                            ", order " + u.order);
  f.add("UpdateStatus", s.update_state.empty() ? "" : update_summary(s));
  if (!s.update_state.empty() && s.update_started_ms != 0) {
    f.add("UpdateStarted", format_local_time(s.update_started_ms));
    if (s.update_completed_ms != 0)
      f.add("UpdateEnded", format_local_time(s.update_completed_ms));
  }
  if (s.previous_template_version != 0)
    f.add("Previous", "template " + std::to_string(s.previous_template_version) +
                          " (service rollback returns to it)");
  std::string out = f.render();
  out += "\nTasks:\n";
  out += render_service_tasks(details.tasks, now);
  return out;
}

std::string render_task_details(const TaskDetails& details, SystemTime now) {
  const Task& t = details.task;
  Fields f;
  f.add("ID", t.id);
  f.add("Name", t.name);
  std::string state(task_state_name(t.state));
  if (t.desired_state != TaskState::Running && t.desired_state != t.state)
    state += " (stop requested)";
  f.add("State", state);
  f.add("Reason", t.reason);
  if (!t.node.empty() || !t.node_id.empty()) {
    std::string node = t.node.empty() ? t.node_id : t.node;
    if (!t.node.empty() && !t.node_id.empty())
      node += " (" + t.node_id + ")";
    f.add("Node", node);
  }
  f.add("Image", t.image);
  f.add("Driver", t.driver.empty() ? std::string(kDriverDocker) : t.driver);
  f.add("Command", format_command(t.cmd));
  f.add_list("Env", t.env);
  if (t.cpu > 0)
    f.add("CPU", format_cpu(t.cpu) + " cores");
  if (t.memory_bytes > 0)
    f.add("Memory", format_size(t.memory_bytes));
  if (t.disk_bytes > 0)
    f.add("Disk", format_size(t.disk_bytes));
  if (t.duration_ms > 0)
    f.add("Duration", std::to_string(t.duration_ms) + " ms");
  if (details.stats) {
    // Live figures are estimates: two decimals of a core are plenty.
    f.add("Usage", format_cpu(std::round(details.stats->cpu_used * 100) / 100) + " CPU, " +
                       format_size(details.stats->memory_bytes) + " (" +
                       format_age_since(details.stats->sampled_ms, now) + " ago)");
  }
  f.add_list("Ports", format_ports(t));
  std::string restart = t.restart_policy.empty() ? "no" : t.restart_policy;
  restart += " (restarted " + std::to_string(t.restart_count) +
             (t.restart_count == 1 ? " time)" : " times)");
  f.add("Restart", restart);
  std::string health = t.health_check;
  if (!health.empty() &&
      (t.health_interval_ms > 0 || t.health_timeout_ms > 0 || t.health_retries > 0)) {
    // Only what the task sets; the rest is the agent's default.
    std::vector<std::string> settings;
    if (t.health_interval_ms > 0)
      settings.push_back("every " + std::to_string(t.health_interval_ms) + " ms");
    if (t.health_timeout_ms > 0)
      settings.push_back("timeout " + std::to_string(t.health_timeout_ms) + " ms");
    if (t.health_retries > 0)
      settings.push_back(std::to_string(t.health_retries) + " failures fail it");
    health += " (" + join(settings, ", ") + ")";
  }
  f.add("Health check", health);
  f.add("Constraints", join(t.constraints, ", "));
  f.add("Labels", join_labels(t.labels));
  f.add("Container", t.container_id);
  if (t.attempt > 0)
    f.add("Attempt", std::to_string(t.attempt));
  if (t.exit_code)
    f.add("Exit code", std::to_string(*t.exit_code));
  if (t.created_ms != 0)
    f.add("Created",
          format_local_time(t.created_ms) + " (" + format_age_since(t.created_ms, now) + " ago)");
  if (t.start_time_ms != 0)
    f.add("Started", format_local_time(t.start_time_ms));
  if (t.finish_time_ms != 0)
    f.add("Finished", format_local_time(t.finish_time_ms));

  std::string out = f.render();
  out += "\nEvents:\n";
  if (details.events.empty()) {
    out += "  (none)\n";
    return out;
  }
  Table events({"TIME", "STATE", "NODE", "REASON"});
  for (const auto& e : details.events) {
    events.add_row({format_local_time(e.timestamp_ms, /*with_millis=*/true),
                    std::string(task_state_name(e.state)), or_dash(e.node), e.reason});
  }
  std::istringstream lines(events.render());
  for (std::string line; std::getline(lines, line);)
    out += "  " + line + "\n";
  return out;
}

namespace {

// A node's live figures as the node views print them ("-" before its first sample).
struct NodeUsageText {
  std::string cpu = "-", memory = "-", disk = "-", load = "-";
};

NodeUsageText usage_text(const std::optional<protocol::NodeUsage>& usage) {
  NodeUsageText text;
  if (!usage)
    return text;
  const protocol::NodeUsage& u = *usage;
  // Live figures are estimates: two decimals of a core are plenty.
  text.cpu = format_cpu(std::round(u.cpu_used * 100) / 100) + "/" + format_cpu(u.cpu_total);
  text.memory = format_size(u.memory_used_bytes) + "/" + format_size(u.memory_total_bytes);
  text.disk = format_size(u.disk_used_bytes) + "/" + format_size(u.disk_total_bytes);
  text.load = format_load(u.load_1, u.load_5, u.load_15);
  return text;
}

}  // namespace

std::string render_node_details(const protocol::NodeInfo& n, const std::vector<Task>& tasks,
                                SystemTime now) {
  Fields f;
  f.add("Name", or_dash(n.name));
  f.add("ID", n.id);
  f.add("State", or_dash(n.state));
  f.add("Version", n.version);
  f.add("Drivers", join(n.drivers, ", "));
  f.add("Labels", join_labels(n.labels));
  if (n.last_seen_ms != 0)
    f.add("Last seen", format_age_since(n.last_seen_ms, now) + " ago (" +
                           format_local_time(n.last_seen_ms) + ")");
  f.add("Tasks", std::to_string(n.running) + " running of " + std::to_string(n.capacity.slots) +
                     " slots (" + std::to_string(n.free_slots) + " free)");
  f.add("Capacity",
        format_resources(n.capacity.cpu, n.capacity.memory_bytes, n.capacity.disk_bytes));
  f.add("Allocated",
        format_resources(n.allocated.cpu, n.allocated.memory_bytes, n.allocated.disk_bytes));
  if (n.usage) {
    NodeUsageText usage = usage_text(n.usage);
    f.add("CPU busy", usage.cpu + " cores");
    f.add("Memory used", usage.memory);
    f.add("Disk used", usage.disk);
    f.add("Load", usage.load);
    f.add("Sampled", format_age_since(n.usage->sampled_ms, now) + " ago");
  } else {
    f.add("Usage", "no stats from the agent yet");
  }
  std::string out = f.render();
  out += "\n";
  if (tasks.empty())
    return out + "No tasks on this node.\n";
  return out + render_task_table(tasks, now, false);
}

std::string render_node_table(const std::vector<protocol::NodeInfo>& nodes, SystemTime now,
                              bool wide) {
  std::vector<std::string> headers = {"NAME",   "ID",   "STATE", "TASKS",  "CPU",
                                      "MEMORY", "DISK", "LOAD",  "LABELS", "LAST SEEN"};
  if (wide) {
    for (const char* h : {"DRIVERS", "CAPACITY", "ALLOCATED", "VERSION"})
      headers.emplace_back(h);
  }
  Table table(headers);
  for (const auto& n : nodes) {
    std::string seen = n.last_seen_ms == 0 ? "-" : format_age_since(n.last_seen_ms, now) + " ago";
    NodeUsageText usage = usage_text(n.usage);
    std::vector<std::string> row = {
        or_dash(n.name),
        wide ? n.id : n.id.substr(0, kShortIdWidth),
        or_dash(n.state),
        std::to_string(n.running) + "/" + std::to_string(n.capacity.slots),
        usage.cpu,
        usage.memory,
        usage.disk,
        usage.load,
        or_dash(join_labels(n.labels)),
        seen,
    };
    if (wide) {
      row.push_back(or_dash(join(n.drivers, ",")));
      row.push_back(
          format_resources(n.capacity.cpu, n.capacity.memory_bytes, n.capacity.disk_bytes));
      row.push_back(
          format_resources(n.allocated.cpu, n.allocated.memory_bytes, n.allocated.disk_bytes));
      row.push_back(or_dash(n.version));
    }
    table.add_row(std::move(row));
  }
  return table.render();
}

namespace {

// "250 µs", "2.5 ms", "10 s"; INT64_MAX (the +Inf bucket) says so.
std::string format_bound_us(int64_t us) {
  if (us == std::numeric_limits<int64_t>::max())
    return "more than the last bucket";
  auto trimmed = [](double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  if (us < 1000)
    return std::to_string(us) + " µs";
  if (us < 1'000'000)
    return trimmed(static_cast<double>(us) / 1000) + " ms";
  return trimmed(static_cast<double>(us) / 1'000'000) + " s";
}

// "p99 <= 2.5 ms over 1234 commits" from histogram `name` in the counters; "" when the broker
// exports no such histogram or it is empty.
std::string p99_line(const protocol::BrokerStatus& s, std::string_view name,
                     std::string_view what) {
  auto histogram = protocol::LatencyHistogram::import_from(name, s.counters);
  if (!histogram)
    return "";
  auto p99 = histogram->quantile_upper_bound_us(0.99);
  if (!p99)
    return "none yet";
  return "p99 <= " + format_bound_us(*p99) + " over " + std::to_string(histogram->count()) + " " +
         std::string(what);
}

// "3 Running, 1 Failed": the counts that are not zero, the names in `order` first, then any
// other (a newer broker's).
template <typename Count>
std::string counts_line(const std::map<std::string, Count>& counts,
                        const std::vector<std::string>& order) {
  std::vector<std::string> parts;
  auto add = [&](const std::string& name, Count count) {
    if (count > 0)
      parts.push_back(std::to_string(count) + " " + name);
  };
  for (const std::string& name : order) {
    if (auto it = counts.find(name); it != counts.end())
      add(name, it->second);
  }
  for (const auto& [name, count] : counts) {
    if (std::find(order.begin(), order.end(), name) == order.end())
      add(name, count);
  }
  return join(parts, ", ");
}

// "3 ready, 1 lost (4 total)" from nodes_by_state; from the older ready/total counts otherwise.
std::string nodes_line(const protocol::BrokerStatus& s) {
  if (s.nodes_by_state.empty() || s.nodes_total == 0)
    return std::to_string(s.nodes_ready) + " ready / " + std::to_string(s.nodes_total) + " total";
  return counts_line(s.nodes_by_state, {"ready", "suspect", "lost"}) + " (" +
         std::to_string(s.nodes_total) + " total)";
}

// "4 total: 1 Pending, 3 Running", the states in their numeric order.
std::string tasks_line(const protocol::BrokerStatus& s) {
  uint64_t total = 0;
  for (const auto& [name, count] : s.tasks_by_state)
    total += count;
  std::vector<std::string> order;
  for (int i = 0; i < kTaskStateCount; ++i)
    order.emplace_back(task_state_name(static_cast<TaskState>(i)));
  std::string line = std::to_string(total) + " total";
  if (total > 0)
    line += ": " + counts_line(s.tasks_by_state, order);
  return line;
}

}  // namespace

std::string render_broker_status(const protocol::BrokerStatus& s, const std::string& address,
                                 SystemTime now, bool with_counters) {
  Fields f;
  // A broker older than the field, or alone on its store, leads.
  f.add("Broker", address);
  f.add("Role", s.role.empty() ? "leader" : s.role);
  if (!s.leader.empty())
    f.add("Leader", s.leader);
  if (!s.standbys.empty())
    f.add("Standbys", join(s.standbys, ", "));
  f.add("Version", or_dash(s.version));
  if (s.started_ms != 0) {
    f.add("Uptime",
          format_age_since(s.started_ms, now) + " (since " + format_local_time(s.started_ms) + ")");
  }
  f.add("Store", s.store);
  f.add("Scheduler", s.scheduler);
  f.add("Nodes", nodes_line(s));
  f.add("Tasks", tasks_line(s));
  f.add("Placements", p99_line(s, protocol::kSchedulingLatency, "placements"));
  f.add("Store commits", p99_line(s, protocol::kStoreCommitLatency, "commits"));
  // Under CURVE the broker counts the connections its allowlists refused (zap.* counters).
  if (auto agents = s.counters.find("zap.refused.agents"); agents != s.counters.end()) {
    auto clients = s.counters.find("zap.refused.clients");
    f.add("Refused keys", std::to_string(agents->second) + " agent / " +
                              std::to_string(clients == s.counters.end() ? 0 : clients->second) +
                              " client connections (not in the authorized keys)");
  }
  f.add("Epoch", s.epoch);
  std::string out = f.render();
  if (!with_counters || s.counters.empty())
    return out;
  out += "\nCounters:\n";
  Table counters({"NAME", "VALUE"});
  for (const auto& [name, value] : s.counters)
    counters.add_row({name, std::to_string(value)});
  std::istringstream lines(counters.render());
  for (std::string line; std::getline(lines, line);)
    out += "  " + line + "\n";
  return out;
}

}  // namespace cube
