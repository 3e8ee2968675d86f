// Liveness: which agents are alive, from when the broker last heard from them. A pure tracker
// over times passed in by the caller (the broker loop reads its injected Clock), in the manner
// of the zguide's Paranoid Pirate queue: any message from an agent counts as a beat.
//
//   Ready    heard from within `suspect_after_beats` heartbeat intervals
//   Suspect  silent for at least suspect_after_beats * heartbeat: no new placements on it
//   Lost     silent for at least `grace`: its tasks are failed ("node lost")
//
// A Lost agent stays Lost until on_traffic() is called for it again (the broker only does so
// after a new HELLO). Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/id_map.h"
#include "common/clock.h"

namespace cube::broker {

enum class NodeState { Ready, Suspect, Lost };

// "ready", "suspect", "lost" as in `cube-client nodes`.
const char* node_state_name(NodeState state);

class Liveness {
 public:
  // `heartbeat` > 0, `suspect_after_beats` >= 1, `grace` > 0.
  Liveness(Millis heartbeat, int suspect_after_beats, Millis grace);

  // Records a beat from `agent` at `now`, adding the agent if it is new. Revives a Lost agent.
  // Returns the state the agent was in just before (Lost for a new agent).
  NodeState on_traffic(const std::string& agent, SteadyTime now);

  // The agent's state at `now`; Lost for an agent never seen (or removed).
  NodeState state(std::string_view agent, SteadyTime now) const;

  // Agents that became Lost at or before `now` and were not reported yet, oldest deadline first.
  // Each loss is reported once.
  std::vector<std::string> expired(SteadyTime now);

  // The earliest time at which expired() will report an agent; nullopt when none is pending.
  // A poll loop uses it as its timeout.
  std::optional<SteadyTime> next_deadline() const;

  // Agents that turned Suspect at or before `now` and were not reported yet, in the order they
  // fell silent: each silence is reported once (a beat ends it: on_traffic returns Suspect).
  // Call it before expired(), so that an agent whose suspicion and loss both passed since the
  // last call is reported suspect, then lost. Nothing when agents go straight to Lost (the
  // suspect time is not shorter than the grace).
  std::vector<std::string> suspected(SteadyTime now);
  // The earliest time at which suspected() will report an agent; nullopt when none is pending.
  std::optional<SteadyTime> next_suspicion() const;

  // Until when `agent` stays Ready if nothing more is heard from it (last beat + the suspect
  // time); nullopt for an unknown or lost agent. Lets a caller that checks many agents often
  // (the scheduler's view) skip asking again until then.
  std::optional<SteadyTime> ready_until(std::string_view agent) const;

  // When the agent was last heard from; nullopt for an unknown agent.
  std::optional<SteadyTime> last_seen(std::string_view agent) const;

  // Forgets the agent entirely.
  void remove(std::string_view agent);

 private:
  struct Entry {
    SteadyTime last_seen;
    bool lost = false;  // already reported by expired()
  };

  Millis suspect_after_;
  Millis grace_;
  IdMap<Entry> agents_;
  using Deadlines = std::set<std::pair<SteadyTime, std::string>>;
  // The first entry of deadlines_ that suspected() has not reported.
  Deadlines::const_iterator first_unsuspected() const;

  // (lost deadline, agent) for every agent not yet reported lost.
  Deadlines deadlines_;
  // suspected() reported every agent whose lost deadline is at or before this. A suspicion is
  // the lost deadline less a constant, so the reported agents are a prefix of deadlines_ (a
  // beat re-enters an agent past it): no per-agent flag, no second set to keep per beat.
  SteadyTime suspected_through_ = SteadyTime::min();
};

}  // namespace cube::broker
