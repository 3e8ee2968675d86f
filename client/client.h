// cube::Client: the C++ client of the broker's client port (REQ -> ROUTER, protocol CUBE1). The
// cube-client CLI and cube-bench use it; anything a user can do to tasks goes through here.
//
// Reliability is the zguide's Lazy Pirate (STYLE.md habit 7): each request is sent on a REQ
// socket and polled for at most `timeout_per_try`; on silence the socket is closed (linger 0), a
// fresh one is opened and the SAME request (same request id) is sent again, up to `tries` times.
// Because a retry may reach the broker twice, every broker handler is idempotent. A reply whose
// request id is not the one sent is dropped and ends that try at once (a REQ socket delivers one
// reply per request, so nothing else can arrive on it); the next try resends on a fresh socket.
//
// Failover (docs/ha.md): with several brokers (ClientOptions::other_endpoints) or
// ClientOptions::failover, a call goes to the broker that answered last (the first of the list at
// first). A `not_leader: leader is X` answer from a standby sends the same request (same request
// id, so a submit is still stored once) to X at once, X being the leader's advertised address,
// listed or not; at most kMaxLeaderRedirects such hops per call. `not_leader: not known yet` (or
// a redirect not followed) and silence for timeout_per_try move on to the next broker of the
// list; a broker that was silent is skipped for kSilentHold, as a list entry and as a
// redirect's target, while others remain; a full round of standbys that name
// no usable leader pauses kFailoverRoundPause. This goes on until failover_timeout, then the call
// returns Unavailable naming every broker tried and what each said. One broker without
// `failover`: exactly the Lazy Pirate above, a standby's not_leader answer returned as it is.
//
// Thread-safety: a Client owns a ZeroMQ context and socket and is NOT thread-safe. Use it from
// one thread at a time (it may be moved to another thread between calls); give each thread its
// own Client. Every request method blocks the calling thread until a reply arrives or every try
// has timed out (at most timeout_per_try * tries, plus the time to decode the reply).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <zmq.hpp>

#include "client/handshake_watch.h"
#include "common/clock.h"
#include "common/status.h"
#include "protocol/curve.h"
#include "protocol/messages.h"
#include "protocol/task.h"

namespace cube {

// Where cube-client looks for the broker when neither --broker, CUBE_BROKER nor a config file
// names one.
inline constexpr std::string_view kDefaultBrokerAddress = "127.0.0.1:7100";

// "tcp://127.0.0.1:7100" from "127.0.0.1:7100" ("[::1]:7100" for IPv6). Invalid, quoting the
// text, when it is not HOST:PORT with PORT in 1..65535. Pure.
Result<std::string> broker_endpoint(std::string_view host_port);

// The endpoints of a comma-separated list of HOST:PORT ("10.0.0.1:7100,10.0.0.2:7100"), in
// order; one address gives one endpoint. Invalid, naming the bad item, for an empty item or one
// that broker_endpoint() refuses, and for an address given twice. Pure.
Result<std::vector<std::string>> broker_endpoints(std::string_view list);

struct ClientOptions {
  // A ZeroMQ endpoint; build it from HOST:PORT with broker_endpoint().
  std::string endpoint = "tcp://127.0.0.1:7100";
  // How long one try waits for the reply before the socket is replaced and the request resent.
  // 2.5 s: long enough for a broker that is group-committing a large batch, and 3 tries still
  // give up within 7.5 s.
  Millis timeout_per_try{2500};
  // How many times a request is sent before call() gives up with Unavailable. At least 1.
  int tries = 3;
  // The other brokers of an HA set (docs/ha.md), as endpoints, tried after `endpoint` in this
  // order. Not empty: the client fails over (see the file comment).
  std::vector<std::string> other_endpoints;
  // Fail over even with one broker: follow its not_leader answers to the leader. The gateway
  // sets it for its own broker, which may be a standby.
  bool failover = false;
  // How long one call keeps trying when failing over. 15 s: a SIGKILLed leader is replaced
  // after its lease's TTL plus a campaign period (TTL/3) plus the store load, 4 to 5 s with the
  // default 3 s TTL; 15 s rides that out on a loaded machine with room to spare, and a script
  // still learns within seconds that no broker leads.
  Millis failover_timeout{15000};
  // CURVE keys (protocol/curve.h), set on each REQ socket before it connects; disabled
  // (plaintext) by default. A broker that refuses the handshake (no key, a key it does not
  // list, the wrong broker key, or keys it does not expect) never answers: call() then returns
  // Unauthorized naming the cause (client/handshake_watch.h) and was_refused() is true.
  protocol::CurveClientKeys curve;
  // A file descriptor (a ShutdownSignal's, say) that ends the call in flight when it becomes
  // readable: call() then returns Unavailable "interrupted" and was_interrupted() is true. It
  // is not read. -1: none.
  int interrupt_fd = -1;
  // A ZeroMQ context to open the REQ sockets in, shared with the process's other Clients: one
  // context per process, as the ZeroMQ guide has it, so that its I/O thread serves every
  // Client instead of each Client waking one of its own. It must outlive the Client. nullptr:
  // the Client makes its own (one I/O thread).
  zmq::context_t* context = nullptr;
};

// ClientOptions for the brokers of broker_endpoints(list): the first is `endpoint`, the others
// other_endpoints (everything else keeps its default). Errors as broker_endpoints(). Pure.
Result<ClientOptions> client_options_for(std::string_view list);

// A task and its history, as `cube-client get` shows it.
struct TaskDetails {
  Task task;
  std::vector<TaskEvent> events;  // oldest first, as the broker recorded them
  // The task's latest CPU and memory use, when it is Running and its agent's driver reports
  // usage (NODE_STATS); nullopt otherwise.
  std::optional<protocol::TaskStats> stats{};
};

// One answer of the event feed (docs/events.md).
struct EventsPage {
  std::vector<protocol::FeedEvent> events;  // oldest first
  uint64_t next_index = 0;                  // ask with this `since` next
  // The `since` asked with fell out of the broker's buffer (or the broker restarted): reload
  // what is shown from a snapshot (list(), nodes()), then follow from next_index.
  bool too_old = false;
  std::string message;  // why, when too_old
};

// `service inspect`: the service and every task made for it (current and ended), by slot.
struct ServiceDetails {
  protocol::ServiceInfo info;
  std::vector<Task> tasks;
};

class Client {
 public:
  // Any client request; call() fills in its request_id.
  using Request = std::variant<
      protocol::SubmitRequest, protocol::ListRequest, protocol::GetRequest, protocol::StopRequest,
      protocol::NodesRequest, protocol::StatusRequest, protocol::LogsRequest,
      protocol::SubmitBatchRequest, protocol::ServiceCreateRequest, protocol::ServiceListRequest,
      protocol::ServiceInspectRequest, protocol::ServiceScaleRequest,
      protocol::ServiceRemoveRequest, protocol::ServiceUpdateRequest,
      protocol::ServiceRollbackRequest, protocol::ServiceRestartRequest, protocol::EventsRequest>;

  // Does not connect yet: the first request opens the socket. `clock` bounds every try (its
  // now()) and paces wait_for (its sleep_for); it must outlive the Client. A ManualClock works:
  // a try also ends when a poll of the remaining time returns with nothing, so a clock that
  // stands still cannot make a try last forever.
  explicit Client(ClientOptions options, const Clock& clock = system_clock());
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `request` with the next request id and returns the broker's reply when it says ok.
  // Errors:
  //   - the broker's error (not_found, invalid, conflict, unavailable, unauthorized, internal)
  //     exactly as the reply carried it; but an EVENTS reply's too_old is returned as the reply
  //     (status too_old): it carries the next_index to resume from;
  //   - Unavailable "broker at HOST:PORT did not answer within 7.5 s (3 tries)" when every try
  //     timed out; was_unanswered() is then true;
  //   - failing over: Unavailable "no broker answered as leader within 15 s: A: did not answer
  //     (2 tries); B: not_leader: leader is A; ..." when failover_timeout passed; was_unanswered()
  //     is then true;
  //   - Unauthorized "the broker at HOST:PORT refused this client's key ..." when the broker
  //     refused the connection's handshake (ClientOptions::curve); was_refused() is then true;
  //   - Internal when the broker answered something that is not a CUBE1 reply (another protocol
  //     version, another message type, an undecodable body), naming what was wrong;
  //   - Invalid when the endpoint cannot be used (a malformed endpoint string).
  // Never throws: ZeroMQ errors are converted here. Blocks (see the file comment).
  Result<protocol::Reply> call(const Request& request);

  // True when the last call() failed because no reply came back in any try: the broker is down
  // or unreachable, as opposed to having answered with an error.
  bool was_unanswered() const { return was_unanswered_; }
  // True when the last call() failed because the broker refused the connection's handshake
  // (CURVE keys missing, not authorized, or wrong): retrying will not help.
  bool was_refused() const { return was_refused_; }
  // True when the last call() ended because ClientOptions::interrupt_fd became readable.
  bool was_interrupted() const { return was_interrupted_; }

  // The address of the broker the next request goes to first ("127.0.0.1:7100"): the one given,
  // or when failing over the one that answered last (a leader it was redirected to, say).
  const std::string& address() const { return address_; }

  // Most not_leader redirects followed in one call: a takeover can make two standbys name each
  // other for a moment; more hops than brokers in a set means the answers are stale.
  static constexpr int kMaxLeaderRedirects = 5;
  // The pause after a whole round of brokers answered not_leader without a leader to follow:
  // their next campaign (every TTL/3, 1 s by default) will know; 250 ms keeps a client from
  // hammering them meanwhile.
  static constexpr Millis kFailoverRoundPause{250};
  // How long a broker that did not answer is skipped, as a list entry and as a redirect's
  // target (standbys name a killed leader until its lease ends), while other brokers answer.
  // 5 s: longer than a takeover with the default 3 s TTL (4 to 5 s), so the client keeps asking
  // the standbys and reaches the new leader at once; shorter than failover_timeout, so a leader
  // that was only paused is asked again within the same call.
  static constexpr Millis kSilentHold{5000};

  // Submits a task. A task without an ID gets a UUIDv7 here, before the first send, kept for
  // every retry, so a retry after a lost reply or a broker restart cannot store it twice.
  // Returns the task as stored. Submitting the same ID twice returns the stored task, not a
  // duplicate. Errors: as call(); Invalid from the broker names the bad field.
  Result<Task> submit(const Task& task);

  // Submits many tasks in as few requests as it can: SUBMIT_BATCH requests of at most
  // protocol::kMaxSubmitBatch tasks (fewer when that many would not fit in the broker's 1 MiB
  // message limit), one after the other, in order. Like submit(), a task without an ID gets a
  // UUIDv7 here (choose_task_id), before the first send, kept for every retry. Returns one
  // outcome per task, in the order given: its ID (as sent) and OK (stored now, or already stored
  // under that ID) or that task's own refusal, exactly what submit() of it alone would return
  // (Invalid naming the field, NotFound for a State 3 stop of an unknown ID, Unavailable from
  // the broker's rate limit or --max-pending...). A refused task never fails the others. No
  // task: no request, no outcome.
  // Errors of the call as a whole:
  //   - Invalid when two tasks carry the same ID (check_distinct_task_ids); nothing is sent;
  //   - as call() when a request fails as a whole: Unavailable when the broker did not answer
  //     (was_unanswered()), Unauthorized when it refused the key (was_refused()), the broker's
  //     error... The requests before it were answered, and the message says how many tasks
  //     they held. Its tasks may have been stored: submitting the same tasks again with the IDs
  //     they were sent with (give them IDs first with choose_task_id) stores none twice;
  //   - Internal when a reply does not carry one outcome per task of its request.
  Result<std::vector<protocol::SubmitOutcome>> submit_many(std::span<const Task> tasks);

  // Every task the broker knows. Errors: as call().
  Result<std::vector<Task>> list();

  // One task and its state history. Errors: as call(); NotFound for an unknown ID.
  Result<TaskDetails> get(const std::string& task_id);

  // Asks the broker to stop a task (desired state Completed, reason "stopped"); returns the task
  // as stored after the request. Stopping a stopped task is OK. Errors: as call(); NotFound.
  Result<Task> stop(const std::string& task_id);

  // The agents the broker knows, with their state and free capacity. Errors: as call().
  Result<std::vector<protocol::NodeInfo>> nodes();

  // Broker version, epoch, uptime and counts. Errors: as call().
  Result<protocol::BrokerStatus> status();

  // Up to `max_bytes` (0: the most one answer carries, protocol::kMaxLogChunkBytes) of a task's
  // combined stdout/stderr from byte `offset`, or, with tail_lines > 0, from the start of its
  // last tail_lines lines. The broker asks the agent that runs (or last ran) the task. Ask
  // again from next_offset to follow; eof means the task ended and everything was read.
  // Errors: as call(); NotFound for an unknown task (or one whose agent no longer has it);
  // Unavailable when the task was never placed, or its agent is not connected or did not
  // answer within 5 s. A try must outlast that 5 s for the broker's answer to be seen.
  Result<protocol::LogsChunk> logs(const std::string& task_id, int64_t offset,
                                   int64_t max_bytes = 0, int64_t tail_lines = 0);

  // The events after index `since` (0: from now on) that match `filter`, at most `max` (0: the
  // broker's limit, protocol::kMaxEventsPerReply). When none has happened yet the broker holds
  // the request until one does or `wait` passes (at most protocol::kMaxEventWaitMs), so a loop
  // of events(page.next_index, ...) follows the feed with no polling delay. Each try waits
  // timeout_per_try + wait. A too_old answer is a page with too_old set, not an error.
  // Errors: as call(); Invalid naming the filter field ("filter type: ..."); Unavailable when
  // the broker holds too many waiting requests (--event-subscribers).
  Result<EventsPage> events(uint64_t since, const protocol::EventFilter& filter, Millis wait,
                            uint32_t max = 0);

  // Polls get(task_id) until `is_done(task)` holds, sleeping `interval` on the clock between
  // polls (Clock::sleep_for: this thread's job is to wait). Returns the task that satisfied the
  // predicate. Errors: any error of get() (returned at once); Unavailable "task ID is still
  // Pending after 30 s: REASON" when `deadline` (on the clock's steady time) passes first.
  Result<Task> wait_for(const std::string& task_id, const std::function<bool(const Task&)>& is_done,
                        SteadyTime deadline, Millis interval = kDefaultWaitInterval);
  // The same, until the task is in one of `states`.
  Result<Task> wait_for(const std::string& task_id, std::span<const TaskState> states,
                        SteadyTime deadline, Millis interval = kDefaultWaitInterval);

  // --- services (docs/services.md) ---

  // Creates a service; returns it as stored (version, times) with its task counts. Creating
  // the same service again (same template, replicas and update policy) returns the stored one.
  // Errors: as call(); Invalid naming the field; Conflict when a service of that name exists
  // with another definition.
  Result<protocol::ServiceInfo> service_create(const Service& service);
  // Every service, by name. Errors: as call().
  Result<std::vector<protocol::ServiceInfo>> service_list();
  // One service and every task made for it, by slot. Errors: as call(); NotFound.
  Result<ServiceDetails> service_inspect(const std::string& name);
  // Sets a service's replicas; returns the service after the change. Errors: as call();
  // NotFound; Invalid above kMaxReplicas.
  Result<protocol::ServiceInfo> service_scale(const std::string& name, uint32_t replicas);
  // Removes a service and stops its tasks; returns the service as it was (also to a retry whose
  // first try removed it). Errors: as call(); NotFound.
  Result<protocol::ServiceInfo> service_remove(const std::string& name);
  // Replaces the definition of service `service.name` (a new template starts a rolling
  // update); returns the service after the change. `expected_version` (0: any) is the version
  // the caller read: a service changed since then is refused Conflict and left alone.
  // Errors: as call(); NotFound; Invalid (the field named); Conflict.
  Result<protocol::ServiceInfo> service_update(const Service& service,
                                               uint64_t expected_version = 0);
  // Rolls a service back to its previous template. Errors: as call(); NotFound; Conflict when
  // it has no previous template.
  Result<protocol::ServiceInfo> service_rollback(const std::string& name);
  // Replaces every replica with a fresh task of the same template, in rolling steps.
  // Errors: as call(); NotFound.
  Result<protocol::ServiceInfo> service_restart(const std::string& name);

  // 200 ms: a task change shows up within a fifth of a second, and one small GET per poll costs
  // the broker nothing noticeable.
  static constexpr Millis kDefaultWaitInterval{200};

 private:
  // What one try ended with: a result to return, or silence / a stale reply (try again).
  struct TryOutcome;

  Status open_socket();
  // Closes the socket and its handshake watch (the watch first: it refers to the socket).
  void close_socket();
  // call() for a request already encoded.
  Result<protocol::Reply> call_encoded(uint8_t type, const std::string& body, uint64_t request_id);
  // One broker, the Lazy Pirate of the file comment.
  Result<protocol::Reply> run_tries(uint8_t type, const std::string& body, uint64_t request_id);
  // Several brokers or ClientOptions::failover: see the file comment.
  Result<protocol::Reply> run_failover(uint8_t type, const std::string& body, uint64_t request_id);
  // Sends the request once to target_ (opening a socket connected to it when needed) and waits
  // up to `timeout` for the answer. Handshake events of the try are added to `seen`; a dropped
  // reply to another request counts in `stale`. Closes the socket unless the try is Done.
  TryOutcome try_once(uint8_t type, const std::string& body, uint64_t request_id, Millis timeout,
                      HandshakeEvents& seen, int& stale);
  // Makes `endpoint` the broker of the next try (closing a socket connected elsewhere).
  void aim_at(const std::string& endpoint);
  // The next broker of the list after the current one (after the last one used from the list,
  // when the current one came from a redirect), skipping those `is_held` unless all are.
  void aim_at_next(const std::function<bool(const std::string&)>& is_held);
  uint64_t next_request_id();

  ClientOptions options_;
  const Clock* clock_;                  // not owned; outlives the Client (constructor contract)
  std::vector<std::string> endpoints_;  // options_.endpoint, then options_.other_endpoints
  size_t list_index_ = 0;               // the entry of endpoints_ used last
  std::string target_;                  // the endpoint of the next try (listed or a redirect's)
  std::string address_;                 // target_ as HOST:PORT
  std::unique_ptr<zmq::context_t> context_;
  std::unique_ptr<zmq::socket_t> socket_;  // null until the first call and after a failed try
  std::unique_ptr<HandshakeWatch> watch_;  // socket_'s monitor; null exactly when socket_ is
  uint64_t next_id_ = 0;                   // random start, then +1 per request
  bool was_unanswered_ = false;
  bool was_refused_ = false;
  bool was_interrupted_ = false;
};

}  // namespace cube
