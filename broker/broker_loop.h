// BrokerLoop: the broker process role. One poll loop owns the four sockets (STYLE.md habit 6)
// and all broker state (broker/broker_state.h); nothing else touches them. The loop itself only
// polls, runs timers and drives the commit pipeline: what a message means is decided by its
// handler, found through one table (broker/message_table.h, broker/handlers.h).
//
//   client ROUTER  PORT    SUBMIT/LIST/GET/STOP_TASK/NODES/STATUS from REQ clients
//   work ROUTER    PORT+1  agent sessions: HELLO/CREDIT/ACCEPT(_BATCH)/REJECT/SNAPSHOT in,
//                          WELCOME/ASSIGN(_BATCH)/STOP/SYNC/ERROR out (ROUTER_MANDATORY, ZMTP
//                          heartbeats)
//   events SUB     PORT+2  AGENT_HEARTBEAT/TASK_STATE(_BATCH)/NODE_STATS from agent PUBs
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
#include <string>
#include <vector>

#include "broker/broker_state.h"
#include "broker/message_table.h"
#include "broker/options.h"
#include "broker/scheduler_view.h"
#include "broker/store.h"
#include "broker/store_writer.h"
#include "broker/zap_handler.h"
#include "common/clock.h"
#include "common/status.h"

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
  int port() const { return state_.sockets.port(); }
  const std::string& host() const { return options_.host; }
  // Random per broker start; the beacon and WELCOME carry it.
  const std::string& epoch() const { return state_.epoch; }

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

  // One iteration's reading: up to kBatchLimit messages from `socket`, each dispatched through
  // the message table (broker/message_table.h), or answered as a bad envelope.
  void drain(BrokerSocket socket);
  void run_timers();
  // Before each poll: one scheduling pass if anything changed, the group commit, the outbox.
  void before_poll();
  int64_t poll_timeout_ms() const;

  // Group commit (broker/store_writer.h): starts the next batch when none is in flight (a
  // refused batch again once commit_retry_at_ passed), or, with nothing uncommitted and nothing
  // in flight, settles the outbox.
  void commit_step(SteadyTime now);
  // The batch in flight landed: its messages may leave; or keep it for a retry.
  void on_commit_done(StoreBatchDone done);
  // At shutdown: waits for the batch in flight and commits what is left (unless the store
  // refuses), then sends what the outbox holds (or drops it if the store refused).
  void finish_commits();

  BrokerOptions options_;
  const Clock& clock_;
  std::unique_ptr<Store> store_;

  zmq::context_t context_;
  // Answers libzmq's ZAP requests under CURVE; started before the first bind, and declared
  // after context_ so that it stops before the context closes.
  std::unique_ptr<ZapHandler> zap_;
  // Everything the handlers share, the sockets included (closed before context_).
  BrokerState state_;
  const MessageTable table_;

  SchedulerView scheduler_view_;  // the scheduler's nodes, kept between passes
  size_t cursor_ = 0;
  SteadyTime next_beacon_{};
  SteadyTime next_pass_at_{};  // the earliest time of the next scheduling pass (kPassSpacing)
  std::optional<SteadyTime> commit_retry_at_;
  // A batch the store refused, started again at commit_retry_at_, and its outbox number.
  std::optional<StoreBatch> retry_batch_;
  // The outbox number of the batch in flight (or of retry_batch_).
  uint64_t batch_in_flight_ = 0;
  // Created by run(); declared last so it stops (finishing its batch) before anything it uses.
  std::unique_ptr<StoreWriter> writer_;
};

}  // namespace cube::broker
