// EventSync: the broker's side of the Clone pattern (docs/protocol.md, Events). Each agent numbers
// its events; the broker remembers the last one it applied per agent (set from HELLO and
// SNAPSHOT, which reflect every event up to their seq) and classifies what arrives:
//
//   TASK_STATE seq <= last       DropDuplicate (replayed after a reconnect; already applied)
//   TASK_STATE seq == last + 1   Apply (last becomes seq)
//   TASK_STATE seq >  last + 1   NeedSync (events were lost: drop it, send SYNC, take SNAPSHOT)
//   HEARTBEAT  seq <= last       Apply (nothing to apply; it repeats the last seq)
//   HEARTBEAT  seq >  last       NeedSync (an event the heartbeat counts was lost)
//
// A TASK_STATE_BATCH carries the consecutive events first..seq (first = seq - n + 1) and is
// classified as that many TASK_STATEs arriving in order (a TASK_STATE is the range seq..seq):
//
//   seq <= last                  DropDuplicate (all of them)
//   first <= last + 1 <= seq     Apply the events after last (the ones up to last are
//                                duplicates: an overlap with events already applied); last
//                                becomes seq
//   first >  last + 1            NeedSync (events between were lost: drop all, SYNC)
//
// An agent without a baseline (no HELLO/SNAPSHOT yet) always needs a sync.
// Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "broker/id_map.h"

namespace cube::broker {

enum class EventAction { Apply, DropDuplicate, NeedSync };

// What to do with the events first..seq of one agent.
struct RangeVerdict {
  EventAction action = EventAction::NeedSync;
  // Apply: how many leading events are duplicates (numbered at or before the previous last
  // seq) and are skipped; the others are applied.
  uint64_t duplicates = 0;
  friend bool operator==(const RangeVerdict&, const RangeVerdict&) = default;
};

// "apply", "duplicate", "need_sync" for logs and tests.
const char* event_action_name(EventAction action);

class EventSync {
 public:
  // For the events first..seq (first <= seq), which consume one sequence number each
  // (TASK_STATE_BATCH; a TASK_STATE is first == seq). Advances last_seq to `seq` on Apply.
  RangeVerdict classify_range(std::string_view agent, uint64_t first, uint64_t seq);

  // For one event that consumes a sequence number (TASK_STATE): classify_range(seq, seq).
  EventAction classify(std::string_view agent, uint64_t seq);

  // For a heartbeat, which repeats the agent's last seq. Never advances last_seq.
  EventAction classify_heartbeat(std::string_view agent, uint64_t seq) const;

  // Sets the baseline: the agent's state as of event `seq` is known (HELLO, SNAPSHOT).
  void reset(const std::string& agent, uint64_t seq);

  // Drops the baseline (agent lost): its events need a new HELLO/SNAPSHOT first.
  void forget(std::string_view agent);

  std::optional<uint64_t> last_seq(std::string_view agent) const;

 private:
  IdMap<uint64_t> last_seq_;
};

}  // namespace cube::broker
