// greedy: the least loaded node, as the prior orchestrators' greedy scheduler, but measured on
// what the broker has allocated (including this plan's placements) rather than a stats sample:
// lowest allocated CPU fraction, then lowest allocated memory fraction, then lowest index. An
// undeclared dimension counts as unloaded.
#include "broker/scheduler_internal.h"

namespace cube::broker::internal {
namespace {

double load(double capacity, double used) {
  return capacity > 0 ? used / capacity : 0;
}

}  // namespace

Score score_greedy(const NodeState& node, const Resources& /*request*/) {
  // Negated: the scheduler takes the highest score, greedy wants the lowest load.
  return {-load(node.cpu_capacity, node.cpu_used),
          -load(static_cast<double>(node.memory_capacity), static_cast<double>(node.memory_used))};
}

}  // namespace cube::broker::internal
