// roundrobin: the prior orchestrators' default, kept for their users. Feasibility still comes
// first: nodes the task does not fit on are skipped, not picked.
#include "broker/scheduler_internal.h"

namespace cube::broker::internal {

std::optional<size_t> pick_round_robin(size_t node_count, size_t cursor, NodeFilter filter) {
  if (node_count == 0)
    return std::nullopt;
  size_t index = cursor % node_count;
  for (size_t tried = 0; tried < node_count; ++tried) {
    if (filter.is_feasible(filter.context, index))
      return index;
    index = index + 1 == node_count ? 0 : index + 1;
  }
  return std::nullopt;
}

}  // namespace cube::broker::internal
