// TaskLifecycle: how tasks change state in answer to agents and users (docs/protocol.md: agent
// session, events, liveness; docs/architecture.md, "A task's life"). It decides; it does not do
// I/O. State changes go through TaskTable::transition (an invalid one is logged, counted as
// "tasks.invalid_transition" and changes nothing); messages to agents are appended to `out`
// for the broker loop to send.
//
// Failure handling (docs/durability.md):
//   - an attempt that ends by itself goes through the task's restart policy
//     (broker/restart_policy.h): restarted after a backoff on the same node (the task waits
//     Scheduled with no node and a hold in hints(); a failure is recorded as Failed first), given
//     up, or for `always` rescheduled once more on another node;
//   - a task lost with its node ("node lost") or by its agent ("agent lost the task") is Failed
//     and, unless its policy is "no", rescheduled at once (Failed -> Scheduled with no node, a
//     new attempt when placed; not counted as a restart). If the lost node comes back still
//     running that attempt before the task was placed again, the attempt is adopted ("node
//     returned"); once it was placed elsewhere, the old copy gets a STOP.
//
// Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/agent_command.h"
#include "broker/agent_registry.h"
#include "broker/counters.h"
#include "broker/placement_hints.h"
#include "broker/restart_policy.h"
#include "broker/task_table.h"
#include "common/clock.h"
#include "common/status.h"
#include "protocol/task.h"

namespace cube::broker {

// Reasons the broker writes into tasks; clients and tests match on them.
inline constexpr std::string_view kReasonStopped = "stopped";
inline constexpr std::string_view kReasonNodeLost = "node lost";
inline constexpr std::string_view kReasonNodeReturned = "node returned";
inline constexpr std::string_view kReasonAgentLostTask = "agent lost the task";
inline constexpr std::string_view kReasonRescheduledPrefix = "rescheduled after ";

// A task taken back this many times in a row (rejected or unanswered) fails instead of being
// offered again: a spec every agent refuses must not bounce between them forever.
inline constexpr uint32_t kMaxOffersWithoutAccept = 5;

class TaskLifecycle {
 public:
  // References are kept; all must outlive this object. `stop_grace` goes into every STOP.
  // `clock` times restart backoffs; `random_seed` seeds their jitter.
  TaskLifecycle(TaskTable& tasks, AgentRegistry& agents, Counters& counters, Millis stop_grace,
                const Clock& clock, RestartOptions restart = {}, uint64_t random_seed = 0);

  // Applies one report of `agent` about a task attempt (TASK_STATE, or an entry of HELLO or
  // SNAPSHOT). Idempotent: the same report twice changes nothing the second time.
  //   - unknown task, or an attempt that is not the task's current attempt on this agent:
  //     ignored, except that a non-terminal report gets a STOP for that attempt;
  //   - Running: Scheduled -> Running with start time, container and port bindings; a task
  //     Failed "node lost" with this attempt comes back (Failed -> Scheduled -> Running,
  //     "node returned"); a task the broker already ended gets a STOP;
  //   - Completed/Failed: the attempt ends with the exit code, state and reason the agent
  //     reported (decided by protocol/task_outcome.h); a task the user stopped ends Completed
  //     "stopped" whatever the exit code; otherwise the restart policy decides between ending the
  //     task there, restarting it after a backoff, and rescheduling it elsewhere (see the file
  //     comment);
  //   - an attempt this agent was running when its node was lost, reported again before the
  //     rescheduled task was placed elsewhere: adopted back (Scheduled -> Running "node
  //     returned"), then applied as above.
  void apply_status(const AgentRecord& agent, const AttemptStatus& status, SystemTime now,
                    std::vector<AgentCommand>& out);

  // Reconciles the full list of attempts an agent reports in HELLO or SNAPSHOT: each is applied
  // as above (tasks the user stopped get a STOP again); tasks the broker has Running on this
  // agent with their current attempt that the agent does not report fail ("agent lost the
  // task") and are rescheduled unless their policy is "no"; tasks Scheduled there that it does not
  // report and whose ASSIGN is not still unanswered are offered again.
  void reconcile(const AgentRecord& agent, std::span<const AttemptStatus> reported, SystemTime now,
                 std::vector<AgentCommand>& out);

  // ACCEPT: the assignment is answered. A late ACCEPT (the attempt is no longer the task's
  // current one on this agent: taken back, moved, unknown task) gets a STOP for that attempt.
  void on_accept(AgentRecord& agent, const std::string& task_id, uint32_t attempt,
                 std::vector<AgentCommand>& out);

  // REJECT: the task is offered again elsewhere (new attempt), or fails after
  // kMaxOffersWithoutAccept offers. A duplicate or late REJECT changes nothing.
  void on_reject(AgentRecord& agent, const std::string& task_id, uint32_t attempt,
                 const std::string& reason, SystemTime now);

  // The assignment was not answered in time: STOP it on that agent (it may arrive late) and
  // offer the task again.
  void on_assignment_expired(const ExpiredAssignment& expired, SystemTime now,
                             std::vector<AgentCommand>& out);

  // The agent is lost (liveness): its session ends; its tasks that were accepted or running
  // fail "node lost" and are rescheduled unless their policy is "no" (a task the user stopped
  // ends Completed "stopped" instead); assignments it never answered are offered again.
  void node_lost(const std::string& agent_id, SystemTime now);

  // A user's stop (STOP_TASK, or a submission with desired state Completed). Sets the desired
  // state to Completed; Pending and Scheduled tasks end Completed "stopped" at once (with a STOP
  // to the agent holding the assignment); a Running task gets a STOP to its agent and ends when
  // the agent reports it, or at once when its agent has no session. A task that already ended
  // keeps its state.
  //   NotFound "no task with ID ..." for an unknown ID.
  Status stop_task(std::string_view task_id, SystemTime now, std::vector<AgentCommand>& out);

  // Restart holds and node preferences for plan_apply (PlanApplyInput::hints).
  PlacementHints& hints() { return hints_; }
  const PlacementHints& hints() const { return hints_; }
  // When the next restart backoff ends (a poll deadline); nullopt when none is pending.
  std::optional<SteadyTime> next_restart() const { return hints_.next_release(); }
  // Ends the backoffs due at `now`; returns how many tasks may now be placed (the caller
  // schedules when > 0).
  size_t release_restarts(SteadyTime now);

 private:
  // TaskTable::transition, logging and counting an invalid transition. True when it happened.
  bool move(const TaskRecord& record, TaskState to, std::string reason, std::optional<NodeRef> node,
            SystemTime now);
  // Takes the assignment (task_id, attempt) back from `agent_id` and queues the task for
  // placement, unless the task moved on meanwhile.
  void take_back(std::string_view task_id, uint32_t attempt, std::string_view agent_id,
                 std::string reason, SystemTime now);
  void stop(const std::string& agent_id, const std::string& task_id, uint32_t attempt,
            std::string reason, std::vector<AgentCommand>& out);
  // Ends a task that was Scheduled or Running: Completed "stopped" if the user asked for it,
  // else `to` with `reason`.
  void finish(const TaskRecord& record, TaskState to, std::string reason, SystemTime now);
  // The current attempt ended by itself (`ended` Completed or Failed): the restart policy
  // decides what follows.
  void end_attempt(const TaskRecord& record, TaskState ended, std::string reason, SystemTime now);
  // The task was lost with its node or by its agent: Failed with `reason`, then rescheduled
  // unless its policy is "no" (a stopped task ends Completed "stopped").
  void lose(const TaskRecord& record, std::string reason, SystemTime now);
  // Adopts a rescheduled attempt its old node reports again (see apply_status). True when the
  // task is now current on `agent`.
  bool adopt_returned(const AgentRecord& agent, const AttemptStatus& status, SystemTime now);
  // A Welcomed agent other than `except` offers `driver`.
  bool another_node_offers(std::string_view driver, std::string_view except) const;

  struct MovedAttempt {
    std::string agent_id;
    uint32_t attempt = 0;
  };

  TaskTable& tasks_;
  AgentRegistry& agents_;
  Counters& counters_;
  Millis stop_grace_;
  const Clock& clock_;
  RestartOptions restart_;
  std::mt19937_64 random_;
  PlacementHints hints_;
  // Tasks rescheduled after their node was lost: where the lost attempt ran. An entry is
  // dropped when the task is adopted back or stopped; a stale one (the task was placed again,
  // so its attempt moved on) matches nothing.
  std::map<std::string, MovedAttempt, std::less<>> moved_;
};

}  // namespace cube::broker
