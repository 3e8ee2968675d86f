#include "broker/admission.h"

#include <spdlog/spdlog.h>

namespace cube::broker {
namespace {

// A message property ("User-Id", "Peer-Address"), or "" when libzmq has none.
std::string property(const protocol::Received& message, const char* name) {
  if (message.frames.empty())
    return {};
  // zmq_msg_gets reads a received message's metadata; it fails (nullptr) when absent.
  const char* value = zmq_msg_gets(message.frames.back().handle(), name);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

bool check_agent_identity(BrokerState& state, const Inbound& in, const protocol::Hello& hello) {
  if (state.options.curve_secret.empty())
    return true;
  std::string key_name = property(in.message, "User-Id");
  std::string problem;
  if (hello.name != key_name) {
    problem = "this agent's key is authorized as \"" + key_name +
              "\", so it cannot say HELLO as \"" + hello.name + "\" (start it with --name " +
              key_name + ")";
  } else if (const AgentRecord* known = state.agents.find(hello.agent_id);
             known != nullptr && !known->name.empty() && known->name != key_name) {
    problem = "agent id " + hello.agent_id + " belongs to \"" + known->name +
              "\", not to this agent's key \"" + key_name + "\"";
  }
  if (problem.empty())
    return true;
  bump(state.counters, "work.hello_wrong_identity");
  if (state.first_report("work.identity." + key_name + "/" + hello.name))
    spdlog::warn("refused HELLO: {}", problem);
  answer_error(state, in, Status::unauthorized(problem));
  return false;
}

Status admit_submit(BrokerState& state, const Inbound& in, const Task& task) {
  if (Status s = check_task_policy(state.options.task_policy, task); !s.is_ok()) {
    bump(state.counters, "client.submit_refused_policy");
    return s;
  }
  if (state.rate_limiter.enabled()) {
    std::string client = property(in.message, "User-Id");
    if (client.empty())
      client = property(in.message, "Peer-Address");
    if (!state.rate_limiter.allow(client, state.clock.now())) {
      bump(state.counters, "client.submit_rate_limited");
      return Status::unavailable("rate limit: retry later (--client-rate)");
    }
  }
  size_t max_pending = state.options.max_pending;
  if (max_pending > 0 && state.tasks.placement_queue_size() >= max_pending) {
    bump(state.counters, "client.submit_queue_full");
    return Status::unavailable("too many tasks waiting for placement (" +
                               std::to_string(max_pending) + ", --max-pending): retry later");
  }
  return Status::ok();
}

}  // namespace cube::broker
