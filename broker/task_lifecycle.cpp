#include "broker/task_lifecycle.h"

#include <spdlog/spdlog.h>

#include <set>
#include <utility>

namespace cube::broker {
namespace {

bool is_current(const Task& task, const AgentRecord& agent, uint32_t attempt) {
  return task.attempt == attempt && task.node_id == agent.id;
}

// "web (0190...)" or just the ID, for logs.
std::string label(const Task& task) {
  return task.name.empty() ? task.id : task.name + " (" + task.id + ")";
}

// Copies what an agent observed about an attempt into the task.
void copy_observed(TaskStatus& task, const AttemptStatus& status) {
  if (!status.container_id.empty())
    task.container_id = status.container_id;
  if (!status.port_bindings.empty())
    task.port_bindings = status.port_bindings;
  if (status.start_time_ms != 0)
    task.start_time_ms = status.start_time_ms;
  if (is_terminal(status.state)) {
    task.exit_code = status.exit_code;
    if (status.finish_time_ms != 0)
      task.finish_time_ms = status.finish_time_ms;
  }
}

}  // namespace

TaskLifecycle::TaskLifecycle(TaskTable& tasks, AgentRegistry& agents, Counters& counters,
                             Millis stop_grace, const Clock& clock, RestartOptions restart,
                             uint64_t random_seed)
    : tasks_(tasks),
      agents_(agents),
      counters_(counters),
      stop_grace_(stop_grace),
      clock_(clock),
      restart_(restart),
      random_(random_seed) {}

void TaskLifecycle::apply_status(const AgentRecord& agent, const AttemptStatus& status,
                                 SystemTime now, std::vector<AgentCommand>& out) {
  const TaskRecord* record = tasks_.find(status.task_id);
  if (record == nullptr) {
    bump(counters_, "status.unknown_task");
    if (!is_terminal(status.state))
      stop(agent.id, status.task_id, status.attempt, "unknown task", out);
    return;
  }
  const Task& task = record->task;
  if (!is_current(task, agent, status.attempt) && !adopt_returned(agent, status, now)) {
    bump(counters_, "status.stale_attempt");
    if (!is_terminal(status.state)) {
      stop(agent.id, status.task_id, status.attempt,
           "attempt " + std::to_string(status.attempt) + " is not current", out);
    }
    return;
  }
  const std::string& id = task.id;  // never changes, and records never move
  if (status.state == TaskState::Running) {
    switch (task.state) {
      case TaskState::Scheduled:
        tasks_.update(
            *record, [&](TaskStatus& t) { copy_observed(t, status); }, now);
        move(*record, TaskState::Running, status.reason, std::nullopt, now);
        return;
      case TaskState::Running:
        tasks_.update(
            *record, [&](TaskStatus& t) { copy_observed(t, status); }, now);
        return;
      case TaskState::Failed:
        if (task.reason == kReasonNodeLost && task.desired_state != TaskState::Completed) {
          move(*record, TaskState::Scheduled, std::string(kReasonNodeReturned), std::nullopt, now);
          tasks_.update(
              *record, [&](TaskStatus& t) { copy_observed(t, status); }, now);
          move(*record, TaskState::Running, std::string(kReasonNodeReturned), std::nullopt, now);
          return;
        }
        stop(agent.id, id, status.attempt, "the task already ended", out);
        return;
      case TaskState::Completed:
      case TaskState::Pending:
        stop(agent.id, id, status.attempt, "the task already ended", out);
        return;
    }
    return;
  }
  if (is_terminal(status.state)) {
    if (is_terminal(task.state))
      return;  // already ended: applying the same end twice changes nothing
    tasks_.update(
        *record, [&](TaskStatus& t) { copy_observed(t, status); }, now);
    // The agent decided state and reason (protocol/task_outcome.h); only the user's stop and
    // the restart policy override them here.
    end_attempt(*record, status.state, status.reason, now);
    return;
  }
  // Pending/Scheduled reports: the agent holds the attempt but has not started it yet.
}

void TaskLifecycle::reconcile(const AgentRecord& agent, std::span<const AttemptStatus> reported,
                              SystemTime now, std::vector<AgentCommand>& out) {
  std::set<std::string, std::less<>> reported_current;
  for (const auto& status : reported) {
    apply_status(agent, status, now, out);
    const TaskRecord* record = tasks_.find(status.task_id);
    if (record == nullptr || !is_current(record->task, agent, status.attempt))
      continue;
    reported_current.insert(status.task_id);
    const Task& task = record->task;
    if (task.desired_state == TaskState::Completed && !is_terminal(task.state) &&
        !is_terminal(status.state)) {
      // The STOP sent earlier may have been lost with the previous session.
      stop(agent.id, task.id, task.attempt, std::string(kReasonStopped), out);
    }
  }
  // A copy: the loop below changes the index it walks.
  for (std::string_view id : tasks_.tasks_on_node(agent.id)) {
    if (reported_current.contains(id))
      continue;
    const TaskRecord* record = tasks_.find(id);
    if (record->task.state == TaskState::Running) {
      bump(counters_, "status.agent_lost_task");
      lose(*record, std::string(kReasonAgentLostTask), now);
    } else if (record->task.state == TaskState::Scheduled &&
               !agent.unanswered.contains(std::string_view(id))) {
      take_back(id, record->task.attempt, agent.id,
                "agent " + agent.name + " does not have the assignment", now);
    }
  }
}

void TaskLifecycle::on_accept(AgentRecord& agent, const std::string& task_id, uint32_t attempt,
                              std::vector<AgentCommand>& out) {
  bool answered = agents_.on_accept(agent, task_id, attempt);
  const TaskRecord* record = tasks_.find(task_id);
  // A current attempt that already ended needs no STOP: either the agent reported the end
  // itself, or the user's stop already sent one, which follows the ASSIGN on the same pipe.
  if (record == nullptr || !is_current(record->task, agent, attempt)) {
    bump(counters_, "work.late_accept");
    stop(agent.id, task_id, attempt, "assignment withdrawn", out);
    return;
  }
  if (answered)
    tasks_.set_offers_without_accept(*record, 0);
}

void TaskLifecycle::on_reject(AgentRecord& agent, const std::string& task_id, uint32_t attempt,
                              const std::string& reason, SystemTime now) {
  if (!agents_.on_reject(agent, task_id, attempt)) {
    bump(counters_, "work.late_reject");
    return;
  }
  bump(counters_, "work.rejects");
  take_back(task_id, attempt, agent.id,
            "rejected by " + agent.name + (reason.empty() ? "" : ": " + reason), now);
}

void TaskLifecycle::on_assignment_expired(const ExpiredAssignment& expired, SystemTime now,
                                          std::vector<AgentCommand>& out) {
  bump(counters_, "work.assign_timeouts");
  const AgentRecord* agent = agents_.find(expired.agent_id);
  std::string name = agent != nullptr ? agent->name : expired.agent_id;
  stop(expired.agent_id, expired.task_id, expired.attempt, "assignment timed out", out);
  take_back(expired.task_id, expired.attempt, expired.agent_id,
            "assignment to " + name + " timed out", now);
}

void TaskLifecycle::node_lost(const std::string& agent_id, SystemTime now) {
  auto unanswered = agents_.mark_lost(agent_id);
  for (std::string_view id : tasks_.tasks_on_node(agent_id)) {
    const TaskRecord* record = tasks_.find(id);
    auto pending = unanswered.find(id);
    if (record->task.state == TaskState::Scheduled && pending != unanswered.end() &&
        pending->second.attempt == record->task.attempt) {
      // Never accepted, so it never ran: offer it elsewhere rather than fail it.
      take_back(id, record->task.attempt, agent_id, "node lost before accepting", now);
      continue;
    }
    lose(*record, std::string(kReasonNodeLost), now);
  }
}

Status TaskLifecycle::stop_task(std::string_view task_id, SystemTime now,
                                std::vector<AgentCommand>& out) {
  const TaskRecord* record = tasks_.find(task_id);
  if (record == nullptr)
    return Status::not_found("no task with ID " + std::string(task_id));
  const std::string& id = record->task.id;  // never changes, and records never move
  // A restart backoff or a pending reschedule ends with the stop.
  hints_.erase(id);
  moved_.erase(id);
  if (record->task.state == TaskState::Completed)
    return Status::ok();
  // A Failed task keeps its state, but if its node comes back the attempt is stopped there
  // instead of being adopted.
  tasks_.update(
      *record, [](TaskStatus& t) { t.desired_state = TaskState::Completed; }, now);
  const Task& task = record->task;
  switch (task.state) {
    case TaskState::Completed:
    case TaskState::Failed:
      return Status::ok();
    case TaskState::Pending:
      move(*record, TaskState::Completed, std::string(kReasonStopped), std::nullopt, now);
      return Status::ok();
    case TaskState::Scheduled:
      if (!task.node_id.empty())
        stop(task.node_id, id, task.attempt, std::string(kReasonStopped), out);
      move(*record, TaskState::Completed, std::string(kReasonStopped), std::nullopt, now);
      return Status::ok();
    case TaskState::Running: {
      const AgentRecord* agent = agents_.find(task.node_id);
      if (agent != nullptr && agent->state == AgentState::Welcomed) {
        // Ends when the agent reports the final state (apply_status -> finish).
        stop(task.node_id, id, task.attempt, std::string(kReasonStopped), out);
      } else {
        move(*record, TaskState::Completed, std::string(kReasonStopped), std::nullopt, now);
      }
      return Status::ok();
    }
  }
  return Status::ok();
}

bool TaskLifecycle::move(const TaskRecord& record, TaskState to, std::string reason,
                         std::optional<NodeRef> node, SystemTime now) {
  Status s = tasks_.transition(record, to, std::move(reason), std::move(node), now);
  if (!s.is_ok()) {
    bump(counters_, "tasks.invalid_transition");
    spdlog::warn("ignored a state change: {}", s.message());
    return false;
  }
  return true;
}

void TaskLifecycle::take_back(std::string_view task_id, uint32_t attempt, std::string_view agent_id,
                              std::string reason, SystemTime now) {
  const TaskRecord* record = tasks_.find(task_id);
  if (record == nullptr)
    return;
  const Task& task = record->task;
  if (task.state != TaskState::Scheduled || task.attempt != attempt || task.node_id != agent_id)
    return;  // the task moved on meanwhile (stopped, placed again...)
  uint32_t offers = record->offers_without_accept + 1;
  if (offers >= kMaxOffersWithoutAccept) {
    bump(counters_, "tasks.gave_up_placing");
    move(*record, TaskState::Failed,
         "gave up after " + std::to_string(offers) + " offers; last: " + reason, std::nullopt, now);
    return;
  }
  tasks_.set_offers_without_accept(*record, offers);
  move(*record, TaskState::Scheduled, "offering again: " + reason, NodeRef{}, now);
}

void TaskLifecycle::stop(const std::string& agent_id, const std::string& task_id, uint32_t attempt,
                         std::string reason, std::vector<AgentCommand>& out) {
  bump(counters_, "work.stops");
  out.push_back(
      {agent_id, protocol::Stop{task_id, attempt, stop_grace_.count(), std::move(reason)}});
}

void TaskLifecycle::finish(const TaskRecord& record, TaskState to, std::string reason,
                           SystemTime now) {
  if (record.task.desired_state == TaskState::Completed) {
    move(record, TaskState::Completed, std::string(kReasonStopped), std::nullopt, now);
  } else {
    move(record, to, std::move(reason), std::nullopt, now);
  }
}

}  // namespace cube::broker

namespace cube::broker {

size_t TaskLifecycle::release_restarts(SteadyTime now) {
  return hints_.release_due(now).size();
}

void TaskLifecycle::end_attempt(const TaskRecord& record, TaskState ended, std::string reason,
                                SystemTime now) {
  const Task& task = record.task;
  if (task.desired_state == TaskState::Completed) {
    finish(record, ended, std::move(reason), now);
    return;
  }
  const std::string& id = task.id;  // never changes, and records never move
  const std::string node_id = task.node_id;
  const std::string node_name = task.node;
  double sample = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
  RestartDecision d = decide_restart(task, ended, reason, clock_.now(), sample, restart_);
  auto set_restart_count = [&] {
    tasks_.update(
        record, [&](TaskStatus& t) { t.restart_count = d.restart_count; }, now);
  };
  switch (d.action) {
    case RestartDecision::Action::Keep:
      move(record, ended, std::move(reason), std::nullopt, now);
      return;
    case RestartDecision::Action::Restart:
      // The failure stays in the history; an exit 0 cannot be recorded as Completed, which is
      // terminal, so the Scheduled entry's reason says how the attempt ended.
      if (ended == TaskState::Failed)
        move(record, TaskState::Failed, reason, std::nullopt, now);
      set_restart_count();
      if (!move(record, TaskState::Scheduled, d.reason, NodeRef{}, now))
        return;
      hints_.set(id, PlacementHint{d.at, node_id, ""});
      bump(counters_, "tasks.restarts");
      spdlog::info("task {} on {}: {}", label(task), node_name, d.reason);
      return;
    case RestartDecision::Action::Reschedule:
      if (another_node_offers(task.driver, node_id)) {
        if (ended == TaskState::Failed)
          move(record, TaskState::Failed, d.reason, std::nullopt, now);
        set_restart_count();
        std::string why = "rescheduling on a node other than " + node_name + ": " + d.reason;
        if (!move(record, TaskState::Scheduled, why, NodeRef{}, now))
          return;
        hints_.set(id, PlacementHint{std::nullopt, "", node_id});
        bump(counters_, "tasks.rescheduled_elsewhere");
        spdlog::info("task {}: {}", label(task), why);
        return;
      }
      d.reason += "; no other node to reschedule on";
      break;
    case RestartDecision::Action::GiveUp:
      break;
  }
  bump(counters_, "tasks.restarts_exhausted");
  spdlog::info("task {} on {}: {}", label(task), node_name, d.reason);
  move(record, d.end_state, d.reason, std::nullopt, now);
}

void TaskLifecycle::lose(const TaskRecord& record, std::string reason, SystemTime now) {
  const Task& task = record.task;
  if (task.desired_state == TaskState::Completed) {
    finish(record, TaskState::Failed, std::move(reason), now);
    return;
  }
  const std::string& id = task.id;  // never changes, and records never move
  MovedAttempt lost{task.node_id, task.attempt};
  if (!move(record, TaskState::Failed, reason, std::nullopt, now))
    return;
  if (restart_mode(task.restart_policy).value_or(RestartMode::Never) == RestartMode::Never)
    return;
  if (!move(record, TaskState::Scheduled, std::string(kReasonRescheduledPrefix) + reason, NodeRef{},
            now)) {
    return;
  }
  moved_[id] = std::move(lost);
  bump(counters_, "tasks.rescheduled");
}

bool TaskLifecycle::adopt_returned(const AgentRecord& agent, const AttemptStatus& status,
                                   SystemTime now) {
  auto moved = moved_.find(status.task_id);
  if (moved == moved_.end())
    return false;
  const TaskRecord& record = *tasks_.find(status.task_id);
  const Task& task = record.task;
  bool same_attempt = moved->second.agent_id == agent.id &&
                      moved->second.attempt == status.attempt && task.attempt == status.attempt;
  if (!same_attempt || task.state != TaskState::Scheduled || !task.node_id.empty() ||
      task.desired_state == TaskState::Completed) {
    if (task.attempt != moved->second.attempt)
      moved_.erase(moved);  // placed again since: nothing left to adopt
    return false;
  }
  if (status.state != TaskState::Running && !is_terminal(status.state))
    return false;
  const std::string& id = task.id;  // never changes, and records never move
  moved_.erase(moved);
  hints_.erase(id);
  bump(counters_, "tasks.adopted_after_return");
  return move(record, TaskState::Running, std::string(kReasonNodeReturned),
              NodeRef{agent.id, agent.name}, now);
}

bool TaskLifecycle::another_node_offers(std::string_view driver, std::string_view except) const {
  for (const auto& [id, agent] : agents_.agents()) {
    if (id == except || agent.state != AgentState::Welcomed)
      continue;
    for (const auto& d : agent.drivers) {
      if (d == driver)
        return true;
    }
  }
  return false;
}

}  // namespace cube::broker
