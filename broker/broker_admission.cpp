// BrokerLoop's admission checks (issue 9): who an agent is under CURVE, whether a SUBMIT is
// let in (task policy, per-client rate, pending bound), the allowlist reload (SIGHUP) and the
// ZAP counters. Kept out of broker_loop.cpp so the security rules read in one place; they run
// on the loop thread like every handler.
#include <spdlog/spdlog.h>

#include "broker/broker_loop.h"

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

bool BrokerLoop::check_agent_identity(const protocol::Received& message,
                                      const std::string& routing_id) {
  if (options_.curve_secret.empty())
    return true;
  auto hello = protocol::decode_as<protocol::Hello>(message.body);
  if (!hello.is_ok())
    return true;  // on_hello answers malformed HELLOs
  std::string key_name = property(message, "User-Id");
  std::string problem;
  if (hello->name != key_name) {
    problem = "this agent's key is authorized as \"" + key_name +
              "\", so it cannot say HELLO as \"" + hello->name + "\" (start it with --name " +
              key_name + ")";
  } else if (const AgentRecord* known = agents_.find(hello->agent_id);
             known != nullptr && !known->name.empty() && known->name != key_name) {
    problem = "agent id " + hello->agent_id + " belongs to \"" + known->name +
              "\", not to this agent's key \"" + key_name + "\"";
  }
  if (problem.empty())
    return true;
  bump(counters_, "work.hello_wrong_identity");
  if (first_report("work.identity." + key_name + "/" + hello->name))
    spdlog::warn("refused HELLO: {}", problem);
  queue_work_error(routing_id, protocol::ErrorMessage{ErrorCode::Unauthorized, problem});
  return false;
}

Status BrokerLoop::admit_submit(const protocol::Received& message, const Task& task) {
  if (Status s = check_task_policy(options_.task_policy, task); !s.is_ok()) {
    bump(counters_, "client.submit_refused_policy");
    return s;
  }
  if (rate_limiter_.enabled()) {
    std::string client = property(message, "User-Id");
    if (client.empty())
      client = property(message, "Peer-Address");
    if (!rate_limiter_.allow(client, clock_.now())) {
      bump(counters_, "client.submit_rate_limited");
      return Status::unavailable("rate limit: retry later (--client-rate)");
    }
  }
  if (options_.max_pending > 0 && tasks_.placement_queue_size() >= options_.max_pending) {
    bump(counters_, "client.submit_queue_full");
    return Status::unavailable("too many tasks waiting for placement (" +
                               std::to_string(options_.max_pending) +
                               ", --max-pending): retry later");
  }
  return Status::ok();
}

Status BrokerLoop::reload_allowlist_files() {
  if (zap_ == nullptr || options_.authorized_agents_file.empty() ||
      options_.authorized_clients_file.empty())
    return Status::ok();
  auto agents = protocol::load_authorized_keys(options_.authorized_agents_file);
  auto clients = protocol::load_authorized_keys(options_.authorized_clients_file);
  Status problem = !agents.is_ok()    ? agents.status().with_context("--authorized-agents")
                   : !clients.is_ok() ? clients.status().with_context("--authorized-clients")
                                      : Status::ok();
  if (!problem.is_ok()) {
    bump(counters_, "zap.reload_failed");
    spdlog::error("not reloading the authorized keys, keeping the current lists: {}",
                  problem.message());
    return problem;
  }
  zap_->reload(ZapAllowlists::from(*agents, *clients));
  bump(counters_, "zap.reloads");
  spdlog::info("reloaded the authorized keys: {} agents ({}), {} clients ({})", agents->size(),
               options_.authorized_agents_file, clients->size(), options_.authorized_clients_file);
  return Status::ok();
}

void BrokerLoop::export_zap_counts(std::map<std::string, uint64_t>& counters) const {
  if (zap_ == nullptr)
    return;
  ZapCounts now = zap_->counts();
  counters["zap.admitted"] = now.admitted - zap_baseline_.admitted;
  counters["zap.refused.agents"] = now.refused_agents - zap_baseline_.refused_agents;
  // The startup self-check's probe is a refused client; it is not a stranger knocking.
  counters["zap.refused.clients"] = now.refused_clients - zap_baseline_.refused_clients;
  if (now.refused_other > 0)
    counters["zap.refused.other"] = now.refused_other;
}

}  // namespace cube::broker
