// BrokerState: what the broker loop owns and its message handlers share: the task table, the
// agents and their liveness, the lifecycle that decides task changes, the outbox, the sockets,
// counters. The loop (broker/broker_loop.h) polls, runs timers and commits; the handlers
// (broker/handlers.h) decide what a message changes; both work on this one BrokerState.
//
// Sending: handlers never write to a socket for a change they made. Replies that report a
// change and every message to an agent go through queue_work()/queue_reply() into the
// outbox (broker/outbox.h), which the loop flushes once the commit holding the change has
// landed. Only the messages the outbox header lists as bypassing it (errors before any change,
// read replies, LOGS) use reply()/reply_error()/sockets.send_work() directly.
//
// Thread-safety: none; the broker loop thread only. Nothing here blocks.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "broker/agent_command.h"
#include "broker/agent_registry.h"
#include "broker/broker_metrics.h"
#include "broker/broker_sockets.h"
#include "broker/counters.h"
#include "broker/event_feed.h"
#include "broker/event_sync.h"
#include "broker/liveness.h"
#include "broker/logs_proxy.h"
#include "broker/node_stats_table.h"
#include "broker/options.h"
#include "broker/outbox.h"
#include "broker/rate_limiter.h"
#include "broker/service_table.h"
#include "broker/task_lifecycle.h"
#include "broker/task_table.h"
#include "broker/zap_handler.h"
#include "common/clock.h"
#include "protocol/codec.h"

namespace cube::broker {

struct BrokerState {
  // `options` and `clock` must outlive the state; `zmq_context` too (the sockets live in it).
  BrokerState(const BrokerOptions& options, const Clock& clock, zmq::context_t& zmq_context);
  BrokerState(const BrokerState&) = delete;
  BrokerState& operator=(const BrokerState&) = delete;

  const BrokerOptions& options;
  const Clock& clock;
  const std::string epoch;  // random per broker start; the beacon and WELCOME carry it
  const int64_t started_ms;

  Counters counters;      // declared before what counts into it
  BrokerMetrics metrics;  // message counts and latencies, exported in STATUS
  BrokerSockets sockets;  // bound by BrokerLoop::bind()
  TaskTable tasks;
  ServiceTable services;  // docs/services.md; broker/service_loop.h keeps their tasks
  AgentRegistry agents;
  Liveness liveness;
  EventSync event_sync;
  NodeStatsTable node_stats;  // latest NODE_STATS per agent and task, for NODES and GET
  TaskLifecycle lifecycle;
  RateLimiter rate_limiter;
  LogsProxy logs;
  // Messages to agents that the lifecycle and the placement decided; queue_commands() moves
  // them into the outbox.
  std::vector<AgentCommand> commands;
  Outbox outbox;
  // Recent committed changes and the EVENTS requests waiting for them (docs/events.md). The
  // task and service tables report their changes into the outbox (feed_events.h); they reach
  // the feed from there once committed (flush_outbox).
  EventFeed feed;
  // Something changed that may let a task be placed: the loop runs a scheduling pass.
  bool schedule_needed = true;
  // The broker just loaded the services: the loop's next service walk visits every service,
  // not only the changed ones (broker/service_loop.h).
  bool walk_every_service = true;
  // When a rollout's monitor period or delay ends: the loop reconciles the services then.
  std::optional<SteadyTime> services_wake_at;
  // Under CURVE: the ZAP handler (owned by the loop) and its counts after the startup
  // self-check, which STATUS leaves out. nullptr without CURVE.
  const ZapHandler* zap = nullptr;
  ZapCounts zap_baseline;
  // High availability (broker/leader_campaign.h): "leader" while this broker serves (a single
  // broker always does), "standby" or "campaigning" while it only answers not_leader; and the
  // leader's client address ("HOST:PORT") when known. STATUS reports both.
  std::string role = "leader";
  std::string leader_address;
  std::vector<std::string> standbys;  // the other brokers on the store (BrokerDirectory)
  bool is_serving() const { return role == "leader"; }
  // Why the store cannot commit now (the last failed commit's error); "" while it can. Client
  // writes are then refused `unavailable` with this, instead of waiting for a commit that may
  // not come (docs/ha.md, "What happens when").
  std::string store_error;

  // True the first time `key` is seen, so a misbehaving peer is logged once, not per message.
  bool first_report(const std::string& key);

  // --- Client replies ---
  // Sends at once (the reads and the errors that broker/outbox.h lets bypass it).
  void reply(std::span<const zmq::message_t> routing, const protocol::Reply& reply);
  void reply_error(std::span<const zmq::message_t> routing, uint64_t request_id, Status status);
  // Queues `reply` behind every change made so far: it leaves once the commit holding them is
  // stored (the outbox rule), so whatever it reports is in the store by then.
  void queue_reply(std::span<const zmq::message_t> routing, const protocol::Reply& reply);
  // Queues (queue_reply) an OK reply carrying task `task_id` as it is now; it leaves with the
  // commit of the change it reports.
  void reply_after_commit(std::span<const zmq::message_t> routing, uint64_t request_id,
                          const std::string& task_id);

  // --- Agent messages (work ROUTER), all through the outbox ---
  template <typename M>
  void queue_work(const std::string& routing_id, const M& message) {
    outbox.push(OutboxSocket::Work, {routing_id}, protocol::MessageTraits<M>::kType,
                protocol::encode_body(message));
  }
  // Moves `commands` into the outbox, resolving agent ids to their connections. An agent's
  // consecutive ASSIGNs (other agents' commands between them do not count) leave together: as
  // one ASSIGN_BATCH when its session announced the feature (protocol/batches.h: cut to fit the
  // frame limit; a lone task stays a plain ASSIGN), else as single ASSIGNs. They leave before
  // that agent's next STOP or SYNC, so each agent's stream keeps the order decided. A scheduling
  // pass queues all its placements in one call: each agent gets one batch per pass.
  void queue_commands();
  // Sends what the outbox holds for stored batches.
  void flush_outbox();
  // Answers every client reply the outbox holds with `why` instead (same request ids), at once:
  // the commit they wait for failed. Returns how many.
  size_t refuse_held_replies(const Status& why);

  // --- The event feed ---
  // Queues a node's state change for the feed (it leaves with the next commit).
  void note_node(std::string_view name, std::string_view state, std::string_view previous);
  // Answers an EVENTS request from the feed at once with the events after `after` (0: from the
  // first; EventFeed::read_after), nothing after wait_ms, or too_old.
  void answer_events(std::span<const zmq::message_t> routing, uint64_t request_id, uint64_t after,
                     const protocol::EventFilter& filter, uint32_t max);
  // Answers the parked EVENTS requests that new events match, and those whose wait is over.
  void answer_parked_events(SteadyTime now);

  // --- Agents ---
  // Marks traffic from an agent for liveness and display.
  void touch(AgentRecord& agent);
  // Asks the agent for a SNAPSHOT (events were missed), at most once per 3 heartbeats: the
  // SNAPSHOT answers every gap seen meanwhile.
  void request_sync(AgentRecord& agent, std::string reason);

 private:
  std::unordered_set<std::string> reported_;
};

// Printable form of a routing id (binary bytes) for logs and report keys.
std::string hex(std::string_view bytes);
std::string frame_string(const zmq::message_t& frame);

}  // namespace cube::broker
