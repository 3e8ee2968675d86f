#include "broker/placement_hints.h"

namespace cube::broker {

void PlacementHints::set(const std::string& task_id, PlacementHint hint) {
  erase(task_id);
  if (hint.hold_until)
    holds_.emplace(*hint.hold_until, task_id);
  hints_.emplace(task_id, std::move(hint));
}

const PlacementHint* PlacementHints::find(std::string_view task_id) const {
  auto it = hints_.find(task_id);
  return it == hints_.end() ? nullptr : &it->second;
}

void PlacementHints::erase(std::string_view task_id) {
  auto it = hints_.find(task_id);
  if (it == hints_.end())
    return;
  if (it->second.hold_until)
    holds_.erase({*it->second.hold_until, it->first});
  hints_.erase(it);
}

bool PlacementHints::is_held(std::string_view task_id, SteadyTime now) const {
  const PlacementHint* hint = find(task_id);
  return hint != nullptr && hint->hold_until && *hint->hold_until > now;
}

std::optional<SteadyTime> PlacementHints::next_release() const {
  if (holds_.empty())
    return std::nullopt;
  return holds_.begin()->first;
}

std::vector<std::string> PlacementHints::release_due(SteadyTime now) {
  std::vector<std::string> released;
  while (!holds_.empty() && holds_.begin()->first <= now) {
    auto node = holds_.extract(holds_.begin());
    auto it = hints_.find(node.value().second);
    if (it != hints_.end())
      it->second.hold_until.reset();
    released.push_back(std::move(node.value().second));
  }
  return released;
}

}  // namespace cube::broker
