#include "broker/agent_registry.h"

#include <algorithm>
#include <utility>

#include "common/check.h"
#include "protocol/beacon_slices.h"

namespace cube::broker {
namespace {

// Agent IDs are UUIDs in practice; the bound keeps a hostile HELLO from bloating every index.
constexpr size_t kMaxAgentIdBytes = 128;

Status no_session() {
  return Status::unauthorized("no session: send HELLO");
}

}  // namespace

uint32_t AgentRecord::credit() const {
  if (state != AgentState::Welcomed)
    return 0;
  auto pending = static_cast<uint32_t>(unanswered.size());
  return free_slots > pending ? free_slots - pending : 0;
}

Result<AgentRegistry::HelloResult> AgentRegistry::on_hello(const protocol::Hello& hello,
                                                           std::string routing_id,
                                                           std::string session_id, int64_t now_ms) {
  if (hello.agent_id.empty())
    return Status::invalid("HELLO without agent_id");
  if (hello.agent_id.size() > kMaxAgentIdBytes) {
    return Status::invalid("HELLO agent_id is longer than " + std::to_string(kMaxAgentIdBytes) +
                           " bytes");
  }
  CUBE_CHECK(!session_id.empty()) << "the broker generates a session id for every HELLO";
  HelloResult result;
  AgentRecord& agent = agents_[hello.agent_id];
  result.was_welcomed = agent.state == AgentState::Welcomed;
  end_session(agent);
  forget_deadlines(agent);
  agent.unanswered.clear();

  agent.id = hello.agent_id;
  agent.name = hello.name.empty() ? hello.agent_id : hello.name;
  agent.version = hello.version;
  agent.drivers = hello.drivers;
  agent.capacity = hello.capacity;
  agent.labels = hello.labels;
  agent.announced_batches =
      std::ranges::find(hello.features, protocol::kFeatureBatches) != hello.features.end();
  agent.announced_beacon_slices =
      std::ranges::find(hello.features, protocol::kFeatureBeaconSlices) != hello.features.end();
  agent.routing_id = std::move(routing_id);
  agent.session_id = std::move(session_id);
  agent.session_number = ++last_session_number_;
  agent.state = AgentState::Welcomed;
  agent.free_slots = 0;
  agent.last_seen_ms = now_ms;
  agent.sync_requested_at.reset();
  sessions_[agent.session_id] = &agent;
  if (!agent.announced_beacon_slices)
    ++sessions_without_beacon_slices_;
  result.agent = &agent;
  return result;
}

Result<AgentRecord*> AgentRegistry::authenticate(std::string_view session_id) {
  if (session_id.empty())
    return no_session();
  auto it = sessions_.find(session_id);
  if (it == sessions_.end())
    return no_session();
  CUBE_CHECK(it->second->state == AgentState::Welcomed)
      << "sessions_ only holds sessions of Welcomed agents";
  return it->second;
}

Result<AgentRecord*> AgentRegistry::authenticate_event(std::string_view agent_id,
                                                       std::string_view session_id) {
  auto agent = authenticate(session_id);
  if (!agent.is_ok())
    return agent;
  if ((*agent)->id != agent_id)
    return no_session();
  return agent;
}

AgentRecord* AgentRegistry::find(std::string_view agent_id) {
  auto it = agents_.find(agent_id);
  return it == agents_.end() ? nullptr : &it->second;
}

const AgentRecord* AgentRegistry::find(std::string_view agent_id) const {
  auto it = agents_.find(agent_id);
  return it == agents_.end() ? nullptr : &it->second;
}

void AgentRegistry::add_expected(const std::string& agent_id, const std::string& name) {
  if (agent_id.empty() || agents_.contains(agent_id))
    return;
  AgentRecord& agent = agents_[agent_id];
  agent.id = agent_id;
  agent.name = name.empty() ? agent_id : name;
}

void AgentRegistry::on_credit(AgentRecord& agent, uint32_t free_slots) {
  agent.free_slots = free_slots;
}

Status AgentRegistry::add_assignment(AgentRecord& agent, std::string_view task_id, uint32_t attempt,
                                     SteadyTime deadline, Millis extension) {
  if (agent.state != AgentState::Welcomed)
    return no_session();
  auto existing = agent.unanswered.find(task_id);
  bool replaces = existing != agent.unanswered.end();
  auto others = static_cast<uint32_t>(agent.unanswered.size()) - (replaces ? 1 : 0);
  if (agent.free_slots <= others)
    return Status::unavailable("agent " + agent.name + " has no credit");
  if (replaces) {
    erase_deadline(existing->second);
    agent.unanswered.erase(existing);
  }
  auto added = agent.unanswered.emplace(
      std::string(task_id),
      PendingAssignment{attempt, deadline, ++agent.assignments_sent, agent.answers, extension});
  add_deadline(agent, added.first->first, added.first->second);
  return Status::ok();
}

void AgentRegistry::add_deadline(AgentRecord& agent, std::string_view task_id,
                                 PendingAssignment& pending) {
  pending.deadline_seq = next_deadline_seq_++;
  deadlines_.emplace(std::pair{pending.deadline, pending.deadline_seq},
                     DeadlineOwner{&agent, task_id});
}

bool AgentRegistry::on_accept(AgentRecord& agent, std::string_view task_id, uint32_t attempt) {
  auto it = agent.unanswered.find(task_id);
  if (it == agent.unanswered.end() || it->second.attempt != attempt)
    return false;
  note_answer(agent, it->second);
  erase_deadline(it->second);
  agent.unanswered.erase(it);
  if (agent.free_slots > 0)
    --agent.free_slots;
  return true;
}

bool AgentRegistry::on_reject(AgentRecord& agent, std::string_view task_id, uint32_t attempt) {
  auto it = agent.unanswered.find(task_id);
  if (it == agent.unanswered.end() || it->second.attempt != attempt)
    return false;
  note_answer(agent, it->second);
  erase_deadline(it->second);
  agent.unanswered.erase(it);
  return true;
}

void AgentRegistry::note_answer(AgentRecord& agent, const PendingAssignment& answered) {
  ++agent.answers;
  agent.last_answered_order = std::max(agent.last_answered_order, answered.order);
}

std::vector<ExpiredAssignment> AgentRegistry::take_expired(SteadyTime now) {
  std::vector<ExpiredAssignment> out;
  while (!deadlines_.empty() && deadlines_.begin()->first.first <= now) {
    auto [agent, task_id] = deadlines_.begin()->second;
    auto it = agent->unanswered.find(task_id);
    CUBE_CHECK(it != agent->unanswered.end()) << "deadlines_ mirrors unanswered";
    PendingAssignment& pending = it->second;
    deadlines_.erase(deadlines_.begin());
    bool working_toward_it =
        agent->answers > pending.answers_at_deadline && agent->last_answered_order < pending.order;
    if (pending.extension.count() > 0 && working_toward_it) {
      pending.deadline = now + pending.extension;
      pending.answers_at_deadline = agent->answers;
      add_deadline(*agent, it->first, pending);
      ++deadlines_extended_;
      continue;
    }
    out.push_back({agent->id, std::string(task_id), pending.attempt});
    agent->unanswered.erase(it);  // last: `task_id` views its key
  }
  return out;
}

std::optional<SteadyTime> AgentRegistry::next_deadline() const {
  if (deadlines_.empty())
    return std::nullopt;
  return deadlines_.begin()->first.first;
}

std::map<std::string, PendingAssignment, std::less<>> AgentRegistry::mark_lost(
    std::string_view agent_id) {
  AgentRecord* agent = find(agent_id);
  if (agent == nullptr)
    return {};
  forget_deadlines(*agent);
  end_session(*agent);
  agent->session_id.clear();
  agent->session_number = ++last_session_number_;
  agent->state = AgentState::Lost;
  agent->free_slots = 0;
  agent->sync_requested_at.reset();
  return std::exchange(agent->unanswered, {});
}

void AgentRegistry::end_session(const AgentRecord& agent) {
  if (agent.session_id.empty() || sessions_.erase(agent.session_id) == 0)
    return;
  if (!agent.announced_beacon_slices)
    --sessions_without_beacon_slices_;
}

void AgentRegistry::forget_deadlines(const AgentRecord& agent) {
  for (const auto& [task_id, pending] : agent.unanswered)
    erase_deadline(pending);
}

}  // namespace cube::broker
