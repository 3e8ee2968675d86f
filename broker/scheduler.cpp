#include "broker/scheduler.h"

#include <algorithm>
#include <array>

#include "common/units.h"

namespace cube::broker {
namespace {

constexpr std::array<std::pair<Policy, std::string_view>, 5> kPolicyNames = {{
    {Policy::RoundRobin, "roundrobin"},
    {Policy::Greedy, "greedy"},
    {Policy::Epvm, "epvm"},
    {Policy::Binpack, "binpack"},
    {Policy::Spread, "spread"},
}};

// Why a node cannot take a task; the order is the order of the checks.
enum class Misfit { None, Credit, Driver, Constraint, Cpu, Memory, Disk };

bool has_driver(const NodeSnapshot& node, std::string_view driver) {
  if (driver.empty())
    driver = "docker";
  return std::find(node.drivers.begin(), node.drivers.end(), driver) != node.drivers.end();
}

bool matches_constraints(const NodeSnapshot& node, std::span<const std::string> constraints) {
  for (const auto& c : constraints) {
    auto eq = c.find('=');
    std::string key = c.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : c.substr(eq + 1);
    auto it = node.labels.find(key);
    if (it == node.labels.end() || it->second != value)
      return false;
  }
  return true;
}

Misfit check_fit(const NodeSnapshot& node, const Resources& used, uint32_t credit,
                 const TaskRequest& task) {
  if (credit == 0)
    return Misfit::Credit;
  if (!has_driver(node, task.driver))
    return Misfit::Driver;
  if (!matches_constraints(node, task.constraints))
    return Misfit::Constraint;
  const auto& cap = node.capacity;
  if (task.resources.cpu > 0 && cap.cpu > 0 && used.cpu + task.resources.cpu > cap.cpu + 1e-9) {
    return Misfit::Cpu;
  }
  if (task.resources.memory_bytes > 0 && cap.memory_bytes > 0 &&
      used.memory_bytes + task.resources.memory_bytes > cap.memory_bytes) {
    return Misfit::Memory;
  }
  if (task.resources.disk_bytes > 0 && cap.disk_bytes > 0 &&
      used.disk_bytes + task.resources.disk_bytes > cap.disk_bytes) {
    return Misfit::Disk;
  }
  return Misfit::None;
}

std::string describe_misfit(Misfit misfit, const TaskRequest& task,
                            std::span<const NodeSnapshot> nodes) {
  switch (misfit) {
    case Misfit::None:
      break;
    case Misfit::Credit:
      return nodes.empty() ? "no nodes registered" : "no node has a free slot";
    case Misfit::Driver:
      return "no node offers the \"" + std::string(task.driver.empty() ? "docker" : task.driver) +
             "\" driver";
    case Misfit::Constraint:
      return "no node matches the constraints";
    case Misfit::Cpu:
      return "no node has " + std::to_string(task.resources.cpu) + " CPU free";
    case Misfit::Memory:
      return "no node has " + format_size(task.resources.memory_bytes) + " memory free";
    case Misfit::Disk:
      return "no node has " + format_size(task.resources.disk_bytes) + " disk free";
  }
  return "no node fits";
}

}  // namespace

std::string_view policy_name(Policy policy) {
  for (const auto& [p, name] : kPolicyNames) {
    if (p == policy)
      return name;
  }
  return "unknown";
}

std::optional<Policy> policy_from_name(std::string_view name) {
  for (const auto& [p, n] : kPolicyNames) {
    if (n == name)
      return p;
  }
  return std::nullopt;
}

Plan schedule(std::span<const NodeSnapshot> nodes, std::span<const TaskRequest> tasks,
              Policy /*policy*/, size_t cursor) {
  // Round robin over feasible nodes; resource-aware policies arrive with issue 5.
  Plan plan;
  std::vector<Resources> used(nodes.size());
  std::vector<uint32_t> credit(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    used[i] = nodes[i].allocated;
    credit[i] = nodes[i].credit;
  }
  for (size_t t = 0; t < tasks.size(); ++t) {
    const auto& task = tasks[t];
    std::optional<size_t> chosen;
    Misfit worst = Misfit::Credit;
    for (size_t k = 0; k < nodes.size(); ++k) {
      size_t n = (cursor + k) % nodes.size();
      Misfit misfit = check_fit(nodes[n], used[n], credit[n], task);
      if (misfit == Misfit::None) {
        chosen = n;
        break;
      }
      worst = std::max(worst, misfit);
    }
    if (!chosen) {
      plan.unplaced.push_back({t, describe_misfit(worst, task, nodes)});
      continue;
    }
    size_t n = *chosen;
    used[n].cpu += task.resources.cpu;
    used[n].memory_bytes += task.resources.memory_bytes;
    used[n].disk_bytes += task.resources.disk_bytes;
    --credit[n];
    plan.placements.push_back({t, n});
    cursor = (n + 1) % std::max<size_t>(1, nodes.size());
  }
  plan.next_cursor = cursor;
  return plan;
}

}  // namespace cube::broker
