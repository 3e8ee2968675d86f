// TaskLifecycle: how tasks change state in answer to agents and users (docs/protocol.md: agent
// session, events, liveness; ARCHITECTURE.md: tasks). It decides; it does not do I/O. State
// changes go through TaskTable::transition (an invalid one is logged, counted as
// "tasks.invalid_transition" and changes nothing); messages to agents are appended to `out`
// for the broker loop to send.
//
// Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/agent_command.h"
#include "broker/agent_registry.h"
#include "broker/counters.h"
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

// A task taken back this many times in a row (rejected or unanswered) fails instead of being
// offered again: a spec every agent refuses must not bounce between them forever.
inline constexpr uint32_t kMaxOffersWithoutAccept = 5;

class TaskLifecycle {
 public:
  // References are kept; all must outlive this object. `stop_grace` goes into every STOP.
  TaskLifecycle(TaskTable& tasks, AgentRegistry& agents, Counters& counters, Millis stop_grace);

  // Applies one report of `agent` about a task attempt (TASK_STATE, or an entry of HELLO or
  // SNAPSHOT). Idempotent: the same report twice changes nothing the second time.
  //   - unknown task, or an attempt that is not the task's current attempt on this agent:
  //     ignored, except that a non-terminal report gets a STOP for that attempt;
  //   - Running: Scheduled -> Running with start time, container and port bindings; a task
  //     Failed "node lost" with this attempt comes back (Failed -> Scheduled -> Running,
  //     "node returned"); a task the broker already ended gets a STOP;
  //   - Completed/Failed: the task ends with the exit code and the agent's reason ("exit code
  //     N" when it gave none); a task the user stopped ends Completed "stopped" whatever the
  //     exit code.
  void apply_status(const AgentRecord& agent, const TaskStatus& status, SystemTime now,
                    std::vector<AgentCommand>& out);

  // Reconciles the full list of attempts an agent reports in HELLO or SNAPSHOT: each is applied
  // as above (tasks the user stopped get a STOP again); tasks the broker has Running on this
  // agent with their current attempt that the agent does not report fail ("agent lost the
  // task"); tasks Scheduled there that it does not report and whose ASSIGN is not still
  // unanswered are offered again.
  void reconcile(const AgentRecord& agent, std::span<const TaskStatus> reported, SystemTime now,
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
  // fail "node lost" (a task the user stopped ends Completed "stopped" instead); assignments it
  // never answered are offered again.
  void node_lost(const std::string& agent_id, SystemTime now);

  // A user's stop (STOP_TASK, or a submission with desired state Completed). Sets the desired
  // state to Completed; Pending and Scheduled tasks end Completed "stopped" at once (with a STOP
  // to the agent holding the assignment); a Running task gets a STOP to its agent and ends when
  // the agent reports it, or at once when its agent has no session. A task that already ended
  // keeps its state.
  //   NotFound "no task with ID ..." for an unknown ID.
  Status stop_task(std::string_view task_id, SystemTime now, std::vector<AgentCommand>& out);

 private:
  // TaskTable::transition, logging and counting an invalid transition. True when it happened.
  bool move(std::string_view id, TaskState to, std::string reason, std::optional<NodeRef> node,
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

  TaskTable& tasks_;
  AgentRegistry& agents_;
  Counters& counters_;
  Millis stop_grace_;
};

}  // namespace cube::broker
