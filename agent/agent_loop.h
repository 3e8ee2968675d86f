// AgentLoop: the agent's single poll loop (docs/protocol.md, "Agent session" and "Events").
//
// Sockets (owned here, touched by no other thread; the agent only connects out):
//   DEALER -> broker work ROUTER (port+1): HELLO, CREDIT, ACCEPT(_BATCH)/REJECT, SNAPSHOT out;
//             WELCOME, ASSIGN(_BATCH), STOP, SYNC, ERROR in. ZMQ_IMMEDIATE (nothing is queued
//             for a broker that is not connected) and ZMTP heartbeats.
//   PUB    -> broker events SUB (port+2): AGENT_HEARTBEAT, TASK_STATE(_BATCH) and NODE_STATS.
//   SUB    <- broker beacon PUB (port+3): BEACON.
//
// One iteration is step(): messages on the DEALER and the SUB, then due timers (the driver's
// poll_due among them), then the results of driver calls and exit reports, then the step's
// ACCEPTs and task states (see Batches), then one CREDIT if free slots changed. Its two hosts only
// differ in how they wait: run() (cube-agent) polls the DEALER, the SUB, the result queue and
// stop_fd with the nearest deadline as timeout; cube-bench's sim fleet (bench/sim_fleet.h) epolls
// many agents' wake_fds() and calls begin() and step() itself. Driver calls run on a WorkerPool and
// come back through an EventQueue (the exit sink posts to the same queue); for a driver whose calls
// never block they run on the loop's thread and their results, exit reports included, are handled
// in the same step. The loop never blocks.
//
// Session: HELLO at start (agent id, name, version, drivers, capacity, labels, seq of the last
// event, every known task attempt). No WELCOME within options.welcome_timeout: the DEALER is
// closed and recreated (dropping the stale HELLO, Lazy Pirate) and HELLO is retried after a
// Backoff of 1 s doubling to 32 s with jitter. On WELCOME: the session id is kept, the backoff
// reset and CREDIT{free slots} sent. HELLO is sent again on ERROR unauthorized, when a BEACON
// carries a new broker epoch (broker restarted), and when no BEACON came for 3 beacon
// intervals (broker gone: the DEALER is recreated; tasks keep running).
//
// Several brokers (AgentOptions::other_brokers, an HA set: docs/ha.md): BrokerFailover
// (agent/broker_failover.h) picks the broker. No WELCOME in time, or no BEACON for 3 intervals:
// the next broker of the list; an ERROR `not_leader: leader is X` (to HELLO or to any later
// message): X at once; `not_leader: not known yet`: the next broker after a short wait. Moving to
// another broker recreates all three sockets, connected to its ports, and sends HELLO: the new
// leader reconciles the tasks it lists exactly as a restarted broker does (they keep running,
// are adopted, and nothing starts twice). The event seq continues (HELLO carries it), so the new
// leader's event tracking starts where the agent is. Following a not_leader answer works with
// one broker too.
//
// Batches (docs/protocol.md, Agent session item 9): HELLO announces the feature "batches";
// the WELCOME says whether the broker takes them. Each task of an ASSIGN_BATCH is handled as
// its own ASSIGN (whatever the broker announced). The ACCEPTs of one step leave together, as
// one ACCEPT_BATCH to a broker that announced batches (single ACCEPTs otherwise), before any
// later message on the DEALER (REJECT, SNAPSHOT, LOGS_DATA, CREDIT, HELLO): the broker's credit
// arithmetic needs every ASSIGN answered before the next CREDIT. The task states of one step
// likewise leave as one TASK_STATE_BATCH whose seq is the last status's number, before any later
// event (a heartbeat repeats the last seq, so it must not overtake the events it counts).
//
// Work: ASSIGN for a driver this agent does not offer (a task's "" driver means docker) is
// REJECTed "driver X not offered by this agent"; with no free slot "no free slot"; otherwise
// ACCEPTed at once, before the driver starts it. A repeated ASSIGN of a known attempt is
// ACCEPTed again and never started twice; a new attempt of a task whose older attempt still
// runs here is REJECTed; an ASSIGN arriving while no session is current (between a re-HELLO
// and its WELCOME) is dropped, and the broker's assignment deadline takes it back. The start result
// becomes TASK_STATE Running, or Failed with the driver's message as reason. The task's end (the
// driver's facts, AttemptEnd) becomes TASK_STATE Completed or Failed as decide_outcome()
// (protocol/task_outcome.h) judges it with the agent's own stop, then CREDIT. STOP (attempt 0:
// whatever attempt runs) calls driver.stop() with the STOP's grace (options.stop_grace when 0);
// the end of a stopped attempt is reported as Completed with the STOP's reason ("stopped" when it
// gave none), keeping the exit code. A STOP for an attempt the agent does not run is ignored.
// SYNC is answered with SNAPSHOT. The attempt state machine is TaskTracker's.
//
// Logs: LOGS_FETCH (broker, for a client's LOGS) is read on a worker (read_task_logs) and
// answered with LOGS_DATA carrying the same fetch_id: the data, or the driver's error prefixed
// with the agent's name. When the driver does not know the task but the agent does, the answer
// is empty rather than NotFound: still starting (no output yet, eof false), or ended and its
// container removed (eof), so that a follower waits or ends cleanly.
//
// Backend: the driver's backend (dockerd) is checked (Driver::check_backend) once in the
// constructor and then on a worker every few seconds (BackendHealth). While it fails, the
// failure is logged once, ASSIGNs of new attempts are REJECTed with its message ("dockerd
// unreachable at ..."), and HELLO carries it in the label cube.driver-error; a change either way
// re-sends HELLO so the broker's view of the node follows. A start() failing with Unavailable
// triggers a check at once. If list_owned() failed in the constructor (backend down), it is
// retried once the backend answers, and what it finds is adopted and reported by a new HELLO.
//
// Reaping: once list_owned() has succeeded, every kReapInterval the loop asks the driver to
// remove what it keeps for tasks the tracker no longer knows (Driver::remove_untracked with the
// tracked task ids and kReapMinAge): ended containers the tracker forgot, and strays.
//
// Events: every task state change takes seq = ++last_seq (per agent process, from 1), even
// while the broker is away (such events are lost; HELLO's task list carries the truth).
// AGENT_HEARTBEAT goes out every heartbeat interval (WELCOME.heartbeat_ms, else options.heartbeat)
// while a session exists and repeats the last seq. NODE_STATS goes out every options.stats_interval
// (the first one a heartbeat after WELCOME) while a session exists, also repeating the last seq:
// collect_stats (agent/node_stats.h) reads /proc, statvfs and Driver::stats on a worker, one
// sample at a time, and the loop turns it into NodeUsage (CPU rate since the previous sample).
//
// Health: an attempt whose task has a HealthCheck path is watched by a HealthProber
// (agent/health_check.h) from the moment it runs; due probes (http_probe) run on a pool of their
// own, created with the first watched attempt, so a stop waiting out its grace never delays a
// probe. After the task's failure threshold the loop stops the attempt (options.stop_grace) and
// reports it Failed with the health check's reason; a STOP from the broker meanwhile wins (the
// end is reported Completed with the STOP's reason). Attempts adopted after an agent restart
// are not probed: the agent no longer has their spec.
//
// Exit: run() returns when stop_fd becomes readable. Tasks keep running when the agent exits
// (like the Nomad and Docker agents); they are not stopped.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <zmq.hpp>

#include "agent/backend_health.h"
#include "agent/broker_failover.h"
#include "agent/drivers/driver.h"
#include "agent/health_check.h"
#include "agent/node_stats.h"
#include "agent/options.h"
#include "agent/reconnect.h"
#include "agent/task_tracker.h"
#include "agent/worker_pool.h"
#include "common/clock.h"
#include "common/event_queue.h"
#include "protocol/messages.h"
#include "protocol/zmq_io.h"

namespace cube::agent {

class AgentLoop {
 public:
  // Connects the three sockets (connecting never blocks; ZeroMQ reconnects by itself) and
  // installs the driver's exit sink. `options.agent_id` must be set (main() loads it with
  // load_or_create_agent_id). `driver` and `clock` must outlive the loop. Asks the driver for
  // the tasks it already owns (list_owned, may block) so that the first HELLO reports them.
  //
  // `shared_context` (optional, must outlive the loop): make the sockets in this ZeroMQ context
  // instead of one of the loop's own, so that a process hosting many agents (cube-bench) runs
  // one set of ZeroMQ I/O threads for all of them. A driver whose calls never block
  // (Driver::calls_never_block) is called on the loop's thread: no worker threads are started.
  AgentLoop(AgentOptions options, Driver& driver, const Clock& clock,
            zmq::context_t* shared_context = nullptr);
  // Joins the worker threads (waiting for driver calls in flight) and closes the sockets.
  // Leaves tasks running.
  ~AgentLoop();
  AgentLoop(const AgentLoop&) = delete;
  AgentLoop& operator=(const AgentLoop&) = delete;

  // Runs until stop_fd (for example ShutdownSignal::fd()) is readable (it is not read) and
  // returns OK then. Internal when the sockets could not be set up (an endpoint ZeroMQ refuses)
  // or polling fails for good. Call from one thread, once.
  Status run(int stop_fd);

  // --- Many agents on one thread (bench/sim_fleet.h) ---
  // Instead of run(), a host calls begin() once, then step() whenever one of wake_fds() is
  // readable, step() returned true, or next_deadline() has passed. run() is this same loop
  // around zmq::poll. Same thread for every call; never blocks.

  // Sends the first HELLO. Internal when the sockets could not be set up.
  Status begin();
  // Which of wake_fds() fired, for step(): a bit per fd, in wake_fds() order.
  static constexpr unsigned kWakeDealer = 1, kWakeSub = 2, kWakeResults = 4, kWakeAll = 7;
  // One iteration, in this order: messages on the DEALER and the SUB (up to a batch each; a
  // socket is only looked at when its bit is in `woken`), due timers, results of driver calls
  // (the queue's only when its bit is in `woken`), then CREDIT if free slots changed. True when
  // messages are still waiting (a batch limit was hit): call again, with kWakeAll, without
  // waiting for a wake fd. Internal when ZeroMQ fails for good (as run()). Pass kWakeAll after
  // begin() and whenever unsure.
  Result<bool> step(SteadyTime now, unsigned woken = kWakeAll);
  // What to watch for readability: the DEALER's and the SUB's ZMQ_FD (ZeroMQ signals them
  // edge-style: after each step() they are quiet until something new arrives) and the
  // driver-result queue's eventfd, in that order. The DEALER's changes when it is recreated
  // (reconnect), and all three but the queue's when the agent moves to another broker of its
  // list, so read them again after every step().
  std::array<int, 3> wake_fds() const;
  // The latest time step() must run even when no fd becomes readable (heartbeat, WELCOME
  // timeout, backoff, beacon watchdog, backend checks, the driver's own timers).
  SteadyTime next_deadline(SteadyTime now) const;

 private:
  enum class SessionState {
    AwaitingWelcome,  // HELLO sent (or waiting for a connection to send it)
    BackingOff,       // no answer: waiting for the backoff to expire
    Welcomed,         // session_id_ is current
  };

  // What worker threads and the exit sink post back to the loop.
  struct StartDone {
    std::string task_id;
    uint32_t attempt = 0;
    Result<AttemptStatus> result;
    // The task's health check (path empty: none) and what its URL is made from.
    struct Health {
      std::string path;
      std::vector<std::string> exposed_ports;
      HealthSettings settings;  // url filled in once the port bindings are known
    } health;
  };
  struct StopDone {
    std::string task_id;
    uint32_t attempt = 0;
    Status result;
  };
  struct LogsDone {
    protocol::LogsFetch fetch;
    Result<LogChunk> result;
  };
  struct BackendChecked {
    Status result;
  };
  struct OwnedListed {
    Result<std::vector<AttemptStatus>> result;
  };
  struct Reaped {
    Result<int> result;
  };
  struct StatsSampled {
    Result<StatsSample> result;
  };
  struct HealthProbed {
    std::string task_id;
    uint32_t attempt = 0;
    uint64_t seq = 0;
    Status result;
  };
  using LoopEvent = std::variant<StartDone, StopDone, AttemptEnd, LogsDone, BackendChecked,
                                 OwnedListed, Reaped, StatsSampled, HealthProbed>;

  void setup_sockets();
  void create_dealer();
  // Whatever the current session queued goes out, the session ends, and when the failover
  // picked another broker the sockets are recreated for it; then HELLO now, later, or after the
  // backoff as `next` says.
  void move_on(BrokerFailover::Next next, SteadyTime now);
  void start_hello(SteadyTime now);
  void try_send_hello();
  long poll_timeout_ms(SteadyTime now) const;

  void handle_dealer(SteadyTime now);
  void handle_beacon(SteadyTime now);
  // Handles the results of calls made on this thread, and those of the result queue when
  // `queue_woken` (its fd fired).
  void handle_results(SteadyTime now, bool queue_woken);
  void handle_result(LoopEvent& event, SteadyTime now);
  void run_timers(SteadyTime now);

  void on_welcome(const protocol::Welcome& w, SteadyTime now);
  // One ASSIGN, or one task of an ASSIGN_BATCH: accepted (queued for the step's ACCEPTs) or
  // REJECTed on its own.
  void on_assign(const Task& task);
  void on_stop(const protocol::Stop& s);
  void on_sync();
  void on_error(const protocol::ErrorMessage& e, SteadyTime now);
  void on_logs_fetch(const protocol::LogsFetch& f);

  void on_start_done(StartDone& done, SteadyTime now);
  void on_stop_done(const StopDone& done);
  void on_exited(AttemptEnd end, SteadyTime now);
  void on_logs_done(LogsDone& done);
  // A backend check's answer: logs a change, and re-sends HELLO so its labels follow.
  void on_backend_checked(Status status, SteadyTime now);
  void on_owned_listed(Result<std::vector<AttemptStatus>> result, SteadyTime now);
  void on_reaped(const Result<int>& removed, SteadyTime now);
  // Tasks found by list_owned(): tracked from now on. True when any was new.
  bool adopt_owned(const std::vector<AttemptStatus>& owned, SteadyTime now);
  // Starts the backend check, the late list_owned and the reaping when they are due.
  void run_backend_timers(SteadyTime now);
  // NODE_STATS: when due (Welcomed, options.stats_interval), samples the host and the running
  // tasks on a worker (collect_stats); the result is published by on_stats_sampled.
  bool stats_enabled() const;
  void run_stats_timer(SteadyTime now);
  void on_stats_sampled(Result<StatsSample>& sampled);
  // Health checks: starts watching a task that runs now (when it has a health check and a
  // port to probe), posts the due probes, and acts on their results and verdicts.
  void watch_health(StartDone& done, const AttemptStatus& running, SteadyTime now);
  void run_health_timer(SteadyTime now);
  void on_health_probed(const HealthProbed& probed, SteadyTime now);
  // Stops an attempt that failed its health checks; its end is reported Failed with `reason`.
  void fail_unhealthy(const std::string& task_id, uint32_t attempt, const std::string& reason);
  // An attempt the tracker has just finished: logs it, publishes TASK_STATE, and frees its
  // slot for the next CREDIT.
  void report_finished(const AttemptStatus& final_status);
  void note_decode_error(uint8_t type, const Status& error);

  void post_start(const Task& task);
  void post_stop(const TrackedAttempt& a);
  // Every driver call goes through here: runs `call` (it returns what `event.result` holds; an
  // exception becomes `failure` "driver error: ...") on a worker of pool_, or at once on this
  // thread for a driver whose calls never block, and hands `event` back to handle_results.
  template <typename Event, typename Call>
  void call_driver(Event event, Call call, ErrorCode failure = ErrorCode::Internal);
  // The same on any pool, always through the result queue; `what` names the call in errors.
  template <typename Event, typename Call>
  void post_call(WorkerPool& pool, Event event, Call call, ErrorCode failure, const char* what);
  // Numbers a task state change (seq = ++last_seq_) and queues it for this step's events.
  void queue_task_state(const AttemptStatus& status);
  // Queues the ACCEPT of (task_id, attempt) for this step.
  void queue_accept(const std::string& task_id, uint32_t attempt);
  // Send what is queued: as ACCEPT_BATCH / TASK_STATE_BATCH to a broker that announced batches,
  // as single ACCEPTs / TASK_STATEs otherwise (protocol/batches.h). Called at the end of each
  // step, before a HELLO, and before any other message on the same socket (send_work, publish),
  // so each socket carries its messages in the order they were decided.
  void flush_accepts();
  void flush_states();
  void publish_heartbeat();
  void send_credit();
  // A message on the DEALER / the PUB, after the ACCEPTs / the states queued before it.
  template <typename M>
  void send_work(const M& message);
  template <typename M>
  void publish(const M& message);
  // Sends one encoded message; a failure (no connection) is logged at debug level and dropped.
  void send_encoded(zmq::socket_t& socket, protocol::MessageType type, std::string_view body);

  Millis heartbeat_interval() const;
  Millis beacon_interval() const;

  const AgentOptions options_;
  BrokerFailover failover_;  // which broker of the list; endpoints_ are its ports
  BrokerEndpoints endpoints_;
  const std::string name_;    // options_.name or the host name
  std::string broker_label_;  // "HOST:PORT" (or the work endpoint) for logs
  Driver& driver_;
  const Clock& clock_;
  const protocol::Capacity capacity_;

  Status setup_status_;  // why the sockets could not be set up; OK normally
  // The loop's own context, unless a shared one was given; context_ is whichever is used.
  std::optional<zmq::context_t> own_context_;
  zmq::context_t& context_;
  zmq::socket_t dealer_;
  zmq::socket_t pub_;
  zmq::socket_t sub_;

  TaskTracker tracker_;
  Backoff backoff_;

  SessionState state_ = SessionState::AwaitingWelcome;
  bool hello_unsent_ = false;  // HELLO waits for the DEALER to have a connection
  SteadyTime welcome_deadline_{};
  std::string session_id_;
  std::string broker_epoch_;
  Millis welcome_heartbeat_{0};  // WELCOME.heartbeat_ms, 0 when not given
  Millis beacon_heartbeat_{0};   // the last BEACON.heartbeat_ms, 0 when not given
  SteadyTime next_heartbeat_{};
  SteadyTime last_beacon_{};
  uint64_t last_seq_ = 0;
  // The current session's WELCOME announced protocol::kFeatureBatches.
  bool broker_batches_ = false;
  // This step's ACCEPTs and numbered task states, not sent yet (flush_accepts, flush_states).
  // Each holds one session's: a change of session sends what the previous one queued.
  protocol::AcceptBatch accepts_;
  protocol::TaskStateBatch states_;
  bool credit_dirty_ = false;  // free slots changed since the last CREDIT
  uint64_t decode_errors_ = 0;

  BackendHealth backend_;
  bool owned_listed_ = false;         // list_owned() succeeded: the tracker knows every owned task
  bool listing_owned_ = false;        // a late list_owned() is in flight
  SteadyTime list_owned_retry_at_{};  // after a failed late list_owned()
  SteadyTime next_reap_{};
  bool reaping_ = false;

  // NODE_STATS state. The baseline CPU counters are read here, at construction (one small
  // read of /proc/stat), so that the first sample already has a rate.
  NodeUsageTracker usage_tracker_{read_cpu_times()};
  SteadyTime next_stats_{};
  bool stats_in_flight_ = false;  // a collect_stats() job has not reported back yet

  // Driver::calls_never_block(): calls and exit reports stay on this thread, in
  // inline_results_, without the worker pool or the result queue's eventfd.
  const bool inline_calls_;
  std::vector<LoopEvent> inline_results_;
  std::vector<LoopEvent> handling_;  // inline_results_ being handled (kept for its capacity)

  // Declared last: destroyed first, so no job runs once the members above are gone. Shared
  // with the driver's exit sink, which may outlive the loop.
  std::shared_ptr<EventQueue<LoopEvent>> results_;
  WorkerPool pool_;
  HealthProber health_;
  // Runs the health probes; made with the first watched attempt (agents without health checks,
  // such as cube-bench's thousands of sim agents, start no threads for it). Declared after
  // pool_: destroyed first, joining probes in flight (each ends within its timeout).
  std::unique_ptr<WorkerPool> health_pool_;
};

}  // namespace cube::agent
