// binpack: Nomad's ScoreFitBinPack (hashicorp/nomad, nomad/structs/funcs.go), itself the
// "BestFit v3" of Google's datacenter scheduling work:
//   score = 20 - (10^freeCpuFraction + 10^freeMemoryFraction)
// with the free fractions taken *after* the task is placed. It is 18 for a node the task fills
// exactly and 0 for an empty node with a task that asks for nothing, so the fullest node that
// still fits wins. Like Nomad's BinPackIterator (scheduler/rank.go, binPackingMaxFitScore) the
// score is divided by 18 into [0, 1]. Disk is a feasibility check only, as in Nomad.
#include <algorithm>
#include <cmath>

#include "broker/scheduler_internal.h"

namespace cube::broker::internal {
namespace {

// Nomad bounds the raw fit score to [0, 18] and normalises by 18.
constexpr double kMaxFitScore = 18.0;

double free_fraction(double capacity, double used) {
  if (capacity <= 0)
    return 1;  // not declared: unlimited, never full
  return std::clamp(1.0 - used / capacity, 0.0, 1.0);
}

}  // namespace

FreeFractions free_fractions_after(const NodeState& node, const Resources& request) {
  return {free_fraction(node.cpu_capacity, node.cpu_used + request.cpu),
          free_fraction(static_cast<double>(node.memory_capacity),
                        static_cast<double>(node.memory_used + request.memory_bytes))};
}

Score score_binpack(const NodeState& node, const Resources& request) {
  FreeFractions free = free_fractions_after(node, request);
  double total = power_of_ten(free.cpu) + power_of_ten(free.memory);
  return {std::clamp(20.0 - total, 0.0, kMaxFitScore) / kMaxFitScore, 0};
}

}  // namespace cube::broker::internal
