// Placement as a pure function: (nodes as the broker sees them, pending tasks, policy) -> plan.
// No I/O, no clock, no logging, no randomness, no locks: everything it needs is an argument and
// everything it decides is in the returned Plan, so it is tested with tables and benchmarked on
// its own. broker/plan_apply applies a plan (re-checks credit, sends ASSIGN).
//
// Feasibility first, then score (as in Nomad's scheduler): a node is feasible for a task when
//   - it offers the task's driver (a task without one asks for "docker");
//   - its labels satisfy every constraint of the task: "key=value" needs the label `key` with
//     exactly `value`; "key!=value" needs the label to be absent or different;
//   - it has the task's CPU, memory and disk free after what is already allocated there
//     *including earlier placements of this same plan*. A capacity of 0 in a dimension means the
//     agent did not declare it: that dimension is unlimited on that node (never a misfit;
//     binpack and spread count it as free, greedy as unloaded, epvm adds no cost for it). A
//     request of 0 always fits, even on a node already over its capacity;
//   - it has credit left (each placement of the plan uses one);
//   - it is not held for an earlier pending task (see "No starvation" below).
// Among feasible nodes the policy picks one; ties go to the lowest node index, so the same
// input always gives the same plan.
//
// Spread groups (a service's replicas): a task in a group goes, whatever the policy, to a
// feasible node holding the fewest tasks of its group (those already there, given per node,
// plus this plan's placements), so one per node while there are enough nodes, then evenly;
// among those nodes, the first at or after the cursor (which then moves past it), so that
// groups of a few tasks each do not all start on the same node. A group never keeps a task
// off a node that is the only one it fits: the fewest is counted over feasible nodes. Cost:
// amortised O(1) a placement while the group's nodes fit, a scan of the nodes when the
// fewest level is used up.
//
// Policies (one file each, broker/policy_*.cpp):
//   roundrobin  the first feasible node at or after the cursor; the cursor then moves past it.
//   greedy      the least loaded node: lowest allocated CPU fraction, then memory fraction.
//   epvm        the lowest E-PVM marginal cost (the prior orchestrators' scheduler, with a real
//               CPU term and allocations counted): sum over CPU, memory, disk and slots of
//               LIEB^(load after) - LIEB^(load before).
//   binpack     Nomad's ScoreFitBinPack: the fullest node (CPU and memory) that still fits.
//   spread      Nomad's ScoreFitSpread: the emptiest node.
//
// No starvation (tasks are taken first come, first served, so pass them oldest first):
// when a task cannot be placed for lack of CPU, memory or disk, and some node that offers its
// driver and matches its constraints could hold it once emptied, the scheduler *holds* for it
// the node it is closest to fitting on (smallest shortfall relative to capacity, then lowest
// index). Later tasks in the same call are not placed on a held node. Since the task comes
// before every younger task again on the next call, nothing younger is placed where it waits:
// as tasks there finish, that node's room only grows, the smallest shortfall never grows from
// one call to the next (the hold may move, but only to a node at least as close), and the task
// is placed once enough has finished. Each blocked task holds at most one node, never one
// already held for an older task; a task that no node could take even when empty holds
// nothing, so an impossible task blocks no one. A task blocked only by credit holds nothing
// either: it comes first again when credit returns.
//
// Performance (bench/placement_bench): driver and constraints are resolved once per call for
// each distinct (driver, constraints) pair (a selector), and the scored policies keep, per
// distinct task shape (driver, constraints, resources) with several tasks, a heap of nodes that
// is updated only for the nodes the plan changes: O(log nodes) a placement. Shapes with few
// tasks each (all-different requests) would pay a scan of the nodes per task for their heap;
// under binpack and spread, whose scores are monotone in a node's capacity and use, they ask
// their selector's NodeTree instead (broker/node_tree.h: bounds of groups of nodes, searched
// branch-and-bound, exactly the scan's answer). Tasks that fit nowhere cost a scan of the nodes
// for their reason, shared by the following tasks of the same shape.
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

// The policy used when none is configured.
inline constexpr Policy kDefaultPolicy = Policy::Binpack;

// "roundrobin", "greedy", "epvm", "binpack", "spread"; "unknown" for a value outside the enum.
std::string_view policy_name(Policy policy);
// The policy called `name` (exact, lower case), or nullopt for any other text.
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
  std::string name;  // used in reasons; the id when empty
  std::vector<std::string> drivers;
  // capacity.cpu/memory/disk of 0 mean "not declared": unlimited. capacity.slots is only used
  // by epvm (its "jobs" load is (slots - credit) / slots); credit is what limits placements.
  protocol::Capacity capacity;
  Resources allocated;
  uint32_t credit = 0;  // assignments the broker may still send
  std::map<std::string, std::string> labels;
};

inline constexpr uint32_t kNoSpreadGroup = UINT32_MAX;

struct TaskRequest {
  std::string_view id;
  std::string_view driver;  // empty = docker
  Resources resources;
  std::span<const std::string> constraints;  // "key=value" or "key!=value"
  uint32_t spread_group = kNoSpreadGroup;    // index into schedule()'s groups
};

// The tasks of a spread group already on each node (indexed like the nodes span; empty: none
// anywhere).
struct SpreadGroup {
  std::vector<uint32_t> per_node;
};

struct Placement {
  size_t task = 0;  // index into the tasks span
  size_t node = 0;  // index into the nodes span
  friend bool operator==(const Placement&, const Placement&) = default;
};

struct Unplaced {
  size_t task = 0;
  // What is missing, naming the best candidate where there is one:
  //   "no nodes registered"
  //   "no node offers the \"docker\" driver"
  //   "no node matches zone=eu"                     (one constraint no node with the driver has)
  //   "no node matches all of zone=eu, disk=ssd"    (each matched somewhere, never together)
  //   "no node has 2 CPU free (best: a1 with 1.5)"
  //   "no node has 600 MiB memory free (best: a1 with 424 MiB)"
  //   "no node has 10 GiB disk free (best: a1 with 2 GiB)"
  //   "no node has 2 CPU and 600 MiB memory free (best: a1 with 1.5 CPU and 424 MiB memory)"
  //   "no node has a free slot"                     (it fits somewhere, but credit is used up)
  //   "room on a1 is held for an earlier pending task"
  // The reason comes from the node that got furthest through the checks (driver, constraints,
  // resources, credit, holds); for resources, "best" is the node closest to fitting and the
  // dimensions named are the ones it lacks.
  std::string reason;
  friend bool operator==(const Unplaced&, const Unplaced&) = default;
};

struct Plan {
  std::vector<Placement> placements;  // in task order
  std::vector<Unplaced> unplaced;     // in task order
  size_t next_cursor = 0;             // roundrobin's position, to pass back in on the next call
};

// Places `tasks` in order (first come, first served) on `nodes` with `policy`; every task ends
// up in exactly one of plan.placements and plan.unplaced. Never places more on a node than its
// credit, nor more CPU/memory/disk than its declared capacity minus `allocated` (a node already
// over its capacity takes only tasks that request none of that dimension). `cursor` is the
// roundrobin and spread-group position (any value; taken modulo the node count) and comes
// back in plan.next_cursor, unchanged by the other policies' placements. A task whose
// spread_group is not an index into `groups` is placed as if it had none.
// Pure: no I/O, no allocation that outlives the call, callable from any thread, never blocks.
// The spans must stay valid for the call only; the plan refers to tasks and nodes by index.
Plan schedule(std::span<const NodeSnapshot> nodes, std::span<const TaskRequest> tasks,
              Policy policy, size_t cursor = 0, std::span<const SpreadGroup> groups = {});

}  // namespace cube::broker
