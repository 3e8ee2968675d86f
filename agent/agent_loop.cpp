#include "agent/agent_loop.h"

#include <algorithm>
#include <random>
#include <set>
#include <utility>

#include <spdlog/spdlog.h>

#include "agent/host_capacity.h"
#include "agent/http_probe.h"
#include "agent/log_reader.h"
#include "protocol/batches.h"
#include "protocol/beacon_slices.h"
#include "protocol/not_leader.h"

namespace cube::agent {
namespace {

// Messages handled per socket per iteration, so that a flood on one socket cannot starve the
// others or the timers.
constexpr int kBatch = 256;
// A broker is considered gone after this many beacon intervals without a beacon: survives one
// lost beacon plus jitter (docs/protocol.md, Beacon).
constexpr int kBeaconMisses = 3;
// ZMTP PINGs on the DEALER are at least this far apart. They keep a NAT's mapping of the work
// connection and let the broker's libzmq close the connection of an agent gone silent (TTL).
// Whether the broker is there is the beacon's job, whether the agent is the AGENT_HEARTBEAT's;
// a PING and its PONG every 1 s heartbeat were half of what an idle agent cost the broker
// (docs/decisions.md).
constexpr Millis kMinZmtpPingInterval{5000};
// ZMTP heartbeat timeout and TTL on the DEALER, in pings.
constexpr int kZmtpTimeoutPings = 3;
// How often the driver is asked to remove what it keeps for forgotten tasks (ended containers
// live until the tracker forgets their attempt, an hour at most, then up to this much longer).
constexpr Millis kReapInterval{60 * 1000};
// Only things at least this old are reaped: a container whose create is still in flight (or
// finished after the agent gave up on it) is younger.
constexpr Millis kReapMinAge{60 * 1000};

std::string broker_label(const AgentOptions& o, const BrokerEndpoints& e) {
  if (!o.work_endpoint_override.empty())
    return e.work;
  return o.broker_host + ":" + std::to_string(o.broker_port);
}

// --broker's list: the first broker, then the others.
std::vector<BrokerAddress> broker_list(const AgentOptions& o) {
  std::vector<BrokerAddress> list = {{o.broker_host, o.broker_port}};
  list.insert(list.end(), o.other_brokers.begin(), o.other_brokers.end());
  return list;
}

// One probe per watched attempt is in flight at most, and only running attempts are watched:
// a thread per slot means probes never queue behind each other (capped for big agents).
size_t health_pool_threads(uint32_t slots) {
  return std::clamp<size_t>(static_cast<size_t>(slots), 1, 16);
}

// A call's answer in event.result, or, when it throws, `failure` "<what> error: <message>":
// what every job posted back to the loop does.
template <typename Event, typename Call>
Event completed(Event event, Call& call, ErrorCode failure, const char* what) {
  try {
    event.result = call();
  } catch (const std::exception& e) {
    event.result = Status(failure, std::string(what) + " error: " + e.what());
  }
  return event;
}

// What run() and step() return when ZeroMQ fails for good.
Status zmq_failed(const zmq::error_t& e) {
  return Status::internal(std::string("agent loop: ZeroMQ failed: ") + e.what());
}

size_t pool_threads(uint32_t slots) {
  // One start and one stop per slot can be in flight; a stop blocks for its grace period, so
  // a few more threads than slots keep starts flowing. Capped for agents with many slots.
  return std::clamp<size_t>(static_cast<size_t>(slots) + 1, 2, 32);
}

}  // namespace

AgentLoop::AgentLoop(AgentOptions options, Driver& driver, const Clock& clock,
                     zmq::context_t* shared_context)
    : options_(std::move(options)),
      failover_(broker_list(options_)),
      endpoints_(broker_endpoints(options_)),
      name_(options_.name.empty() ? default_agent_name() : options_.name),
      broker_label_(broker_label(options_, endpoints_)),
      driver_(driver),
      clock_(clock),
      capacity_(
          probe_host_capacity(options_.data_dir, options_.slots, options_.capacity_overrides)),
      context_(shared_context != nullptr ? *shared_context : own_context_.emplace(1)),
      tracker_(options_.slots, options_.max_finished),
      backoff_(seeded_random_source(std::random_device{}())),
      backend_(clock.now()),
      inline_calls_(driver.calls_never_block()),
      results_(std::make_shared<EventQueue<LoopEvent>>()),
      pool_(inline_calls_ ? 0 : pool_threads(options_.slots)) {
  CUBE_CHECK(!options_.agent_id.empty())
      << "main() loads the agent id (load_or_create_agent_id) before building the loop";
  setup_sockets();
  if (inline_calls_) {
    // Such a driver calls the sink on the thread that called it: this loop's (driver.h).
    driver_.set_exit_sink([this](AttemptEnd end) { inline_results_.emplace_back(std::move(end)); });
  } else {
    driver_.set_exit_sink([queue = results_](AttemptEnd end) { queue->push(std::move(end)); });
  }
  const SteadyTime now = clock_.now();
  Status backend = driver_.check_backend();
  backend_.on_result(backend, now);
  if (!backend.is_ok()) {
    spdlog::error(
        "the {} driver cannot run tasks: {}; rejecting tasks until it answers "
        "(checking every {} s)",
        driver_.name(), backend.message(), BackendHealth::kUnhealthyInterval.count() / 1000);
  }
  auto owned = driver_.list_owned();
  if (!owned.is_ok()) {
    spdlog::warn("cannot list the tasks the {} driver already runs: {}{}", driver_.name(),
                 owned.status().to_string(),
                 backend.is_ok() ? "" : "; trying again once the backend answers");
  } else {
    owned_listed_ = true;
    adopt_owned(*owned, now);
  }
  next_reap_ = now + kReapInterval;
}

bool AgentLoop::adopt_owned(const std::vector<AttemptStatus>& owned, SteadyTime now) {
  bool any = false;
  for (const auto& status : owned) {
    if (tracker_.adopt(status, now)) {
      any = true;
      spdlog::info("adopted task {} attempt {} ({})", status.task_id, status.attempt,
                   task_state_name(status.state));
    }
  }
  return any;
}

AgentLoop::~AgentLoop() {
  if (inline_calls_)
    driver_.set_exit_sink(nullptr);  // its sink points at this loop
}

void AgentLoop::setup_sockets() {
  try {
    pub_ = zmq::socket_t(context_, zmq::socket_type::pub);
    protocol::apply_socket_defaults(pub_, protocol::kMaxInboundMessageBytes);
    CUBE_CHECK(protocol::apply_curve_client(pub_, options_.curve).is_ok())
        << "CURVE keys were checked by main()";
    pub_.connect(endpoints_.events);
    sub_ = zmq::socket_t(context_, zmq::socket_type::sub);
    protocol::apply_socket_defaults(sub_, protocol::kMaxInboundMessageBytes);
    CUBE_CHECK(protocol::apply_curve_client(sub_, options_.curve).is_ok())
        << "CURVE keys were checked by main()";
    // Plain beacons (older brokers, or one serving an agent without slices) and this agent's
    // slice (protocol/beacon_slices.h).
    sub_.set(zmq::sockopt::subscribe, protocol::kProtocolVersion);
    sub_.set(zmq::sockopt::subscribe,
             protocol::beacon_topic(protocol::beacon_slice_of(options_.agent_id)));
    sub_.connect(endpoints_.beacon);
    create_dealer();
  } catch (const zmq::error_t& e) {
    setup_status_ =
        Status::internal("cannot connect to the broker at " + broker_label_ + ": " + e.what());
  }
}

void AgentLoop::create_dealer() {
  // Replacing the socket closes the old one with linger 0: a HELLO still queued in it is
  // dropped instead of reaching the broker late (Lazy Pirate).
  dealer_ = zmq::socket_t(context_, zmq::socket_type::dealer);
  protocol::apply_socket_defaults(dealer_, protocol::kMaxInboundMessageBytes);
  // Queue nothing while no broker is connected: stale messages would arrive after a reconnect.
  dealer_.set(zmq::sockopt::immediate, 1);
  auto ping = static_cast<int>(std::max(heartbeat_interval(), kMinZmtpPingInterval).count());
  protocol::enable_zmtp_heartbeats(dealer_, ping, ping * kZmtpTimeoutPings);
  CUBE_CHECK(protocol::apply_curve_client(dealer_, options_.curve).is_ok())
      << "CURVE keys were checked by main()";
  dealer_.connect(endpoints_.work);
}

Status AgentLoop::run(int stop_fd) {
  CUBE_RETURN_IF_ERROR(begin());
  while (true) {
    SteadyTime now = clock_.now();
    short dealer_events = ZMQ_POLLIN;
    if (hello_unsent_)
      dealer_events |= ZMQ_POLLOUT;
    zmq_pollitem_t items[] = {
        {dealer_.handle(), 0, dealer_events, 0},
        {sub_.handle(), 0, ZMQ_POLLIN, 0},
        {nullptr, results_->fd(), ZMQ_POLLIN, 0},
        {nullptr, stop_fd, ZMQ_POLLIN, 0},
    };
    try {
      // Level-triggered: messages a step left waiting (batch limit) make it return at once.
      zmq::poll(items, 4, Millis(poll_timeout_ms(now)));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR)
        continue;
      return zmq_failed(e);
    }
    if (items[3].revents & ZMQ_POLLIN)
      return Status::ok();
    unsigned woken = 0;
    if (items[0].revents != 0)
      woken |= kWakeDealer;
    if (items[1].revents != 0)
      woken |= kWakeSub;
    if (items[2].revents != 0)
      woken |= kWakeResults;
    auto stepped = step(clock_.now(), woken);
    if (!stepped.is_ok())
      return stepped.status();
  }
}

Status AgentLoop::begin() {
  CUBE_RETURN_IF_ERROR(setup_status_);
  try {
    start_hello(clock_.now());
  } catch (const zmq::error_t& e) {
    return zmq_failed(e);
  }
  return Status::ok();
}

Result<bool> AgentLoop::step(SteadyTime now, unsigned woken) {
  try {
    // ZMQ_EVENTS also processes the socket's pending commands, which is what makes its ZMQ_FD
    // quiet again until something new arrives. A socket whose fd did not fire has had no news
    // since the last look, so it is asked only when it fired (each ask is a syscall).
    auto events = [](zmq::socket_t& socket) { return socket.get(zmq::sockopt::events); };
    if ((woken & kWakeDealer) != 0 || hello_unsent_) {
      int dealer_events = events(dealer_);
      if ((dealer_events & ZMQ_POLLOUT) && hello_unsent_)
        try_send_hello();
      if (dealer_events & ZMQ_POLLIN)
        handle_dealer(now);
    }
    bool sub_more = false;
    if ((woken & kWakeSub) != 0 && (events(sub_) & ZMQ_POLLIN) != 0) {
      handle_beacon(now);
      sub_more = (events(sub_) & ZMQ_POLLIN) != 0;  // a batch limit was hit
    }
    run_timers(now);
    // After the timers, so that the Running and final states of calls made on this thread
    // (a driver that never blocks) and of poll_due go out in this same step.
    handle_results(now, (woken & kWakeResults) != 0);
    // What this step accepted and the states it numbered leave together, before the CREDIT.
    flush_accepts();
    flush_states();
    if (credit_dirty_ && state_ == SessionState::Welcomed)
      send_credit();
    // Sending may have taken in messages that ZMQ_FD will not signal again: look once more.
    int dealer_events = events(dealer_);
    return (dealer_events & ZMQ_POLLIN) != 0 || sub_more ||
           (hello_unsent_ && (dealer_events & ZMQ_POLLOUT) != 0);
  } catch (const zmq::error_t& e) {
    return zmq_failed(e);
  }
}

std::array<int, 3> AgentLoop::wake_fds() const {
  return {dealer_.get(zmq::sockopt::fd), sub_.get(zmq::sockopt::fd), results_->fd()};
}

long AgentLoop::poll_timeout_ms(SteadyTime now) const {
  return static_cast<long>(millis_until(now, next_deadline(now)));
}

SteadyTime AgentLoop::next_deadline(SteadyTime now) const {
  SteadyTime deadline = now + Millis(60 * 1000);
  switch (state_) {
    case SessionState::AwaitingWelcome:
      deadline = welcome_deadline_;
      break;
    case SessionState::BackingOff:
      if (backoff_.next_attempt())
        deadline = *backoff_.next_attempt();
      break;
    case SessionState::Welcomed:
      deadline = std::min(next_heartbeat_, last_beacon_ + beacon_interval() * kBeaconMisses);
      break;
  }
  if (!backend_.in_flight())
    deadline = std::min(deadline, backend_.next_check());
  if (owned_listed_ && !reaping_)
    deadline = std::min(deadline, next_reap_);
  if (!owned_listed_ && !listing_owned_ && backend_.is_ok())
    deadline = std::min(deadline, list_owned_retry_at_);
  if (auto due = driver_.next_deadline())
    deadline = std::min(deadline, *due);
  if (state_ == SessionState::Welcomed && stats_enabled() && !stats_in_flight_)
    deadline = std::min(deadline, next_stats_);
  if (auto due = health_.next_deadline())
    deadline = std::min(deadline, *due);
  return deadline;
}

// --- session ---

void AgentLoop::start_hello(SteadyTime now) {
  // What the ending session accepted and numbered still goes out as that session's, before
  // the HELLO, as it would have before batching.
  flush_accepts();
  flush_states();
  broker_batches_ = false;  // until the next WELCOME says
  session_id_.clear();
  state_ = SessionState::AwaitingWelcome;
  hello_unsent_ = true;
  welcome_deadline_ = now + options_.welcome_timeout;
  try_send_hello();
}

void AgentLoop::try_send_hello() {
  protocol::Hello hello;
  hello.agent_id = options_.agent_id;
  hello.name = name_;
  hello.version = std::string(kAgentVersion);
  hello.drivers = {std::string(driver_.name())};
  hello.capacity = capacity_;
  hello.labels = options_.labels;
  if (!backend_.is_ok())
    hello.labels[std::string(kLabelDriverError)] = backend_.status().message();
  hello.seq = last_seq_;
  hello.tasks = tracker_.snapshot();
  hello.features = {std::string(protocol::kFeatureBatches),
                    std::string(protocol::kFeatureBeaconSlices)};
  Status s = protocol::send(dealer_, hello);
  if (s.is_ok()) {
    hello_unsent_ = false;
    spdlog::debug("HELLO sent to {} (seq {}, {} tasks)", broker_label_, hello.seq,
                  hello.tasks.size());
  }
  // Otherwise no connection yet (ZMQ_IMMEDIATE): the loop polls for POLLOUT and sends then.
}

void AgentLoop::on_welcome(const protocol::Welcome& w, SteadyTime now) {
  session_id_ = w.session_id;
  broker_batches_ = std::ranges::find(w.features, protocol::kFeatureBatches) != w.features.end();
  broker_epoch_ = w.broker_epoch;
  welcome_heartbeat_ = Millis(std::max<int64_t>(w.heartbeat_ms, 0));
  state_ = SessionState::Welcomed;
  hello_unsent_ = false;
  backoff_.reset();
  last_beacon_ = now;
  next_heartbeat_ = now + first_heartbeat_delay(options_.agent_id, heartbeat_interval());
  // The first NODE_STATS a heartbeat after WELCOME: soon, yet over a CPU interval long enough
  // to mean something.
  next_stats_ = now + heartbeat_interval();
  failover_.on_welcome();
  spdlog::info("registered with broker {} as {} (id {})", broker_label_, name_, options_.agent_id);
  send_credit();
}

void AgentLoop::move_on(BrokerFailover::Next next, SteadyTime now) {
  // What the ending session accepted and numbered goes out as that session's, to its broker.
  flush_accepts();
  flush_states();
  session_id_.clear();
  broker_batches_ = false;
  hello_unsent_ = false;
  const BrokerAddress& target = failover_.current();
  const bool first = target == BrokerAddress{options_.broker_host, options_.broker_port};
  BrokerEndpoints endpoints = first ? broker_endpoints(options_) : broker_endpoints(target);
  if (endpoints.work != endpoints_.work) {
    spdlog::info("moving from broker {} to broker {} (tasks keep running)", broker_label_,
                 first ? broker_label(options_, endpoints) : target.label());
    endpoints_ = std::move(endpoints);
    broker_label_ = first ? broker_label(options_, endpoints_) : target.label();
    // New sockets for the new broker's ports: what the old ones still queue is dropped
    // (linger 0), and the SUB hears only the new broker's beacon.
    setup_sockets();
    if (!setup_status_.is_ok())
      spdlog::error("{}", setup_status_.message());
  } else {
    create_dealer();  // drops a HELLO still queued for it (Lazy Pirate)
  }
  switch (next) {
    case BrokerFailover::Next::HelloNow:
      start_hello(now);
      return;
    case BrokerFailover::Next::HelloLater:
      backoff_.retry_at(now + BrokerFailover::kStandbyRetry);
      break;
    case BrokerFailover::Next::BackOff: {
      Millis delay = backoff_.on_failure(now);
      spdlog::warn("no broker of the {} answered; retrying {} in {} ms", failover_.size(),
                   broker_label_, delay.count());
      break;
    }
  }
  state_ = SessionState::BackingOff;
}

void AgentLoop::on_error(const protocol::ErrorMessage& e, SteadyTime now) {
  if (auto not_leader = protocol::parse_not_leader(e.code, e.message)) {
    std::optional<BrokerAddress> leader;
    if (not_leader->leader) {
      BrokerAddress a;
      if (protocol::parse_host_port(*not_leader->leader, a.host, a.port).is_ok() &&
          a.port <= 65535 - 3)
        leader = std::move(a);
    }
    spdlog::info("broker {} is a standby ({}){}", broker_label_, e.message,
                 leader ? "" : ": asking another broker shortly");
    move_on(failover_.on_not_leader(leader), now);
    return;
  }
  if (e.code == ErrorCode::Unauthorized) {
    if (state_ == SessionState::Welcomed) {
      spdlog::info("broker {} does not know our session ({}): registering again", broker_label_,
                   e.message);
      start_hello(now);
    }
    // Otherwise a HELLO is already on its way or scheduled.
    return;
  }
  if (state_ == SessionState::AwaitingWelcome) {
    Millis delay = backoff_.on_failure(now);
    state_ = SessionState::BackingOff;
    hello_unsent_ = false;
    spdlog::warn("broker {} refused HELLO: {} ({}); retrying in {} ms", broker_label_, e.message,
                 error_code_name(e.code), delay.count());
    return;
  }
  spdlog::warn("broker {} reported an error: {} ({})", broker_label_, e.message,
               error_code_name(e.code));
}

// --- input ---

void AgentLoop::note_decode_error(uint8_t type, const Status& error) {
  ++decode_errors_;
  // One broker: log the first malformed message, then every power of two, so a broken broker
  // is visible without flooding the log.
  if ((decode_errors_ & (decode_errors_ - 1)) == 0) {
    spdlog::warn("dropping a malformed {} from broker {}: {} ({} so far)",
                 protocol::message_type_name(type), broker_label_, error.message(), decode_errors_);
  }
}

void AgentLoop::handle_dealer(SteadyTime now) {
  using protocol::MessageType;
  for (int i = 0; i < kBatch; ++i) {
    Status error;
    auto msg = protocol::receive(dealer_, 0, &error);
    if (!msg) {
      if (!error.is_ok())
        spdlog::debug("work socket: {}", error.message());
      return;
    }
    if (!error.is_ok()) {
      note_decode_error(msg->type, error);
      continue;
    }
    auto decode_into = [&](auto& out) {
      Status s = protocol::decode_body(msg->body, out);
      if (!s.is_ok())
        note_decode_error(msg->type, s);
      return s.is_ok();
    };
    switch (static_cast<MessageType>(msg->type)) {
      case MessageType::Welcome: {
        protocol::Welcome m;
        if (decode_into(m))
          on_welcome(m, now);
        break;
      }
      case MessageType::Assign: {
        protocol::Assign m;
        if (decode_into(m))
          on_assign(m.task);
        break;
      }
      case MessageType::AssignBatch: {
        protocol::AssignBatch m;
        if (!decode_into(m))
          break;
        if (m.tasks.empty())
          note_decode_error(msg->type, Status::invalid("no tasks"));
        for (const Task& task : m.tasks)
          on_assign(task);
        break;
      }
      case MessageType::Stop: {
        protocol::Stop m;
        if (decode_into(m))
          on_stop(m);
        break;
      }
      case MessageType::Sync: {
        protocol::Sync m;
        if (decode_into(m))
          on_sync();
        break;
      }
      case MessageType::Error: {
        protocol::ErrorMessage m;
        if (decode_into(m))
          on_error(m, now);
        break;
      }
      case MessageType::LogsFetch: {
        protocol::LogsFetch m;
        if (decode_into(m))
          on_logs_fetch(m);
        break;
      }
      default:
        spdlog::debug("ignoring {} on the work socket", protocol::message_type_name(msg->type));
        break;
    }
  }
}

void AgentLoop::handle_beacon(SteadyTime now) {
  for (int i = 0; i < kBatch; ++i) {
    Status error;
    auto msg = protocol::receive_published(sub_, &error);
    if (!msg)
      return;
    if (!error.is_ok()) {
      note_decode_error(msg->type, error);
      continue;
    }
    if (static_cast<protocol::MessageType>(msg->type) != protocol::MessageType::Beacon)
      continue;
    protocol::Beacon beacon;
    Status s = protocol::decode_body(msg->body, beacon);
    if (!s.is_ok()) {
      note_decode_error(msg->type, s);
      continue;
    }
    last_beacon_ = now;
    beacon_heartbeat_ = Millis(std::max<int64_t>(beacon.heartbeat_ms, 0));
    if (state_ == SessionState::Welcomed && !broker_epoch_.empty() &&
        beacon.broker_epoch != broker_epoch_) {
      spdlog::info("broker {} restarted (epoch {} -> {}): registering again", broker_label_,
                   broker_epoch_, beacon.broker_epoch);
      start_hello(now);
    }
  }
}

void AgentLoop::on_assign(const Task& task) {
  if (state_ != SessionState::Welcomed) {
    // From a session that is being replaced: the broker takes it back after its deadline.
    spdlog::debug("ignoring ASSIGN of task {} attempt {}: no session", task.id, task.attempt);
    return;
  }
  auto reject = [&](std::string reason) {
    spdlog::info("rejecting task {} attempt {}: {}", task.id, task.attempt, reason);
    send_work(protocol::Reject{session_id_, task.id, task.attempt, std::move(reason)});
  };
  auto accept = [&] { queue_accept(task.id, task.attempt); };
  if (task.id.empty()) {
    reject("the task has no id");
    return;
  }
  std::string_view wanted = effective_driver(task.driver);
  if (wanted != driver_.name()) {
    reject("driver " + std::string(wanted) + " not offered by this agent");
    return;
  }
  if (!backend_.is_ok() && tracker_.find(task.id, task.attempt) == nullptr) {
    reject(backend_.status().message());
    return;
  }
  switch (tracker_.admit(task.id, task.attempt)) {
    case TaskTracker::Admission::Duplicate:
      spdlog::debug("repeated ASSIGN of task {} attempt {}: accepted again", task.id, task.attempt);
      accept();
      return;
    case TaskTracker::Admission::NoFreeSlot:
      reject("no free slot");
      return;
    case TaskTracker::Admission::OtherAttemptActive:
      reject("another attempt of this task is still running on this agent");
      return;
    case TaskTracker::Admission::Admitted:
      accept();
      post_start(task);
      return;
  }
}

void AgentLoop::on_stop(const protocol::Stop& stop) {
  TrackedAttempt* a = tracker_.find_active(stop.task_id, stop.attempt);
  if (a == nullptr) {
    spdlog::debug("ignoring STOP of task {} attempt {}: not running here", stop.task_id,
                  stop.attempt);
    return;
  }
  Millis grace = stop.grace_ms > 0 ? Millis(stop.grace_ms) : options_.stop_grace;
  auto request = tracker_.request_stop(*a, stop.reason, grace);
  if (request == TaskTracker::StopRequest::AlreadyStopping)
    return;
  health_.forget(a->task_id, a->attempt);
  spdlog::info("stopping task {} attempt {} ({}, grace {} ms)", a->task_id, a->attempt,
               a->stop_reason, grace.count());
  if (request == TaskTracker::StopRequest::StopNow)
    post_stop(*a);
}

void AgentLoop::on_sync() {
  if (state_ != SessionState::Welcomed)
    return;  // the HELLO under way carries the same snapshot
  send_work(protocol::Snapshot{session_id_, last_seq_, tracker_.snapshot()});
}

// --- results from workers and the driver ---

void AgentLoop::handle_results(SteadyTime now, bool queue_woken) {
  if (queue_woken) {
    for (auto& event : results_->drain())
      handle_result(event, now);
  }
  // Handling a result may call the driver again (a stop after start), adding results here.
  while (!inline_results_.empty()) {
    handling_.swap(inline_results_);
    for (auto& event : handling_)
      handle_result(event, now);
    handling_.clear();  // keeps its capacity: no allocation per step
  }
}

void AgentLoop::handle_result(LoopEvent& event, SteadyTime now) {
  if (auto* start = std::get_if<StartDone>(&event)) {
    on_start_done(*start, now);
  } else if (auto* stop = std::get_if<StopDone>(&event)) {
    on_stop_done(*stop);
  } else if (auto* ended = std::get_if<AttemptEnd>(&event)) {
    on_exited(std::move(*ended), now);
  } else if (auto* logs = std::get_if<LogsDone>(&event)) {
    on_logs_done(*logs);
  } else if (auto* checked = std::get_if<BackendChecked>(&event)) {
    on_backend_checked(std::move(checked->result), now);
  } else if (auto* listed = std::get_if<OwnedListed>(&event)) {
    on_owned_listed(std::move(listed->result), now);
  } else if (auto* stats = std::get_if<StatsSampled>(&event)) {
    on_stats_sampled(stats->result);
  } else if (auto* probed = std::get_if<HealthProbed>(&event)) {
    on_health_probed(*probed, now);
  } else if (auto* reaped = std::get_if<Reaped>(&event)) {
    on_reaped(reaped->result, now);
  }
}

void AgentLoop::on_start_done(StartDone& done, SteadyTime now) {
  TrackedAttempt* a = tracker_.find(done.task_id, done.attempt);
  CUBE_CHECK(a != nullptr && a->phase == AttemptPhase::Starting)
      << "only post_start() posts StartDone, once per attempt admitted as Starting";
  if (!done.result.is_ok()) {
    AttemptStatus failed;
    failed.task_id = done.task_id;
    failed.attempt = done.attempt;
    failed.state = TaskState::Failed;
    failed.reason = done.result.status().message();
    failed.finish_time_ms = to_unix_ms(clock_.wall());
    spdlog::warn("task {} attempt {} failed to start: {}", done.task_id, done.attempt,
                 done.result.status().to_string());
    if (done.result.status().is_unavailable())
      backend_.check_soon(now);
    report_finished(tracker_.mark_finished(*a, std::move(failed), now));
    return;
  }
  AttemptStatus running = std::move(done.result).value();
  running.task_id = done.task_id;
  running.attempt = done.attempt;
  running.state = TaskState::Running;
  auto next = tracker_.mark_running(*a, running);
  spdlog::info("task {} attempt {} running", done.task_id, done.attempt);
  queue_task_state(running);
  switch (next) {
    case TaskTracker::AfterStart::Run:
      watch_health(done, running, now);
      return;
    case TaskTracker::AfterStart::Stop:
      post_stop(*a);
      return;
    case TaskTracker::AfterStart::Ended:
      report_finished(tracker_.finish_early_exit(*a, now));
      return;
  }
}

void AgentLoop::on_stop_done(const StopDone& done) {
  if (done.result.is_ok())
    return;  // the final state comes through the exit sink
  TrackedAttempt* a = tracker_.find(done.task_id, done.attempt);
  if (a == nullptr || a->phase != AttemptPhase::Stopping)
    return;  // it ended meanwhile
  spdlog::warn("stopping task {} attempt {} failed: {}; it is still running", done.task_id,
               done.attempt, done.result.to_string());
  if (tracker_.mark_stop_failed(*a))
    health_.rearm(a->task_id, a->attempt, clock_.now());  // still unhealthy: it tries again
}

void AgentLoop::on_exited(AttemptEnd end, SteadyTime now) {
  TrackedAttempt* a = tracker_.find(end.task_id, end.attempt);
  if (a == nullptr || a->phase == AttemptPhase::Finished) {
    spdlog::debug("ignoring the end of task {} attempt {}: not tracked", end.task_id, end.attempt);
    return;
  }
  // Still starting: held until start() returns, so that Running is reported first.
  if (auto final_status = tracker_.end(*a, std::move(end), now))
    report_finished(*final_status);
}

void AgentLoop::report_finished(const AttemptStatus& final_status) {
  spdlog::info("task {} attempt {} {}{}{}", final_status.task_id, final_status.attempt,
               task_state_name(final_status.state), final_status.reason.empty() ? "" : ": ",
               final_status.reason);
  health_.forget(final_status.task_id, final_status.attempt);
  queue_task_state(final_status);
  credit_dirty_ = true;
}

// --- logs ---

void AgentLoop::on_logs_fetch(const protocol::LogsFetch& f) {
  spdlog::debug("logs of task {} attempt {} (fetch {}): offset {}, max {} bytes, tail {} lines",
                f.task_id, f.attempt, f.fetch_id, f.offset, f.max_bytes, f.tail_lines);
  call_driver(LogsDone{f, Status::internal("the driver did not return")}, [&driver = driver_, f] {
    return read_task_logs(driver, f.task_id, f.offset, f.max_bytes, f.tail_lines);
  });
}

void AgentLoop::on_logs_done(LogsDone& done) {
  protocol::LogsData answer;
  answer.fetch_id = done.fetch.fetch_id;
  if (!done.result.is_ok() && done.result.status().is_not_found()) {
    const TrackedAttempt* a = tracker_.find(done.fetch.task_id, done.fetch.attempt);
    if (a != nullptr && a->phase == AttemptPhase::Starting) {
      done.result = LogChunk{"", done.fetch.offset, false};  // nothing written yet
    } else if (a != nullptr && a->phase == AttemptPhase::Finished) {
      done.result = LogChunk{"", done.fetch.offset, true};  // ended; its log went with it
    }
  }
  if (done.result.is_ok()) {
    LogChunk& chunk = done.result.value();
    answer.data = std::move(chunk.data);
    answer.next_offset = chunk.next_offset;
    answer.eof = chunk.eof;
  } else {
    answer.error_code = done.result.status().code();
    answer.error_message = "agent " + name_ + ": " + done.result.status().message();
  }
  send_work(answer);
}

// --- backend health, late adoption, reaping ---

void AgentLoop::run_backend_timers(SteadyTime now) {
  if (backend_.start_check_if_due(now)) {
    call_driver(
        BackendChecked{Status::ok()}, [&driver = driver_] { return driver.check_backend(); },
        ErrorCode::Unavailable);
  }
  if (!owned_listed_ && !listing_owned_ && backend_.is_ok() && now >= list_owned_retry_at_) {
    listing_owned_ = true;
    call_driver(OwnedListed{Status::internal("the driver did not return")},
                [&driver = driver_] { return driver.list_owned(); });
  }
  if (owned_listed_ && !reaping_ && now >= next_reap_) {
    reaping_ = true;
    std::set<std::string> known;
    for (const AttemptStatus& s : tracker_.snapshot())
      known.insert(s.task_id);
    call_driver(Reaped{Status::internal("the driver did not return")},
                [&driver = driver_, known = std::move(known)] {
                  return driver.remove_untracked(known, kReapMinAge);
                });
  }
}

void AgentLoop::on_backend_checked(Status status, SteadyTime now) {
  if (!backend_.on_result(status, now))
    return;
  if (status.is_ok()) {
    spdlog::info("the {} driver's backend answers again: accepting tasks", driver_.name());
  } else {
    spdlog::error("the {} driver cannot run tasks: {}; rejecting tasks until it answers",
                  driver_.name(), status.message());
  }
  if (state_ == SessionState::Welcomed)
    start_hello(now);  // so the node's labels show the change
}

void AgentLoop::on_owned_listed(Result<std::vector<AttemptStatus>> result, SteadyTime now) {
  listing_owned_ = false;
  if (!result.is_ok()) {
    spdlog::warn("cannot list the tasks the {} driver already runs: {}", driver_.name(),
                 result.status().to_string());
    list_owned_retry_at_ = now + BackendHealth::kUnhealthyInterval;
    return;
  }
  owned_listed_ = true;
  next_reap_ = now + kReapInterval;
  if (adopt_owned(*result, now) && state_ == SessionState::Welcomed)
    start_hello(now);  // the broker reconciles the adopted tasks
}

void AgentLoop::on_reaped(const Result<int>& removed, SteadyTime now) {
  reaping_ = false;
  next_reap_ = now + kReapInterval;
  if (!removed.is_ok()) {
    spdlog::warn("removing what the {} driver keeps for forgotten tasks failed: {}", driver_.name(),
                 removed.status().to_string());
  } else if (*removed > 0) {
    spdlog::info("removed {} leftover container(s) of tasks this agent no longer tracks", *removed);
  }
}

// --- output ---

void AgentLoop::post_start(const Task& task) {
  StartDone done{task.id, task.attempt, Status::internal("the driver did not return"), {}};
  if (!task.health_check.empty()) {
    done.health = {task.health_check, task.exposed_ports,
                   health_settings(task, options_.health, "")};
  }
  call_driver(std::move(done), [&driver = driver_, task] { return driver.start(task); });
}

void AgentLoop::post_stop(const TrackedAttempt& a) {
  call_driver(
      StopDone{a.task_id, a.attempt, Status::ok()},
      [&driver = driver_, id = a.task_id, grace = a.stop_grace] { return driver.stop(id, grace); });
}

template <typename Event, typename Call>
void AgentLoop::call_driver(Event event, Call call, ErrorCode failure) {
  if (inline_calls_) {
    inline_results_.emplace_back(completed(std::move(event), call, failure, "driver"));
    return;
  }
  post_call(pool_, std::move(event), std::move(call), failure, "driver");
}

template <typename Event, typename Call>
void AgentLoop::post_call(WorkerPool& pool, Event event, Call call, ErrorCode failure,
                          const char* what) {
  pool.post([queue = results_, event = std::move(event), call = std::move(call), failure,
             what]() mutable { queue->push(completed(std::move(event), call, failure, what)); });
}

void AgentLoop::queue_task_state(const AttemptStatus& status) {
  if (!states_.statuses.empty() && states_.session_id != session_id_)
    flush_states();  // each batch carries one session's events
  states_.agent_id = options_.agent_id;
  states_.session_id = session_id_;
  states_.seq = ++last_seq_;
  states_.statuses.push_back(status);
}

void AgentLoop::queue_accept(const std::string& task_id, uint32_t attempt) {
  if (!accepts_.attempts.empty() && accepts_.session_id != session_id_)
    flush_accepts();
  accepts_.session_id = session_id_;
  accepts_.attempts.push_back({task_id, attempt});
}

void AgentLoop::flush_accepts() {
  if (accepts_.attempts.empty())
    return;
  protocol::encode_batch(
      std::move(accepts_), broker_batches_,
      [this](protocol::MessageType type, std::string body) { send_encoded(dealer_, type, body); });
  accepts_.attempts.clear();  // moved from: empty again
}

void AgentLoop::flush_states() {
  if (states_.statuses.empty())
    return;
  protocol::encode_batch(
      std::move(states_), broker_batches_,
      [this](protocol::MessageType type, std::string body) { send_encoded(pub_, type, body); });
  states_.statuses.clear();
}

void AgentLoop::send_encoded(zmq::socket_t& socket, protocol::MessageType type,
                             std::string_view body) {
  Status s = protocol::send_raw(socket, {}, type, body);
  if (!s.is_ok()) {
    // Lost with the connection: on the DEALER the broker's assignment deadline and the next
    // HELLO recover; a lost event is a gap the next heartbeat reveals (SYNC).
    spdlog::debug("{} to broker {} lost: {}",
                  protocol::message_type_name(static_cast<uint8_t>(type)), broker_label_,
                  s.message());
  }
}

void AgentLoop::publish_heartbeat() {
  protocol::AgentHeartbeat hb;
  hb.agent_id = options_.agent_id;
  hb.session_id = session_id_;
  hb.seq = last_seq_;
  hb.running = tracker_.active();
  hb.free_slots = tracker_.free_slots();
  publish(hb);
}

void AgentLoop::send_credit() {
  credit_dirty_ = false;
  send_work(protocol::Credit{session_id_, tracker_.free_slots()});
}

template <typename M>
void AgentLoop::send_work(const M& message) {
  flush_accepts();  // the ACCEPTs came first: the broker's credit arithmetic counts on it
  send_encoded(dealer_, protocol::MessageTraits<M>::kType, protocol::encode_body(message));
}

template <typename M>
void AgentLoop::publish(const M& message) {
  flush_states();  // a heartbeat repeats the last seq: the events it counts go out first
  send_encoded(pub_, protocol::MessageTraits<M>::kType, protocol::encode_body(message));
}

// --- timers ---

void AgentLoop::run_timers(SteadyTime now) {
  driver_.poll_due(now);  // ends reach the loop through the exit sink and the result queue
  tracker_.prune(now);
  run_backend_timers(now);
  run_health_timer(now);
  switch (state_) {
    case SessionState::AwaitingWelcome:
      if (now >= welcome_deadline_ && failover_.size() > 1) {
        spdlog::warn("no WELCOME from broker {} within {} ms: trying the next broker",
                     broker_label_, options_.welcome_timeout.count());
        move_on(failover_.on_silent(), now);
        break;
      }
      if (now >= welcome_deadline_) {
        Millis delay = backoff_.on_failure(now);
        // A broker that refuses our key never answers at all, so name that cause too.
        spdlog::warn("no WELCOME from broker {} within {} ms; retrying in {} ms{}", broker_label_,
                     options_.welcome_timeout.count(), delay.count(),
                     options_.curve.enabled()
                         ? " (is this agent's public key in the broker's --authorized-agents, "
                           "and is --broker-key the broker's public key?)"
                         : "");
        create_dealer();
        hello_unsent_ = false;
        state_ = SessionState::BackingOff;
      }
      break;
    case SessionState::BackingOff:
      if (backoff_.is_due(now)) {
        backoff_.attempt_started();
        start_hello(now);
      }
      break;
    case SessionState::Welcomed:
      if (now - last_beacon_ >= beacon_interval() * kBeaconMisses) {
        spdlog::warn("no beacon from broker {} for {} ms: registering again (tasks keep running)",
                     broker_label_, (beacon_interval() * kBeaconMisses).count());
        if (failover_.size() > 1) {
          failover_.on_silent();
          move_on(BrokerFailover::Next::HelloNow, now);  // a first silence: no backoff yet
          break;
        }
        create_dealer();
        start_hello(now);
        break;
      }
      if (now >= next_heartbeat_) {
        publish_heartbeat();
        next_heartbeat_ = now + heartbeat_interval();
      }
      run_stats_timer(now);
      break;
  }
}

// --- node stats ---

bool AgentLoop::stats_enabled() const {
  return options_.stats_interval.count() > 0;
}

void AgentLoop::run_stats_timer(SteadyTime now) {
  // One sample at a time: a slow driver (dockerd) delays the next one instead of piling up.
  if (!stats_enabled() || stats_in_flight_ || now < next_stats_)
    return;
  std::vector<RunningAttempt> running;
  for (const auto& status : tracker_.snapshot()) {
    if (status.state == TaskState::Running)
      running.push_back({status.task_id, status.attempt});
  }
  stats_in_flight_ = true;
  next_stats_ = now + options_.stats_interval;
  call_driver(StatsSampled{Status::internal("the driver did not return")},
              [&driver = driver_, running = std::move(running), data_dir = options_.data_dir] {
                return collect_stats(driver, running, data_dir);
              });
}

void AgentLoop::on_stats_sampled(Result<StatsSample>& sampled) {
  stats_in_flight_ = false;
  if (!sampled.is_ok()) {
    spdlog::warn("sampling node stats failed: {}", sampled.status().to_string());
    return;
  }
  StatsSample& sample = *sampled;
  int64_t sampled_ms = to_unix_ms(clock_.wall());
  protocol::NodeStats stats;
  stats.usage = usage_tracker_.update(sample, tracker_.active(), sampled_ms);
  if (state_ != SessionState::Welcomed)
    return;  // the CPU counters are kept; the next session gets the next sample
  stats.agent_id = options_.agent_id;
  stats.session_id = session_id_;
  stats.seq = last_seq_;  // repeats the last seq like AGENT_HEARTBEAT: stats consume none
  stats.tasks = std::move(sample.tasks);
  for (auto& task : stats.tasks)
    task.sampled_ms = sampled_ms;
  publish(stats);
}

// --- health checks ---

void AgentLoop::watch_health(StartDone& done, const AttemptStatus& running, SteadyTime now) {
  if (done.health.path.empty())
    return;
  // Without published ports only an exec task listens on this host itself (a sim task serves
  // nothing; a container without bindings cannot be reached).
  std::optional<std::string> url;
  if (!running.port_bindings.empty() || driver_.name() == kDriverExec) {
    url = health_check_url(done.health.path, done.health.exposed_ports, running.port_bindings,
                           options_.publish_address);
  }
  if (!url) {
    spdlog::warn("task {} has health check {} but no published TCP port to probe: not checked",
                 done.task_id, done.health.path);
    return;
  }
  done.health.settings.url = std::move(*url);
  spdlog::info(
      "health check of task {} attempt {}: GET {} every {} ms (timeout {} ms, failed after {} "
      "failures in a row), first in {} ms",
      done.task_id, done.attempt, done.health.settings.url, done.health.settings.interval.count(),
      done.health.settings.timeout.count(), done.health.settings.retries,
      done.health.settings.interval.count());
  if (!health_pool_)
    health_pool_ = std::make_unique<WorkerPool>(health_pool_threads(options_.slots));
  health_.watch(done.task_id, done.attempt, std::move(done.health.settings), now);
}

void AgentLoop::run_health_timer(SteadyTime now) {
  if (health_.watched() == 0)
    return;
  HealthProber::Due due = health_.advance(now);
  for (const auto& verdict : due.verdicts)
    fail_unhealthy(verdict.task_id, verdict.attempt, verdict.reason);
  for (auto& probe : due.probes) {
    HealthProbed probed{probe.task_id, probe.attempt, probe.seq, Status::ok()};
    post_call(
        *health_pool_, std::move(probed),
        [url = std::move(probe.url), timeout = probe.timeout] { return http_probe(url, timeout); },
        ErrorCode::Internal, "health probe");
  }
}

void AgentLoop::on_health_probed(const HealthProbed& probed, SteadyTime now) {
  using Kind = HealthProber::Outcome::Kind;
  auto outcome = health_.on_result(probed.task_id, probed.attempt, probed.seq, probed.result, now);
  switch (outcome.kind) {
    case Kind::Ignored:
      return;
    case Kind::Healthy:
      if (outcome.recovered)
        spdlog::info("task {} attempt {} passes its health check again", probed.task_id,
                     probed.attempt);
      return;
    case Kind::Failing:
      spdlog::warn("health check of task {} attempt {} failed ({} of {}): {}", probed.task_id,
                   probed.attempt, outcome.failures, outcome.retries, outcome.error);
      return;
    case Kind::Unhealthy:
      fail_unhealthy(outcome.verdict->task_id, outcome.verdict->attempt, outcome.verdict->reason);
      return;
  }
}

void AgentLoop::fail_unhealthy(const std::string& task_id, uint32_t attempt,
                               const std::string& reason) {
  TrackedAttempt* a = tracker_.find_active(task_id, attempt);
  if (a == nullptr || !tracker_.stop_unhealthy(*a, reason, options_.stop_grace)) {
    health_.forget(task_id, attempt);
    return;  // ending or stopping already
  }
  spdlog::warn("task {} attempt {} is unhealthy ({}): stopping it (grace {} ms)", task_id, attempt,
               reason, options_.stop_grace.count());
  post_stop(*a);
}

Millis AgentLoop::heartbeat_interval() const {
  return welcome_heartbeat_.count() > 0 ? welcome_heartbeat_ : options_.heartbeat;
}

Millis AgentLoop::beacon_interval() const {
  return beacon_heartbeat_.count() > 0 ? beacon_heartbeat_ : heartbeat_interval();
}

}  // namespace cube::agent
