// LogsProxy: a client's LOGS travels to the agent that runs (or last ran) the task as LOGS_FETCH
// over that agent's own connection, and the agent's LOGS_DATA comes back as the client's reply
// (docs/protocol.md, Logs): the broker never connects to an agent.
//
// logs_agent_for() decides which agent to ask; LogsProxy keeps each forwarded request (the
// client's routing frames and request id) under a fetch id until the agent answers or the
// deadline passes, when the loop answers Unavailable instead.
//
// Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/agent_registry.h"
#include "broker/task_table.h"
#include "common/clock.h"
#include "common/status.h"

namespace cube::broker {

// The agent that serves `task_id`'s logs: the task's node, which runs it or ran it last.
//   NotFound     "no task with ID ..."
//   Unavailable  the task has not been placed on a node yet (with its Pending reason), or its
//                agent has no session ("agent NAME (ID) is not connected; its logs are
//                unavailable until it reconnects")
Result<const AgentRecord*> logs_agent_for(const TaskTable& tasks, const AgentRegistry& agents,
                                          std::string_view task_id);

class LogsProxy {
 public:
  // 5 s: reading a log is one driver call on the agent (a local file, or one HTTP round trip
  // to dockerd); more means the agent is stuck or gone, and the client should hear so before
  // its own request times out.
  static constexpr Millis kDefaultTimeout{5000};

  // One forwarded request.
  struct Pending {
    std::vector<zmq::message_t> routing;  // the client's frames, to reply on the client ROUTER
    uint64_t request_id = 0;
    std::string agent_id;
    std::string agent_name;
    std::string task_id;
    SteadyTime deadline{};
  };

  // fetch ids start at `first_fetch_id` (random in the broker, so that a LOGS_DATA meant for a
  // previous broker process does not match) and count up.
  explicit LogsProxy(uint64_t first_fetch_id, Millis timeout = kDefaultTimeout);

  // Records a request forwarded to `agent_id` at `now`; returns the fetch id for LOGS_FETCH.
  uint64_t add(std::vector<zmq::message_t> routing, uint64_t request_id, std::string agent_id,
               std::string agent_name, std::string task_id, SteadyTime now);

  // The request waiting under `fetch_id`; nullptr when none (answered already, expired, or a
  // fetch id this broker never gave out).
  const Pending* find(uint64_t fetch_id) const;
  // Removes and returns it. Precondition: find(fetch_id) != nullptr.
  Pending take(uint64_t fetch_id);

  // Removes and returns the requests whose deadline is at or before `now`, oldest first.
  std::vector<Pending> take_expired(SteadyTime now);
  // The earliest deadline; nullopt when nothing waits.
  std::optional<SteadyTime> next_deadline() const;

  size_t size() const { return pending_.size(); }
  Millis timeout() const { return timeout_; }

 private:
  Millis timeout_;
  uint64_t next_fetch_id_;
  std::map<uint64_t, Pending> pending_;
};

}  // namespace cube::broker
