#include "broker/liveness.h"

#include <algorithm>

#include "common/check.h"

namespace cube::broker {

const char* node_state_name(NodeState state) {
  switch (state) {
    case NodeState::Ready:
      return "ready";
    case NodeState::Suspect:
      return "suspect";
    case NodeState::Lost:
      return "lost";
  }
  return "lost";
}

Liveness::Liveness(Millis heartbeat, int suspect_after_beats, Millis grace)
    : suspect_after_(heartbeat * suspect_after_beats), grace_(grace) {
  CUBE_CHECK(heartbeat.count() > 0 && suspect_after_beats >= 1 && grace.count() > 0)
      << "broker/main.cpp validates the liveness options";
}

NodeState Liveness::on_traffic(const std::string& agent, SteadyTime now) {
  auto it = agents_.find(agent);
  if (it == agents_.end()) {
    agents_.emplace(agent, Entry{now, false});
    deadlines_.emplace(now + grace_, agent);
    return NodeState::Lost;
  }
  NodeState before = state(agent, now);
  Entry& entry = it->second;
  if (!entry.lost)
    deadlines_.erase({entry.last_seen + grace_, agent});
  // A late, reordered beat never moves the deadline backwards.
  if (now > entry.last_seen || entry.lost)
    entry.last_seen = now;
  entry.lost = false;
  deadlines_.emplace(entry.last_seen + grace_, agent);
  return before;
}

NodeState Liveness::state(std::string_view agent, SteadyTime now) const {
  auto it = agents_.find(agent);
  if (it == agents_.end() || it->second.lost)
    return NodeState::Lost;
  auto silent = now - it->second.last_seen;
  if (silent >= grace_)
    return NodeState::Lost;
  if (silent >= suspect_after_)
    return NodeState::Suspect;
  return NodeState::Ready;
}

std::vector<std::string> Liveness::expired(SteadyTime now) {
  std::vector<std::string> out;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    auto node = deadlines_.extract(deadlines_.begin());
    auto it = agents_.find(node.value().second);
    if (it != agents_.end())
      it->second.lost = true;
    out.push_back(std::move(node.value().second));
  }
  return out;
}

std::optional<SteadyTime> Liveness::next_deadline() const {
  if (deadlines_.empty())
    return std::nullopt;
  return deadlines_.begin()->first;
}

std::vector<std::string> Liveness::suspected(SteadyTime now) {
  std::vector<std::string> out;
  if (suspect_after_ >= grace_)
    return out;
  // An agent turns suspect (grace - suspect_after) before its lost deadline.
  SteadyTime through = now + (grace_ - suspect_after_);
  for (auto it = first_unsuspected(); it != deadlines_.end() && it->first <= through; ++it)
    out.push_back(it->second);
  suspected_through_ = std::max(suspected_through_, through);
  return out;
}

std::optional<SteadyTime> Liveness::next_suspicion() const {
  if (suspect_after_ >= grace_)
    return std::nullopt;
  auto it = first_unsuspected();
  if (it == deadlines_.end())
    return std::nullopt;
  return it->first - (grace_ - suspect_after_);
}

Liveness::Deadlines::const_iterator Liveness::first_unsuspected() const {
  return deadlines_.lower_bound({suspected_through_ + SteadyTime::duration(1), std::string()});
}

std::optional<SteadyTime> Liveness::ready_until(std::string_view agent) const {
  auto it = agents_.find(agent);
  if (it == agents_.end() || it->second.lost)
    return std::nullopt;
  // A beat never moves last_seen backwards, so the agent is Ready at least until then.
  return it->second.last_seen + std::min(suspect_after_, grace_);
}

std::optional<SteadyTime> Liveness::last_seen(std::string_view agent) const {
  auto it = agents_.find(agent);
  if (it == agents_.end())
    return std::nullopt;
  return it->second.last_seen;
}

void Liveness::remove(std::string_view agent) {
  auto it = agents_.find(agent);
  if (it == agents_.end())
    return;
  if (!it->second.lost)
    deadlines_.erase({it->second.last_seen + grace_, it->first});
  agents_.erase(it);
}

}  // namespace cube::broker
