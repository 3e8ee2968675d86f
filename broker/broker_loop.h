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
// restart-backoff deadlines; the store writer's fd is polled too; the events socket is left out
// for up to 5 ms after it was read empty, so that agent events are read in groups rather than
// one wake-up each), drain each ready socket up to kBatchLimit messages, run due timers (beacon,
// lost agents, unanswered assignments, ended restart backoffs), then one before-poll step: one
// scheduling pass if anything changed, the changed tasks handed to the store writer thread as one
// group commit (when the previous one has landed; broker/store_writer.h), then the outbox's
// messages whose commit has landed: replies to SUBMIT/STOP_TASK and every ASSIGN/STOP/SYNC/WELCOME
// wait for the commit holding the change they report (broker/outbox.h states the rule and its
// exceptions).
//
// Malformed input on any socket is counted (STATUS "counters"), logged once per peer and
// dropped, or answered with an error where the peer expects a reply; it never stops the loop.
//
// High availability (docs/ha.md). With use_election() the broker starts as a standby: bind()
// binds the ports without loading the store, and every request but STATUS, and every agent
// message, is answered `unavailable` "not_leader: leader is HOST:PORT" (docs/protocol.md). When
// the campaign (broker/leader_campaign.h) wins, the loop loads the store, fences it (every
// later write carries "PREFIX/leader is still mine") and serves. When it loses the lease, or a
// commit is refused by the fence (Conflict), it steps down at once: run() returns
// LoopExit::LeadershipLost without another write or message. cube-broker then destroys the
// loop (and with it every task, agent and held message of that reign), builds a new one on the
// same store, campaign and ports, and serves as a standby again (broker/main.cpp).
//
// A leader whose store cannot commit (etcd down or without quorum) keeps serving reads from
// memory, answers the client replies held for the failed commit, and every later SUBMIT,
// SUBMIT_BATCH and STOP_TASK, `unavailable` with the store's error until a commit lands again;
// messages to agents stay held (the outbox rule).
//
// Thread-safety: construct and bind() on any thread, then run() on one thread; after that only
// that thread touches the object until run() returns.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/beacon_schedule.h"
#include "broker/broker_directory.h"
#include "broker/broker_state.h"
#include "broker/leader_campaign.h"
#include "broker/message_table.h"
#include "broker/options.h"
#include "broker/scheduler_view.h"
#include "broker/standby_copy.h"
#include "broker/store.h"
#include "broker/store_writer.h"
#include "broker/zap_handler.h"
#include "common/clock.h"
#include "common/status.h"

namespace cube::broker {

// Messages handled per socket per iteration, so one busy socket cannot starve the others or
// the timers.
inline constexpr int kBatchLimit = 256;

// What a broker sharing its store with others uses (docs/ha.md). Each must outlive the loop; the
// caller start()s the campaign and the directory.
struct ElectionParts {
  LeaderCampaign* campaign = nullptr;    // required: who leads
  BrokerDirectory* directory = nullptr;  // optional: the brokers STATUS lists as standbys
  // Optional: the warm copy a standby follows (the loop calls follow()) and takes on winning
  // instead of reading the whole store; without it, or when it is not ready in time, the loop
  // reads the store.
  StandbyCopy* copy = nullptr;
  // Called on the loop's thread when it wins, before the tasks are loaded, with no commit in
  // flight: must make every later commit conditional on PREFIX/leader's create_revision ==
  // reign (EtcdStore::set_write_guard). A non-OK Status makes the loop step down.
  std::function<Status(int64_t reign)> fence;
};

// Why run() returned.
enum class LoopExit {
  Stopped,         // stop_fd became readable: a clean shutdown
  LeadershipLost,  // the lease was lost or a write was fenced: this broker must stop at once
};

class BrokerLoop {
 public:
  // `clock` must outlive the loop. `store` is owned.
  BrokerLoop(BrokerOptions options, const Clock& clock, std::unique_ptr<Store> store);
  ~BrokerLoop();
  BrokerLoop(const BrokerLoop&) = delete;
  BrokerLoop& operator=(const BrokerLoop&) = delete;

  // Makes this broker one of several on one store (docs/ha.md): it serves only while
  // `parts.campaign` says it leads. Call before bind().
  void use_election(ElectionParts parts);

  // Loads every task from the store (not with use_election(): the store is loaded on winning),
  // then binds the four sockets on options.host from the base
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
  // LeadershipLost (only with use_election()): returned without committing or sending what is
  // pending, once the commit in flight (if any) ended; meanwhile the loop answers as a standby
  // that knows no leader. lost_reason() says why.
  LoopExit run(int stop_fd, int reload_fd = -1);
  // Why leadership was lost ("the lease expired ..."); empty otherwise.
  const std::string& lost_reason() const { return lost_reason_; }
  // Hands the store back after run() returned (for the next loop after a step down). The
  // caller must destroy this loop before using the store: a commit may still be in flight on
  // the writer thread until then.
  std::unique_ptr<Store> release_store() { return std::move(store_); }

 private:
  // Reads every task and its history from the store and restores them (restore_tasks).
  Status load_store();
  // Reads every service from the store into the service table (after the tasks, whose
  // service fields build its task index).
  Status load_services();
  // Puts `stored` (with `events`, their history in append order) into the task table, oldest
  // first, and expects the agents they run on to HELLO again. Internal when they contradict.
  Status restore_tasks(std::vector<Task> stored, std::vector<TaskEventRecord> events);
  // A win: fence, then the tasks (from the warm copy, else the store), then serve.
  void take_over(const ElectionNews& news);

  // One iteration's reading: up to kBatchLimit messages from `socket`, each dispatched through
  // the message table (broker/message_table.h), or answered as a bad envelope. Returns how many
  // were read: fewer than kBatchLimit when the socket was read empty.
  int drain(BrokerSocket socket);
  void run_timers();
  // Before each poll: one scheduling pass if anything changed, the group commit, the outbox.
  void before_poll();
  int64_t poll_timeout_ms() const;

  // Group commit (broker/store_writer.h): starts the next batch when none is in flight (a
  // refused batch again once commit_retry_at_ passed), or, with nothing uncommitted and nothing
  // in flight, settles the outbox.
  void commit_step(SteadyTime now);
  // Tasks or services changed since the last batch was cut.
  bool has_uncommitted() const;
  // The batch in flight landed: its messages may leave; or keep it for a retry.
  void on_commit_done(StoreBatchDone done);
  // At shutdown: waits for the batch in flight and commits what is left (unless the store
  // refuses), then sends what the outbox holds (or drops it if the store refused).
  void finish_commits();
  // The campaign's news: win (load, fence, serve), standby (who leads), or loss.
  void on_election_news(const ElectionNews& news);
  // Leadership is gone: run() returns LeadershipLost before anything else is sent or written.
  // `tell_campaign`: the loop found out first (a fenced commit, the lease deadline), so the
  // campaign must stop leading too.
  void step_down(std::string reason, bool tell_campaign);
  // STATUS "standbys": the directory's brokers but the leader.
  void update_standbys();
  // " (the election cannot reach etcd: ERROR)" while the campaign's last etcd call failed.
  std::string etcd_trouble() const;
  // Answers a message a standby does not serve: not_leader with the leader's address.
  void refuse_as_standby(const Inbound& in);

  BrokerOptions options_;
  const Clock& clock_;
  std::unique_ptr<Store> store_;

  zmq::context_t context_{kBrokerIoThreads};  // broker_sockets.h: why two I/O threads
  // Answers libzmq's ZAP requests under CURVE; started before the first bind, and declared
  // after context_ so that it stops before the context closes.
  std::unique_ptr<ZapHandler> zap_;
  // Everything the handlers share, the sockets included (closed before context_).
  BrokerState state_;
  const MessageTable table_;
  BeaconSchedule beacon_;

  SchedulerView scheduler_view_;  // the scheduler's nodes, kept between passes
  size_t cursor_ = 0;
  SteadyTime next_pass_at_{};  // the earliest time of the next scheduling pass (kPassSpacing)
  std::optional<SteadyTime> commit_retry_at_;
  // A batch the store refused, started again at commit_retry_at_, and its outbox number.
  std::optional<StoreBatch> retry_batch_;
  // The outbox number of the batch in flight (or of retry_batch_).
  uint64_t batch_in_flight_ = 0;
  LeaderCampaign* campaign_ = nullptr;  // with use_election()
  BrokerDirectory* directory_ = nullptr;
  StandbyCopy* copy_ = nullptr;
  std::function<Status(int64_t)> fence_;
  uint64_t reign_losses_ = 0;   // ElectionNews::losses when this loop won: a later count ends it
  std::string leader_id_;       // the leader's broker id, to leave it out of the standbys
  std::string campaign_error_;  // the campaign's last etcd error, for not_leader answers
  std::vector<LeaderRecord> brokers_;  // the directory's last list
  // A leader under election: until when its lease surely runs (checked on the loop's own
  // deadline too, in case the campaign thread is stuck in a request).
  std::optional<SteadyTime> lease_valid_until_;
  std::string lost_reason_;  // non-empty once leadership was lost
  // Created by run(); declared last so it stops (finishing its batch) before anything it uses.
  std::unique_ptr<StoreWriter> writer_;
};

}  // namespace cube::broker
