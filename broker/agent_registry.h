// AgentRegistry: the agents the broker knows, their sessions, and the credit it may spend on
// each (docs/protocol.md, Agent session). Each agent is a small state machine (STYLE.md habit 9):
//
//   Unknown  --HELLO-->  Welcomed  --lost (liveness)-->  Lost  --HELLO-->  Welcomed
//                        Welcomed  --HELLO (again)-->  Welcomed with a new session
//
// Only HELLO is accepted from an agent that is not Welcomed; CREDIT, ACCEPT, ACCEPT_BATCH,
// REJECT and SNAPSHOT must carry the current session id, or they are refused with Unauthorized
// "no session: send HELLO" (the agent then says HELLO again).
//
// Credit: the agent reports its free slots (absolute). The broker may send
//   credit() = free_slots - assignments sent and not yet answered   (never below 0)
// more ASSIGNs. An ACCEPT takes one slot (free_slots - 1) and answers one assignment, so it
// leaves credit unchanged until the agent's next CREDIT; a REJECT answers one assignment and
// takes no slot. Since the agent answers every ASSIGN before it sends its next CREDIT on the same
// ordered pipe, this is exact: the broker never sends more ASSIGNs than the agent has slots.
// Batches change nothing here: each task of an ASSIGN_BATCH is one assignment, each attempt of
// an ACCEPT_BATCH one ACCEPT, and the agent sends its ACCEPT_BATCH before its next CREDIT.
//
// Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/id_map.h"
#include "common/clock.h"
#include "common/status.h"
#include "protocol/messages.h"

namespace cube::broker {

enum class AgentState { Unknown, Welcomed, Lost };

// An ASSIGN sent and not yet answered by ACCEPT or REJECT.
struct PendingAssignment {
  uint32_t attempt = 0;
  SteadyTime deadline;
  // Its place among the agent's assignments (AgentRecord::assignments_sent when it was made),
  // the agent's answer count when its deadline was last set, and by how much the deadline moves
  // while the agent is still answering older assignments (0: never).
  uint64_t order = 0;
  uint64_t answers_at_deadline = 0;
  Millis extension{0};
  // Its entry in the registry's deadline index: (deadline, deadline_seq).
  uint64_t deadline_seq = 0;
};

struct AgentRecord {
  std::string id;
  std::string name;
  std::string version;
  std::vector<std::string> drivers;
  protocol::Capacity capacity;
  std::map<std::string, std::string> labels;
  // ROUTER routing id of the agent's DEALER (bytes), from its latest authenticated message.
  std::string routing_id;
  std::string session_id;  // empty unless Welcomed
  // Changes with every HELLO and loss, so that a reader can tell a new session (or none) by
  // comparing a number rather than the session's 36 characters (SchedulerView, every pass).
  uint64_t session_number = 0;
  // This session's HELLO announced protocol::kFeatureBatches: its ASSIGNs of one scheduling
  // pass go out as one ASSIGN_BATCH (an agent without it gets single ASSIGNs).
  bool announced_batches = false;
  // This session's HELLO announced protocol::kFeatureBeaconSlices: the agent listens to its
  // slice of the beacon (and to plain beacons).
  bool announced_beacon_slices = false;
  AgentState state = AgentState::Unknown;
  uint32_t free_slots = 0;  // as last reported by CREDIT, minus ACCEPTs since
  std::map<std::string, PendingAssignment, std::less<>> unanswered;  // task id -> assignment
  // Assignments made and answered (ACCEPT or REJECT) in this registry's life, and the largest
  // order answered: an agent answers ASSIGNs in the order they were sent.
  uint64_t assignments_sent = 0;
  uint64_t answers = 0;
  uint64_t last_answered_order = 0;
  int64_t last_seen_ms = 0;  // wall time of the last message, for display
  // When the broker last sent SYNC and is waiting for the SNAPSHOT (throttles SYNC on a gap).
  std::optional<SteadyTime> sync_requested_at;

  // How many more ASSIGNs the broker may send now: free_slots - unanswered, never below 0.
  uint32_t credit() const;
};

// An assignment whose deadline passed: the broker takes the task back.
struct ExpiredAssignment {
  std::string agent_id;
  std::string task_id;
  uint32_t attempt = 0;
};

class AgentRegistry {
 public:
  struct HelloResult {
    AgentRecord* agent = nullptr;  // the (re)registered agent, now Welcomed
    bool was_welcomed = false;     // a session was replaced (reconnect) rather than started
  };

  // Registers the agent of `hello` (or replaces its previous session) under `session_id`,
  // reachable at `routing_id`. Name, version, drivers, capacity, labels and the features it
  // announced are taken from the HELLO; free slots start at 0 until the agent's first CREDIT.
  // Unanswered assignments of the previous session are dropped: the caller reconciles the tasks the
  // agent reports (a task still Scheduled there that the agent does not report is offered again).
  //   Invalid  agent_id is empty or longer than 128 bytes (the HELLO is refused, nothing
  //            changes).
  Result<HelloResult> on_hello(const protocol::Hello& hello, std::string routing_id,
                               std::string session_id, int64_t now_ms);

  // The Welcomed agent whose current session is `session_id`.
  //   Unauthorized "no session: send HELLO" for an empty, unknown or replaced session.
  Result<AgentRecord*> authenticate(std::string_view session_id);

  // As authenticate(), for events, which also name their agent: the agent must exist and
  // `session_id` must be its current session. Unauthorized otherwise.
  Result<AgentRecord*> authenticate_event(std::string_view agent_id, std::string_view session_id);

  // nullptr for an unknown agent.
  AgentRecord* find(std::string_view agent_id);
  const AgentRecord* find(std::string_view agent_id) const;

  // Adds an agent known only from stored tasks (after a broker restart), in state Unknown, so
  // that it is listed and lost if it never says HELLO. No-op for a known agent.
  void add_expected(const std::string& agent_id, const std::string& name);

  // CREDIT: the agent has `free_slots` free slots now (absolute).
  void on_credit(AgentRecord& agent, uint32_t free_slots);

  // Records an ASSIGN of (task_id, attempt) to `agent`, due for an answer by `deadline`.
  // With an `extension`, a deadline that passes while the agent has answered since it was set
  // only assignments sent before this one (it is alive, working through a backlog in order,
  // and has not reached this one yet) moves `extension` further instead of expiring.
  //   Unavailable  the agent has no credit (the caller must not send the ASSIGN).
  //   Unauthorized the agent is not Welcomed.
  // A previous unanswered assignment of the same task to this agent is replaced.
  Status add_assignment(AgentRecord& agent, std::string_view task_id, uint32_t attempt,
                        SteadyTime deadline, Millis extension = Millis(0));

  // ACCEPT / REJECT of (task_id, attempt). True when it answered an unanswered assignment
  // (ACCEPT: the slot is now taken); false for a duplicate, late or unknown answer, which
  // changes nothing here (the caller decides whether to STOP a late attempt).
  bool on_accept(AgentRecord& agent, std::string_view task_id, uint32_t attempt);
  bool on_reject(AgentRecord& agent, std::string_view task_id, uint32_t attempt);

  // Removes and returns the assignments whose deadline is at or before `now`, but for those
  // whose deadline moves (add_assignment's extension).
  std::vector<ExpiredAssignment> take_expired(SteadyTime now);
  // Deadlines moved by take_expired so far.
  uint64_t deadlines_extended() const { return deadlines_extended_; }
  // The earliest assignment deadline; nullopt when nothing is unanswered.
  std::optional<SteadyTime> next_deadline() const;

  // The agent is lost: ends its session (state Lost, no credit) and returns its unanswered
  // assignments. No-op (empty result) for an unknown agent.
  std::map<std::string, PendingAssignment, std::less<>> mark_lost(std::string_view agent_id);

  // Welcomed agents that did not announce protocol::kFeatureBeaconSlices: they take only plain
  // beacons, so while there is one the beacon does not go out in slices.
  size_t sessions_without_beacon_slices() const { return sessions_without_beacon_slices_; }

  // Every agent ever seen, ordered by ID.
  const std::map<std::string, AgentRecord, std::less<>>& agents() const { return agents_; }

 private:
  // Removes the agent's session (if any) from sessions_ and the count beside it.
  void end_session(const AgentRecord& agent);
  void forget_deadlines(const AgentRecord& agent);
  // An answer to `answered` (ACCEPT or REJECT), for take_expired's backlog rule.
  static void note_answer(AgentRecord& agent, const PendingAssignment& answered);

  std::map<std::string, AgentRecord, std::less<>> agents_;
  // Session id -> its agent, for the lookup every event does. Pointers stay valid: agents_ never
  // erases, and std::map does not move its nodes.
  IdMap<AgentRecord*> sessions_;
  size_t sessions_without_beacon_slices_ = 0;  // of the agents in sessions_
  uint64_t last_session_number_ = 0;
  // Every unanswered assignment by (deadline, a number given when the deadline was set, so
  // that equal deadlines expire in the order set): its agent and the key of its `unanswered`
  // entry. Numbers, not IDs, order the index: assignments of one pass share a deadline, and
  // comparing their time-ordered IDs (long shared prefixes) was a hot spot (perf, cube-bench
  // --batch 64). An entry is erased here before its `unanswered` entry (on_hello forgets an
  // agent's deadlines before it rewrites the record); agents_ never moves its records.
  struct DeadlineOwner {
    AgentRecord* agent;
    std::string_view task_id;
  };
  std::map<std::pair<SteadyTime, uint64_t>, DeadlineOwner> deadlines_;
  uint64_t next_deadline_seq_ = 0;
  uint64_t deadlines_extended_ = 0;
  // Indexes `pending` (the entry of `task_id` in agent.unanswered) under its deadline.
  void add_deadline(AgentRecord& agent, std::string_view task_id, PendingAssignment& pending);
  void erase_deadline(const PendingAssignment& pending) {
    deadlines_.erase({pending.deadline, pending.deadline_seq});
  }
};

}  // namespace cube::broker
