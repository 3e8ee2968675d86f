// The logs proxy (broker/logs_proxy.h): a client's LOGS goes to the agent that runs the task
// as LOGS_FETCH over that agent's own connection, and its LOGS_DATA becomes the client's reply.
// Both bypass the outbox: log bytes live on the agent, not in the store.
#include "broker/handlers.h"

namespace cube::broker {
namespace {

void on_logs(BrokerState& state, Inbound& in, protocol::LogsRequest& request) {
  auto agent = logs_agent_for(state.tasks, state.agents, request.task_id);
  if (!agent.is_ok())
    return state.reply_error(in.routing(), request.request_id, agent.status());
  const AgentRecord& target = **agent;
  const Task& task = state.tasks.find(request.task_id)->task;
  std::vector<zmq::message_t> routing;
  routing.reserve(in.message.envelope_start);
  for (size_t i = 0; i < in.message.envelope_start; ++i)
    routing.push_back(std::move(in.message.frames[i]));
  protocol::LogsFetch fetch;
  fetch.fetch_id = state.logs.add(std::move(routing), request.request_id, target.id, target.name,
                                  task.id, state.clock.now());
  fetch.task_id = task.id;
  fetch.attempt = task.attempt;
  fetch.offset = request.offset;
  fetch.max_bytes = request.max_bytes <= 0 || request.max_bytes > protocol::kMaxLogChunkBytes
                        ? protocol::kMaxLogChunkBytes
                        : request.max_bytes;
  fetch.tail_lines = request.tail_lines;
  state.sockets.send_work(target.routing_id, protocol::MessageType::LogsFetch,
                          protocol::encode_body(fetch));
  bump(state.counters, "client.logs");
}

void on_logs_data(BrokerState& state, Inbound& in, protocol::LogsData& data) {
  const LogsProxy::Pending* pending = state.logs.find(data.fetch_id);
  AgentRecord* agent = pending != nullptr ? state.agents.find(pending->agent_id) : nullptr;
  if (agent == nullptr || agent->routing_id != in.routing_id) {
    // Late (the client was already told the agent did not answer), duplicate, or not from the
    // agent that was asked.
    bump(state.counters, "work.logs_data_unmatched");
    return;
  }
  state.touch(*agent);
  LogsProxy::Pending request = state.logs.take(data.fetch_id);
  protocol::Reply r;
  r.request_id = request.request_id;
  if (data.error_code != ErrorCode::Ok) {
    r.status = Status(data.error_code, std::move(data.error_message));
  } else {
    r.logs = protocol::LogsChunk{std::move(data.data), data.next_offset, data.eof};
  }
  state.reply(request.routing, r);
}

}  // namespace

void add_logs_handlers(MessageTable& table) {
  table.add<protocol::LogsRequest, on_logs>(BrokerSocket::Client);
  table.add<protocol::LogsData, on_logs_data>(BrokerSocket::Work);
}

void expire_logs(BrokerState& state, SteadyTime now) {
  for (auto& request : state.logs.take_expired(now)) {
    bump(state.counters, "client.logs_timeouts");
    state.reply_error(request.routing, request.request_id,
                      Status::unavailable(
                          "agent " + request.agent_name +
                          " did not answer the logs request for task " + request.task_id +
                          " within " + std::to_string(state.logs.timeout().count() / 1000) + " s"));
  }
}

}  // namespace cube::broker
