#include "broker/event_sync.h"

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

EventAction EventSync::classify(std::string_view agent, uint64_t seq) {
  auto it = last_seq_.find(agent);
  if (it == last_seq_.end())
    return EventAction::NeedSync;
  if (seq <= it->second)
    return EventAction::DropDuplicate;
  if (seq == it->second + 1) {
    it->second = seq;
    return EventAction::Apply;
  }
  return EventAction::NeedSync;
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
