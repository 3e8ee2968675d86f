// BrokerLoop: the broker process role. One poll loop owns the four sockets (STYLE.md habit 6)
// and all broker state; nothing else touches them.
//
//   client ROUTER  PORT    SUBMIT/LIST/GET/STOP_TASK/NODES/STATUS from REQ clients
//   work ROUTER    PORT+1  agent sessions: HELLO/CREDIT/ACCEPT/REJECT/SNAPSHOT in,
//                          WELCOME/ASSIGN/STOP/SYNC/ERROR out (ROUTER_MANDATORY, ZMTP heartbeats)
//   events SUB     PORT+2  AGENT_HEARTBEAT/TASK_STATE from agent PUBs
//   beacon PUB     PORT+3  BEACON every heartbeat
//
// Each iteration: poll (timeout = nearest deadline among beacon, liveness and assignment
// deadlines), drain each ready socket up to kBatchLimit messages, run due timers (beacon, lost
// agents, unanswered assignments), then one before-poll step: one scheduling pass if anything
// changed, one group commit of the changed tasks, then the messages to agents and the replies
// held for SUBMIT/STOP_TASK (a change is acknowledged only after its commit).
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
#include "broker/counters.h"
#include "broker/event_sync.h"
#include "broker/liveness.h"
#include "broker/options.h"
#include "broker/store.h"
#include "broker/task_lifecycle.h"
#include "broker/task_table.h"
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
  //   Internal     the store is broken.
  Status bind();

  // The bound base port; 0 before bind() succeeded.
  int port() const { return port_; }
  const std::string& host() const { return options_.host; }
  // Random per broker start; the beacon and WELCOME carry it.
  const std::string& epoch() const { return epoch_; }

  // Serves until `stop_fd` becomes readable (a ShutdownSignal, an eventfd or a pipe; it is not
  // read), then commits what is left and returns. Precondition: bind() returned OK. Blocks.
  void run(int stop_fd);

 private:
  struct WorkMessage {
    std::string routing_id;
    protocol::MessageType type;
    std::string body;
  };
  struct HeldReply {
    std::vector<zmq::message_t> routing;
    uint64_t request_id = 0;
    std::string task_id;
  };

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
  void on_hello(const std::string& routing_id, std::string_view body);
  void on_heartbeat(std::string_view body);
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

  // Replies to a client right away.
  void reply(std::span<const zmq::message_t> routing, protocol::Reply reply);
  void reply_error(std::span<const zmq::message_t> routing, uint64_t request_id, Status status);
  // Holds an OK reply carrying the task `task_id` until the next successful commit.
  void hold_reply(protocol::Received& message, uint64_t request_id, std::string task_id);
  // Queues a message for a work-socket peer (sent in order in before_poll()).
  template <typename M>
  void queue_work(const std::string& routing_id, const M& message);
  // Moves the lifecycle's commands into the work queue, resolving agent ids to routing ids.
  void queue_commands();
  void send_work_queue();
  void send_held_replies();

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
  zmq::socket_t client_;
  zmq::socket_t work_;
  zmq::socket_t events_;
  zmq::socket_t beacon_;

  TaskTable tasks_;
  AgentRegistry agents_;
  Liveness liveness_;
  EventSync event_sync_;
  Counters counters_;
  TaskLifecycle lifecycle_;

  std::vector<AgentCommand> commands_;  // appended by lifecycle/plan_apply, drained each step
  std::vector<WorkMessage> work_queue_;
  std::vector<HeldReply> held_replies_;
  bool schedule_needed_ = true;
  size_t cursor_ = 0;
  SteadyTime next_beacon_;
  std::optional<SteadyTime> commit_retry_at_;
  std::set<std::string> reported_;
};

}  // namespace cube::broker
