// Internals of broker/scheduler.cpp shared with the policy files (broker/policy_*.cpp) and their
// tests. Not part of the scheduler's contract: include broker/scheduler.h instead.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <optional>

#include "broker/scheduler.h"

namespace cube::broker::internal {

// CPU is a sum of doubles (0.1 + 0.2 > 0.3); a millionth of a core absorbs the rounding without
// letting a real overcommit through.
inline constexpr double kCpuEpsilon = 1e-6;

// One node while a plan is built: its capacity and what is used there, including the
// placements this plan has made so far. A capacity of 0 means "not declared": unlimited.
struct NodeState {
  double cpu_capacity = 0;
  double cpu_used = 0;
  int64_t memory_capacity = 0;
  int64_t memory_used = 0;
  int64_t disk_capacity = 0;
  int64_t disk_used = 0;
  uint32_t credit = 0;
  uint32_t slots = 0;  // declared slots (capacity.slots), 0 if not declared
};

// Whether `request` fits in what is free on `node`, one dimension at a time (a request of 0 and
// an undeclared capacity always fit). Written as request <= capacity - used so that byte counts
// near the int64 limit cannot overflow.
inline bool cpu_fits(const NodeState& node, double request) {
  return request <= 0 || node.cpu_capacity <= 0 ||
         request <= node.cpu_capacity - node.cpu_used + kCpuEpsilon;
}
inline bool bytes_fit(int64_t capacity, int64_t used, int64_t request) {
  return request <= 0 || capacity <= 0 || request <= capacity - used;
}
inline bool memory_fits(const NodeState& node, int64_t request) {
  return bytes_fit(node.memory_capacity, node.memory_used, request);
}
inline bool disk_fits(const NodeState& node, int64_t request) {
  return bytes_fit(node.disk_capacity, node.disk_used, request);
}

// True when `request` fits in what is free on `node` in every dimension.
inline bool has_room(const NodeState& node, const Resources& request) {
  return cpu_fits(node, request.cpu) && memory_fits(node, request.memory_bytes) &&
         disk_fits(node, request.disk_bytes);
}

// How good a node is for a task under a scored policy: higher is better, compared as
// (primary, secondary); equal scores go to the lower node index.
struct Score {
  double primary = 0;
  double secondary = 0;
};

// Scores of `node` for a task asking for `request`, assuming it fits (has_room is true). Pure
// arithmetic over the two arguments; one per policy file.
Score score_binpack(const NodeState& node, const Resources& request);  // policy_binpack.cpp
Score score_spread(const NodeState& node, const Resources& request);   // policy_spread.cpp
Score score_greedy(const NodeState& node, const Resources& request);   // policy_greedy.cpp
Score score_epvm(const NodeState& node, const Resources& request);     // policy_epvm.cpp

using ScoreFn = Score (*)(const NodeState&, const Resources&);

// The score function of a scored policy; nullptr for roundrobin, which does not score.
ScoreFn score_function(Policy policy);

// True when placing a task on a node never raises that node's score for any task: a fuller node
// is never better (spread, greedy, epvm, whose cost is convex). The scheduler then re-scores a
// changed node only when it reaches the top of a heap; for binpack, where fuller is better, it
// must re-score every changed node before reading a heap.
bool score_only_falls(Policy policy);

// 10^x for Nomad's fit scores: exp is about twice as fast as pow and scoring is the hot path.
inline double power_of_ten(double x) {
  return std::exp(x * std::numbers::ln10);
}

// The free CPU and memory fractions after placing `request`, in [0, 1], that Nomad's fit
// scores use (1 for an undeclared dimension: it is never full). Shared by binpack and spread.
struct FreeFractions {
  double cpu = 1;
  double memory = 1;
};
FreeFractions free_fractions_after(const NodeState& node, const Resources& request);

// Whether node `index` is feasible for the task being placed; a function pointer and its
// context rather than std::function, so that asking costs no allocation.
struct NodeFilter {
  const void* context = nullptr;
  bool (*is_feasible)(const void* context, size_t index) = nullptr;
};

// roundrobin (policy_roundrobin.cpp): the first node in cursor, cursor+1, ... (wrapping; cursor
// taken modulo node_count) that `filter` accepts, or nullopt if none does. Asks `filter` about
// each node at most once, in that order, and stops at the first yes.
std::optional<size_t> pick_round_robin(size_t node_count, size_t cursor, NodeFilter filter);

}  // namespace cube::broker::internal
