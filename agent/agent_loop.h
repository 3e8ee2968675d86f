// AgentLoop: the agent's single poll loop (docs/protocol.md, "Agent session" and "Events").
//
// Sockets (owned here, touched by no other thread; the agent only connects out):
//   DEALER -> broker work ROUTER (port+1): HELLO, CREDIT, ACCEPT/REJECT, SNAPSHOT out;
//             WELCOME, ASSIGN, STOP, SYNC, ERROR in. ZMQ_IMMEDIATE (nothing is queued for a
//             broker that is not connected) and ZMTP heartbeats.
//   PUB    -> broker events SUB (port+2): AGENT_HEARTBEAT and TASK_STATE.
//   SUB    <- broker beacon PUB (port+3): BEACON.
//
// Each iteration polls the DEALER, the SUB, the worker-result queue and stop_fd with the
// nearest deadline as timeout (heartbeat, WELCOME timeout, backoff, beacon watchdog), handles
// what is ready, runs due timers and sends one CREDIT if free slots changed. Driver calls
// (start, stop) run on a WorkerPool and come back through an EventQueue; the exit sink posts to
// the same queue. The loop never blocks.
//
// Session: HELLO at start (agent id, name, version, drivers, capacity, labels, seq of the last
// event, every known task attempt). No WELCOME within options.welcome_timeout: the DEALER is
// closed and recreated (dropping the stale HELLO, Lazy Pirate) and HELLO is retried after a
// Backoff of 1 s doubling to 32 s with jitter. On WELCOME: the session id is kept, the backoff
// reset and CREDIT{free slots} sent. HELLO is sent again on ERROR unauthorized, when a BEACON
// carries a new broker epoch (broker restarted), and when no BEACON came for 3 beacon
// intervals (broker gone: the DEALER is recreated; tasks keep running).
//
// Work: ASSIGN for a driver this agent does not offer (a task's "" driver means docker) is
// REJECTed "driver X not offered by this agent"; with no free slot "no free slot"; otherwise
// ACCEPTed at once, before the driver starts it. A repeated ASSIGN of a known attempt is
// ACCEPTed again and never started twice; a new attempt of a task whose older attempt still
// runs here is REJECTed; an ASSIGN arriving while no session is current (between a re-HELLO
// and its WELCOME) is dropped, and the broker's assignment deadline takes it back. The start result
// becomes TASK_STATE Running, or Failed with the driver's message as reason. The task's end becomes
// TASK_STATE Completed or Failed, then CREDIT. STOP (attempt 0: whatever attempt runs) calls
// driver.stop() with the STOP's grace (options.stop_grace when 0); the end of a stopped attempt is
// reported as Completed with the STOP's reason ("stopped" when it gave none), keeping the exit
// code. A STOP for an attempt the agent does not run is ignored. SYNC is answered with SNAPSHOT.
//
// Events: every TASK_STATE takes seq = ++last_seq (per agent process, from 1), even while the
// broker is away (such events are lost; HELLO's task list carries the truth). AGENT_HEARTBEAT
// goes out every heartbeat interval (WELCOME.heartbeat_ms, else options.heartbeat) while a
// session exists and repeats the last seq.
//
// Exit: run() returns when stop_fd becomes readable. Tasks keep running when the agent exits
// (like the Nomad and Docker agents); they are not stopped.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <zmq.hpp>

#include "agent/drivers/driver.h"
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
  AgentLoop(AgentOptions options, Driver& driver, const Clock& clock);
  // Joins the worker threads (waiting for driver calls in flight) and closes the sockets.
  // Leaves tasks running.
  ~AgentLoop();
  AgentLoop(const AgentLoop&) = delete;
  AgentLoop& operator=(const AgentLoop&) = delete;

  // Runs until stop_fd (for example ShutdownSignal::fd()) is readable (it is not read) and
  // returns OK then. Internal when the sockets could not be set up (an endpoint ZeroMQ refuses)
  // or polling fails for good. Call from one thread, once.
  Status run(int stop_fd);

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
    Result<TaskStatus> result;
  };
  struct StopDone {
    std::string task_id;
    uint32_t attempt = 0;
    Status status;
  };
  struct Exited {
    TaskStatus status;
  };
  using LoopEvent = std::variant<StartDone, StopDone, Exited>;

  void setup_sockets();
  void create_dealer();
  void start_hello(SteadyTime now);
  void try_send_hello();
  long poll_timeout_ms(SteadyTime now) const;

  void handle_dealer(SteadyTime now);
  void handle_beacon(SteadyTime now);
  void handle_results(SteadyTime now);
  void run_timers(SteadyTime now);

  void on_welcome(const protocol::Welcome& w, SteadyTime now);
  void on_assign(const protocol::Assign& a);
  void on_stop(const protocol::Stop& s);
  void on_sync();
  void on_error(const protocol::ErrorMessage& e, SteadyTime now);

  void on_start_done(StartDone& done, SteadyTime now);
  void on_stop_done(const StopDone& done);
  void on_exited(TaskStatus status, SteadyTime now);
  // The task ended (by itself or stopped): Completed with the STOP's reason when a STOP asked
  // for it, the driver's status otherwise.
  void finish_exit(TrackedAttempt& a, TaskStatus status, SteadyTime now);
  void finish(TrackedAttempt& a, TaskStatus final_status, SteadyTime now);
  void note_decode_error(uint8_t type, const Status& error);

  void post_start(const Task& task);
  void post_stop(const TrackedAttempt& a);
  void publish_task_state(const TaskStatus& status);
  void publish_heartbeat();
  void send_credit();
  template <typename M>
  void send_work(const M& message, const char* what);

  Millis heartbeat_interval() const;
  Millis beacon_interval() const;

  const AgentOptions options_;
  const BrokerEndpoints endpoints_;
  const std::string name_;          // options_.name or the host name
  const std::string broker_label_;  // "HOST:PORT" (or the work endpoint) for logs
  Driver& driver_;
  const Clock& clock_;
  const protocol::Capacity capacity_;

  Status setup_status_;  // why the sockets could not be set up; OK normally
  zmq::context_t context_;
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
  bool credit_dirty_ = false;  // free slots changed since the last CREDIT
  uint64_t decode_errors_ = 0;

  // Declared last: destroyed first, so no job runs once the members above are gone. Shared
  // with the driver's exit sink, which may outlive the loop.
  std::shared_ptr<EventQueue<LoopEvent>> results_;
  WorkerPool pool_;
};

}  // namespace cube::agent
