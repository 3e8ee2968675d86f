// spread: Nomad's ScoreFitSpread (hashicorp/nomad, nomad/structs/funcs.go), the "Worst Fit"
// counterpart of binpack:
//   score = (10^freeCpuFraction + 10^freeMemoryFraction) - 2
// with the free fractions taken after the task is placed, bounded to [0, 18] and divided by 18
// (as Nomad's rank.go does): the emptiest node wins, so identical tasks alternate over
// identical nodes.
#include <algorithm>
#include <cmath>

#include "broker/scheduler_internal.h"

namespace cube::broker::internal {
namespace {

constexpr double kMaxFitScore = 18.0;  // Nomad's bound and normaliser, as for binpack

}  // namespace

Score score_spread(const NodeState& node, const Resources& request) {
  FreeFractions free = free_fractions_after(node, request);
  double total = power_of_ten(free.cpu) + power_of_ten(free.memory);
  return {std::clamp(total - 2.0, 0.0, kMaxFitScore) / kMaxFitScore, 0};
}

}  // namespace cube::broker::internal
