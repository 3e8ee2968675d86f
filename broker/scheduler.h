// Placement as a pure function: (nodes as the broker sees them, pending tasks, policy) -> plan.
// No I/O, no clock, no logging, no randomness, no locks: everything it needs is an argument and
// everything it decides is in the returned Plan, so it is tested with tables and benchmarked on
// its own. broker/plan_apply applies a plan (re-checks credit, sends ASSIGN).
//
// Feasibility first, then score (as in Nomad's scheduler): a node is feasible for a task when
// it has credit left, offers the task's driver, has the task's CPU, memory and disk free after
// what is already allocated there *including earlier placements of this same plan*, and has
// every label the task's constraints ask for. Among feasible nodes the policy picks one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/messages.h"

namespace cube::broker {

enum class Policy { RoundRobin, Greedy, Epvm, Binpack, Spread };

// "roundrobin", "greedy", "epvm", "binpack", "spread".
std::string_view policy_name(Policy policy);
std::optional<Policy> policy_from_name(std::string_view name);

struct Resources {
  double cpu = 0;  // cores
  int64_t memory_bytes = 0;
  int64_t disk_bytes = 0;
  friend bool operator==(const Resources&, const Resources&) = default;
};

// One agent as the scheduler sees it. `allocated` is what the broker has placed there (tasks
// Scheduled or Running), not a stats sample.
struct NodeSnapshot {
  std::string id;
  std::string name;
  std::vector<std::string> drivers;
  protocol::Capacity capacity;  // capacity.cpu/memory/disk of 0 mean "not declared": unlimited
  Resources allocated;
  uint32_t credit = 0;  // assignments the broker may still send
  std::map<std::string, std::string> labels;
};

struct TaskRequest {
  std::string_view id;
  std::string_view driver;  // empty = docker
  Resources resources;
  std::span<const std::string> constraints;  // "key=value"
};

struct Placement {
  size_t task = 0;  // index into the tasks span
  size_t node = 0;  // index into the nodes span
  friend bool operator==(const Placement&, const Placement&) = default;
};

struct Unplaced {
  size_t task = 0;
  std::string reason;  // "no node has 600 MiB memory free (best: a1 with 424 MiB)"
  friend bool operator==(const Unplaced&, const Unplaced&) = default;
};

struct Plan {
  std::vector<Placement> placements;  // in task order
  std::vector<Unplaced> unplaced;
  size_t next_cursor = 0;  // roundrobin's position, to pass back in on the next call
};

// Places `tasks` in order (first come first served). A task that fits nowhere is Unplaced with
// the reason of the dimension that excluded the most nodes; later tasks are still considered,
// except that once a task is unplaced for lack of resources, later tasks needing at least as
// much of that resource are not placed ahead of it (so a big task is not starved by a stream of
// small ones that keep taking the space it waits for).
Plan schedule(std::span<const NodeSnapshot> nodes, std::span<const TaskRequest> tasks,
              Policy policy, size_t cursor = 0);

}  // namespace cube::broker
