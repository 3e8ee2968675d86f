#include "broker/event_sync.h"

#include "common/check.h"

namespace cube::broker {

const char* event_action_name(EventAction action) {
  switch (action) {
    case EventAction::Apply:
      return "apply";
    case EventAction::DropDuplicate:
      return "duplicate";
    case EventAction::NeedSync:
      return "need_sync";
  }
  return "need_sync";
}

RangeVerdict EventSync::classify_range(std::string_view agent, uint64_t first, uint64_t seq) {
  CUBE_CHECK(first <= seq) << "the handlers refuse a batch whose seq cannot number it";
  auto it = last_seq_.find(agent);
  if (it == last_seq_.end())
    return {EventAction::NeedSync, 0};
  uint64_t& applied = it->second;
  if (seq <= applied)
    return {EventAction::DropDuplicate, 0};
  if (first > applied + 1)
    return {EventAction::NeedSync, 0};
  RangeVerdict verdict{EventAction::Apply, applied + 1 - first};
  applied = seq;
  return verdict;
}

EventAction EventSync::classify(std::string_view agent, uint64_t seq) {
  return classify_range(agent, seq, seq).action;
}

EventAction EventSync::classify_heartbeat(std::string_view agent, uint64_t seq) const {
  auto it = last_seq_.find(agent);
  if (it == last_seq_.end() || seq > it->second)
    return EventAction::NeedSync;
  return EventAction::Apply;
}

void EventSync::reset(const std::string& agent, uint64_t seq) {
  last_seq_[agent] = seq;
}

void EventSync::forget(std::string_view agent) {
  auto it = last_seq_.find(agent);
  if (it != last_seq_.end())
    last_seq_.erase(it);
}

std::optional<uint64_t> EventSync::last_seq(std::string_view agent) const {
  auto it = last_seq_.find(agent);
  if (it == last_seq_.end())
    return std::nullopt;
  return it->second;
}

}  // namespace cube::broker
