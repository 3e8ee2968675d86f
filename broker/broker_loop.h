// BrokerLoop: the broker process role. One poll loop owns the four sockets (STYLE.md habit 6)
// and all broker state; nothing else touches them.
//
//   client ROUTER  PORT    SUBMIT/LIST/GET/STOP_TASK/NODES/STATUS from REQ clients
//   work ROUTER    PORT+1  agent sessions: HELLO/CREDIT/ACCEPT/REJECT/SNAPSHOT in,
//                          WELCOME/ASSIGN/STOP/SYNC/ERROR out (ROUTER_MANDATORY, ZMTP heartbeats)
//   events SUB     PORT+2  AGENT_HEARTBEAT/TASK_STATE/NODE_STATS from agent PUBs
//   beacon PUB     PORT+3  BEACON every heartbeat
//
// Each iteration: poll (timeout = nearest deadline among beacon, liveness, assignment and
// restart-backoff deadlines; the store writer's fd is polled too), drain each ready socket up to
// kBatchLimit messages, run due timers (beacon, lost agents, unanswered assignments, ended
// restart backoffs), then one before-poll step: one scheduling pass if anything changed, the
// changed tasks handed to the store writer thread as one group commit (when the previous one
// has landed; broker/store_writer.h), then the outbox's messages whose commit has landed:
// replies to SUBMIT/STOP_TASK and every ASSIGN/STOP/SYNC/WELCOME wait for the commit holding
// the change they report (broker/outbox.h states the rule and its exceptions).
//
// Malformed input on any socket is counted (STATUS "counters"), logged once per peer and
// dropped, or answered with an error where the peer expects a reply; it never stops the loop.
//
// Thread-safety: construct and bind() on any thread, then run() on one thread; after that only
// that thread touches the object until run() returns.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/agent_command.h"
#include "broker/agent_registry.h"
#include "broker/broker_metrics.h"
#include "broker/counters.h"
#include "broker/event_sync.h"
#include "broker/liveness.h"
#include "broker/logs_proxy.h"
#include "broker/node_stats_table.h"
#include "broker/options.h"
#include "broker/outbox.h"
#include "broker/scheduler_view.h"
#include "broker/store.h"
#include "broker/store_writer.h"
#include "broker/task_lifecycle.h"
#include "broker/task_table.h"
#include "broker/zap_handler.h"
#include "common/clock.h"
#include "common/status.h"
#include "protocol/zmq_io.h"

namespace cube::broker {

// Messages handled per socket per iteration, so one busy socket cannot starve the others or
// the timers.
inline constexpr int kBatchLimit = 256;

class BrokerLoop {
 public:
  // `clock` must outlive the loop. `store` is owned.
  BrokerLoop(BrokerOptions options, const Clock& clock, std::unique_ptr<Store> store);
  ~BrokerLoop();
  BrokerLoop(const BrokerLoop&) = delete;
  BrokerLoop& operator=(const BrokerLoop&) = delete;

  // Loads every task from the store, then binds the four sockets on options.host from the base
  // port (options.port, or with port 0 the first random base in 20000..60000 whose four ports
  // are all free). Call once, before run().
  //   Unavailable  a port is taken or the address cannot be bound ("cannot bind
  //                tcp://127.0.0.1:7101 (work port): Address already in use"); no free base
  //                found for port 0; the store cannot be read.
  //   Invalid      the base port leaves no room for four ports (above 65532).
  //   Internal     the store is broken; under CURVE (options.curve_secret), the ZAP self-check
  //                failed: a random key was not refused (zap_handler.h).
  // Under CURVE the ZAP handler thread starts first and the bind blocks up to ~1 s for the
  // self-check.
  Status bind();

  // The bound base port; 0 before bind() succeeded.
  int port() const { return port_; }
  const std::string& host() const { return options_.host; }
  // Random per broker start; the beacon and WELCOME carry it.
  const std::string& epoch() const { return epoch_; }

  // Replaces the CURVE allowlists (SIGHUP). Any thread; a no-op without CURVE.
  void reload_allowlists(const std::vector<protocol::AuthorizedKey>& agents,
                         const std::vector<protocol::AuthorizedKey>& clients);

  // Re-reads options.authorized_agents_file and authorized_clients_file and, when both parse,
  // replaces the allowlists for new connections (connections already made stay) and logs the
  // new counts. Invalid or Unavailable (naming the file and the line) when either cannot be
  // read or parsed: the lists in use are kept, and the error is logged. OK and nothing done
  // without CURVE or without the file names. Reads two small files; any thread.
  Status reload_allowlist_files();

  // Serves until `stop_fd` becomes readable (a ShutdownSignal, an eventfd or a pipe; it is not
  // read), then commits what is left and returns. When `reload_fd` (a HangupSignal, an eventfd
  // or a pipe) becomes readable, the loop reads and discards what is pending there and calls
  // reload_allowlist_files(). Precondition: bind() returned OK. Blocks.
  void run(int stop_fd, int reload_fd = -1);

 private:
  Status load_store();
  Status bind_at(int base);

  // Handlers; each drains at most kBatchLimit messages.
  void drain_client();
  void drain_work();
  void drain_events();
  void handle_client(protocol::Received& message);
  void handle_work(protocol::Received& message);
  void handle_event(const protocol::Received& message);

  void on_submit(protocol::Received& message);
  // LOGS: forwards the request to the task's agent as LOGS_FETCH (logs_proxy.h), or answers
  // the error at once. LOGS_DATA: the agent's answer, replied to the waiting client.
  void on_logs(protocol::Received& message, const protocol::LogsRequest& request);
  void on_logs_data(const std::string& routing_id, std::string_view body);
  // Answers the LOGS requests whose agent did not answer in time.
  void expire_logs(SteadyTime now);
  void on_hello(const std::string& routing_id, std::string_view body);
  // Under CURVE: false (an ERROR unauthorized queued, counted) when a HELLO's agent name is not
  // the ZAP User-Id of its key, or claims the agent id of an agent with another key's name.
  bool check_agent_identity(const protocol::Received& message, const std::string& routing_id);
  // SUBMIT admission (task_policy.h, rate_limiter.h, --max-pending); OK or the refusal.
  Status admit_submit(const protocol::Received& message, const Task& task);
  void on_heartbeat(std::string_view body);
  // NODE_STATS: kept as the agent's latest usage (node_stats_table.h); never triggers SYNC.
  void on_node_stats(std::string_view body);
  void on_task_state(std::string_view body);
  // The Welcomed agent behind session_id (refreshing its routing id and liveness), or nullptr
  // after queueing an ERROR unauthorized to routing_id.
  AgentRecord* authenticate_work(const std::string& routing_id, std::string_view session_id);
  // An event's agent and session, checked; nullptr (counted) when it must be dropped.
  AgentRecord* authenticate_event(std::string_view agent_id, std::string_view session_id);
  // Marks traffic from an agent for liveness and display.
  void touch(AgentRecord& agent);
  void request_sync(AgentRecord& agent, std::string reason);

  void run_timers();
  void before_poll();
  int64_t poll_timeout_ms() const;

  // Replies to a client right away (reads and errors: broker/outbox.h says why they may).
  void reply(std::span<const zmq::message_t> routing, protocol::Reply reply);
  void reply_error(std::span<const zmq::message_t> routing, uint64_t request_id, Status status);
  // Queues an OK reply carrying task `task_id` as it is now; it leaves with the commit of the
  // change it reports (broker/outbox.h).
  void reply_after_commit(const protocol::Received& message, uint64_t request_id,
                          const std::string& task_id);
  // Queues an ERROR for a work-socket peer (through the outbox, so each agent's stream keeps
  // its order; broker_admission.cpp uses it too).
  void queue_work_error(const std::string& routing_id, const protocol::ErrorMessage& error);
  // Queues a message for a work-socket peer in the outbox.
  template <typename M>
  void queue_work(const std::string& routing_id, const M& message);
  // Moves the lifecycle's commands into the outbox, resolving agent ids to routing ids.
  void queue_commands();
  // Sends what the outbox holds for stored batches.
  void flush_outbox();
  void send_now(const OutboxMessage& message);

  // Group commit (broker/store_writer.h): starts the next batch when none is in flight (a
  // refused batch again once commit_retry_at_ passed), or, with nothing uncommitted and nothing
  // in flight, settles the outbox.
  void commit_step(SteadyTime now);
  // The batch in flight landed: its messages may leave; or keep it for a retry.
  void on_commit_done(StoreBatchDone done);
  // At shutdown: waits for the batch in flight and commits what is left (unless the store
  // refuses), then sends what the outbox holds (or drops it if the store refused).
  void finish_commits();

  // Adds the ZAP handler's refusals and admissions since bind() (the self-check excluded) to
  // STATUS counters as "zap.admitted", "zap.refused.agents", "zap.refused.clients".
  void export_zap_counts(std::map<std::string, uint64_t>& counters) const;

  protocol::NodeInfo node_info(const AgentRecord& agent) const;
  protocol::BrokerStatus broker_status() const;

  // True the first time `key` is seen, so a misbehaving peer is logged once, not per message.
  bool first_report(const std::string& key);

  BrokerOptions options_;
  const Clock& clock_;
  std::unique_ptr<Store> store_;
  std::string epoch_;
  int64_t started_ms_ = 0;
  int port_ = 0;

  zmq::context_t context_;
  // Answers libzmq's ZAP requests under CURVE; started before the first bind, and declared
  // after context_ so that it stops before the context closes.
  std::unique_ptr<ZapHandler> zap_;
  // zap_'s counts right after the startup self-check, which STATUS leaves out.
  ZapCounts zap_baseline_;
  zmq::socket_t client_;
  zmq::socket_t work_;
  zmq::socket_t events_;
  zmq::socket_t beacon_;

  TaskTable tasks_;
  AgentRegistry agents_;
  Liveness liveness_;
  EventSync event_sync_;
  NodeStatsTable node_stats_;  // latest NODE_STATS per agent and task, for NODES and GET
  Counters counters_;
  BrokerMetrics metrics_;  // message counts and latencies, exported in STATUS
  TaskLifecycle lifecycle_;
  RateLimiter rate_limiter_;

  std::vector<AgentCommand> commands_;  // appended by lifecycle/plan_apply, drained each step
  Outbox outbox_;
  LogsProxy logs_;
  SchedulerView scheduler_view_;  // the scheduler's nodes, kept between passes
  bool schedule_needed_ = true;
  size_t cursor_ = 0;
  SteadyTime next_beacon_;
  std::optional<SteadyTime> commit_retry_at_;
  SteadyTime next_pass_at_{};  // the earliest time of the next scheduling pass (kPassSpacing)
  std::set<std::string> reported_;
  // A batch the store refused, started again at commit_retry_at_, and its outbox number.
  std::optional<StoreBatch> retry_batch_;
  // The outbox number of the batch in flight (or of retry_batch_).
  uint64_t batch_in_flight_ = 0;
  // Created by run(); declared last so it stops (finishing its batch) before anything it uses.
  std::unique_ptr<StoreWriter> writer_;
};

}  // namespace cube::broker
