#include "broker/broker_loop.h"

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <random>
#include <tuple>
#include <utility>

#include <unistd.h>

#include "broker/allocation.h"
#include "broker/plan_apply.h"
#include "broker/version.h"
#include "common/check.h"
#include "common/ids.h"
#include "protocol/task_validation.h"

namespace cube::broker {
namespace {

using protocol::MessageType;

// Random bases tried for port 0 before giving up; 64 collisions in a row means the range is
// nearly full, not bad luck.
constexpr int kPortTries = 64;
constexpr int kRandomPortLow = 20000;
constexpr int kRandomPortHigh = 60000;
// Enough pending connections for thousands of agents starting at once (the kernel caps it at
// net.core.somaxconn).
constexpr int kListenBacklog = 10000;
// Scheduling passes are spaced by this many times the duration of the previous pass (see
// before_poll()): at most 1/(1 + 8) of the loop's time goes to passes; the extra wait for a task
// is 8 passes' time, well under a millisecond with a thousand nodes.
constexpr int kPassSpacing = 8;
// A failed commit is retried after this, so held replies go out soon after the store recovers.
constexpr Millis kCommitRetry{100};
// The set behind first_report() is cleared when it grows past this, so a flood of distinct
// bad peers costs bounded memory (they are then logged once more).
constexpr size_t kMaxReportedKeys = 10000;

const char* type_name(uint8_t type) {
  return protocol::message_type_name(type);
}

// Counter key "socket.what.TYPE".
std::string key(std::string_view socket, std::string_view what, uint8_t type) {
  return std::string(socket) + "." + std::string(what) + "." + type_name(type);
}

std::string frame_string(const zmq::message_t& frame) {
  return std::string(static_cast<const char*>(frame.data()), frame.size());
}

// Printable form of a routing id (binary bytes) for logs and report keys.
std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

// Only what the user asks for: the broker owns every status field of a new task.
Task spec_of(const Task& in) {
  Task t;
  t.id = in.id;
  t.name = in.name;
  t.image = in.image;
  t.cmd = in.cmd;
  t.env = in.env;
  t.cpu = in.cpu;
  t.memory_bytes = in.memory_bytes;
  t.disk_bytes = in.disk_bytes;
  t.exposed_ports = in.exposed_ports;
  t.restart_policy = in.restart_policy;
  t.health_check = in.health_check;
  t.driver = in.driver.empty() ? std::string(kDriverDocker) : in.driver;
  t.constraints = in.constraints;
  t.labels = in.labels;
  t.duration_ms = in.duration_ms;
  t.health_interval_ms = in.health_interval_ms;
  t.health_timeout_ms = in.health_timeout_ms;
  t.health_retries = in.health_retries;
  return t;
}

// A random first LOGS_FETCH id, so that an answer meant for a previous broker process does not
// match a request of this one.
uint64_t random_fetch_id_start() {
  std::random_device seed;
  return (static_cast<uint64_t>(seed()) << 32) | seed();
}

// Reads and discards what is pending on a readable signalfd, eventfd or pipe. One read is
// enough and cannot block (poll said readable): 4 KiB holds every pending signalfd record
// (128 bytes each) and an eventfd counter (8 bytes; the read resets it).
void drain_fd(int fd) {
  std::array<char, 4096> sink;
  [[maybe_unused]] ssize_t n = ::read(fd, sink.data(), sink.size());
}

std::span<const zmq::message_t> routing_of(const protocol::Received& message) {
  return {message.frames.data(), message.envelope_start};
}

}  // namespace

BrokerLoop::BrokerLoop(BrokerOptions options, const Clock& clock, std::unique_ptr<Store> store)
    : options_(std::move(options)),
      clock_(clock),
      store_(std::move(store)),
      epoch_(new_random_id()),
      started_ms_(to_unix_ms(clock.wall())),
      liveness_(options_.heartbeat, options_.suspect_after_beats, options_.node_grace),
      lifecycle_(tasks_, agents_, counters_, options_.stop_grace, clock, options_.restart,
                 std::random_device{}()),
      rate_limiter_(options_.client_rate),
      logs_(random_fetch_id_start()) {
  CUBE_CHECK(store_ != nullptr) << "broker/main.cpp always builds a store";
}

BrokerLoop::~BrokerLoop() = default;

// ------------------------------------------------------------------------------ startup

Status BrokerLoop::bind() {
  CUBE_RETURN_IF_ERROR(load_store());
  if (!options_.curve_secret.empty() && zap_ == nullptr) {
    // libzmq admits every CURVE client when no ZAP handler is bound, so it comes first.
    zap_ = std::make_unique<ZapHandler>(
        context_, ZapAllowlists::from(options_.authorized_agents, options_.authorized_clients));
    CUBE_RETURN_IF_ERROR(zap_->start());
  }
  if (options_.port != 0) {
    if (options_.port < 1 || options_.port > 65535 - 3) {
      return Status::invalid("base port " + std::to_string(options_.port) +
                             " leaves no room for its four ports (use 1..65532)");
    }
    CUBE_RETURN_IF_ERROR(bind_at(options_.port));
  } else {
    std::random_device seed;
    std::mt19937 rng(seed());
    std::uniform_int_distribution<int> pick(kRandomPortLow, kRandomPortHigh - 3);
    Status last;
    for (int i = 0; i < kPortTries; ++i) {
      last = bind_at(pick(rng));
      if (last.is_ok())
        break;
    }
    if (!last.is_ok()) {
      return Status::unavailable("found no four free consecutive ports in " +
                                 std::to_string(kRandomPortLow) + ".." +
                                 std::to_string(kRandomPortHigh) + " after " +
                                 std::to_string(kPortTries) + " tries; last: " + last.message());
    }
  }
  if (zap_ != nullptr) {
    auto server_key = protocol::curve_public_key(options_.curve_secret);
    if (!server_key.is_ok())
      return server_key.status().with_context("--curve-secret");
    CUBE_RETURN_IF_ERROR(check_zap_refuses_strangers(protocol::tcp_endpoint(options_.host, port_),
                                                     *server_key, *zap_, clock_));
    zap_baseline_ = zap_->counts();
  }
  next_beacon_ = clock_.now();
  return Status::ok();
}

void BrokerLoop::reload_allowlists(const std::vector<protocol::AuthorizedKey>& agents,
                                   const std::vector<protocol::AuthorizedKey>& clients) {
  if (zap_ != nullptr)
    zap_->reload(ZapAllowlists::from(agents, clients));
}

Status BrokerLoop::load_store() {
  auto loaded = store_->load_all();
  if (!loaded.is_ok())
    return loaded.status().with_context("cannot load tasks from the store");
  auto events = store_->load_events();
  if (!events.is_ok())
    return events.status().with_context("cannot load task history from the store");
  std::map<std::string, std::vector<TaskEvent>> history;
  for (auto& [id, event] : *events)
    history[id].push_back(std::move(event));
  // Oldest first, so that Pending tasks keep their place in the queue.
  auto& stored = *loaded;
  std::sort(stored.begin(), stored.end(), [](const Task& a, const Task& b) {
    return std::tie(a.created_ms, a.id) < std::tie(b.created_ms, b.id);
  });
  SteadyTime now = clock_.now();
  for (auto& task : stored) {
    bool on_node = (task.state == TaskState::Scheduled || task.state == TaskState::Running) &&
                   !task.node_id.empty();
    if (on_node && agents_.find(task.node_id) == nullptr) {
      // The agent should HELLO again soon; if it does not within the grace, its tasks are lost.
      agents_.add_expected(task.node_id, task.node);
      liveness_.on_traffic(task.node_id, now);
    }
    std::string id = task.id;
    auto it = history.find(id);
    Status s = tasks_.restore(std::move(task),
                              it == history.end() ? std::vector<TaskEvent>{} : it->second);
    if (!s.is_ok())
      return Status::internal("the store is inconsistent: " + s.message());
  }
  if (!stored.empty())
    spdlog::info("loaded {} tasks from the store", stored.size());
  return Status::ok();
}

Status BrokerLoop::bind_at(int base) {
  zmq::socket_t client(context_, zmq::socket_type::router);
  zmq::socket_t work(context_, zmq::socket_type::router);
  zmq::socket_t events(context_, zmq::socket_type::sub);
  zmq::socket_t beacon(context_, zmq::socket_type::pub);
  std::array<std::pair<zmq::socket_t*, const char*>, 4> sockets = {{
      {&client, "client"},
      {&work, "work"},
      {&events, "events"},
      {&beacon, "beacon"},
  }};
  bool ipv6 = options_.host.find(':') != std::string::npos;
  try {
    for (auto& [socket, role] : sockets) {
      protocol::apply_socket_defaults(*socket, protocol::kMaxInboundMessageBytes);
      if (ipv6)
        socket->set(zmq::sockopt::ipv6, 1);
    }
    // A send to a vanished agent fails (and is counted) instead of disappearing silently.
    work.set(zmq::sockopt::router_mandatory, 1);
    work.set(zmq::sockopt::backlog, kListenBacklog);
    // No ZMTP heartbeats of our own on the work ROUTER: every agent's DEALER sends PINGs with
    // a TTL (agent_loop.cpp), which make libzmq close an agent connection that goes silent, and
    // the broker answers them. Our own PINGs would add nothing but cost: libzmq 4.3 cancels a
    // timer per connection per interval with a linear scan of all timers, O(agents^2) per
    // second in the I/O thread (docs/decisions.md, "ZMTP heartbeats").
    if (!options_.curve_secret.empty()) {
      for (auto& [socket, role] : sockets) {
        std::string_view domain =
            socket == &client ? protocol::kZapDomainClients : protocol::kZapDomainAgents;
        CUBE_RETURN_IF_ERROR(protocol::apply_curve_server(*socket, options_.curve_secret, domain));
      }
    }
    events.set(zmq::sockopt::subscribe, "");
    events.set(zmq::sockopt::backlog, kListenBacklog);
    beacon.set(zmq::sockopt::backlog, kListenBacklog);
  } catch (const zmq::error_t& e) {
    return Status::internal(std::string("cannot configure the broker sockets: ") + e.what());
  }
  for (size_t i = 0; i < sockets.size(); ++i) {
    auto& [socket, role] = sockets[i];
    std::string endpoint = protocol::tcp_endpoint(options_.host, base + static_cast<int>(i));
    try {
      socket->bind(endpoint);
    } catch (const zmq::error_t& e) {
      return Status::unavailable("cannot bind " + endpoint + " (" + role + " port): " + e.what());
    }
  }
  client_ = std::move(client);
  work_ = std::move(work);
  events_ = std::move(events);
  beacon_ = std::move(beacon);
  port_ = base;
  return Status::ok();
}

// ------------------------------------------------------------------------------ the loop

void BrokerLoop::run(int stop_fd, int reload_fd) {
  CUBE_CHECK(port_ != 0) << "run() needs a successful bind()";
  if (writer_ == nullptr)
    writer_ = std::make_unique<StoreWriter>(*store_, clock_);
  std::array<zmq::pollitem_t, 6> items = {{
      {client_.handle(), 0, ZMQ_POLLIN, 0},
      {work_.handle(), 0, ZMQ_POLLIN, 0},
      {events_.handle(), 0, ZMQ_POLLIN, 0},
      {nullptr, stop_fd, ZMQ_POLLIN, 0},
      {nullptr, writer_->fd(), ZMQ_POLLIN, 0},
      {nullptr, reload_fd, ZMQ_POLLIN, 0},
  }};
  // Without a reload fd the last item is left out of the poll set.
  size_t polled = reload_fd >= 0 ? items.size() : items.size() - 1;
  while (true) {
    before_poll();
    try {
      zmq::poll(items.data(), polled, Millis(poll_timeout_ms()));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR)
        continue;
      // Only a closed context or a bad socket gets here; neither happens while we own them.
      spdlog::error("poll failed: {}; stopping", e.what());
      break;
    }
    if (items[3].revents & ZMQ_POLLIN)
      break;
    if (items[4].revents & ZMQ_POLLIN) {
      if (auto done = writer_->take_done())
        on_commit_done(std::move(*done));
    }
    if (polled == items.size() && (items[5].revents & ZMQ_POLLIN)) {
      drain_fd(reload_fd);
      (void)reload_allowlist_files();  // logs its outcome; a bad file keeps the old lists
    }
    if (items[0].revents & ZMQ_POLLIN)
      drain_client();
    if (items[1].revents & ZMQ_POLLIN)
      drain_work();
    if (items[2].revents & ZMQ_POLLIN)
      drain_events();
    run_timers();
  }
  before_poll();  // commit and answer what the last iteration handled
  finish_commits();
}

int64_t BrokerLoop::poll_timeout_ms() const {
  SteadyTime deadline = next_beacon_;
  if (auto d = liveness_.next_deadline())
    deadline = std::min(deadline, *d);
  if (auto d = agents_.next_deadline())
    deadline = std::min(deadline, *d);
  if (commit_retry_at_)
    deadline = std::min(deadline, *commit_retry_at_);
  if (auto d = lifecycle_.next_restart())
    deadline = std::min(deadline, *d);
  if (auto d = logs_.next_deadline())
    deadline = std::min(deadline, *d);
  if (schedule_needed_)
    deadline = std::min(deadline, next_pass_at_);  // a pass held back by the spacing
  return millis_until(clock_.now(), deadline);
}

void BrokerLoop::run_timers() {
  SteadyTime now = clock_.now();
  SystemTime wall = clock_.wall();
  if (now >= next_beacon_) {
    Status s = protocol::send(
        beacon_, protocol::Beacon{epoch_, static_cast<int64_t>(options_.heartbeat.count())});
    if (!s.is_ok())
      bump(counters_, "beacon.send_failed");
    next_beacon_ = now + options_.heartbeat;
  }
  for (const auto& agent_id : liveness_.expired(now)) {
    const AgentRecord* agent = agents_.find(agent_id);
    if (agent == nullptr || agent->state == AgentState::Lost)
      continue;
    spdlog::warn("agent {} ({}) is lost: no message for {} ms", agent->name, agent_id,
                 options_.node_grace.count());
    bump(counters_, "agents.lost");
    lifecycle_.node_lost(agent_id, wall);
    event_sync_.forget(agent_id);
    node_stats_.forget_node(agent_id);
    schedule_needed_ = true;
  }
  for (const auto& expired : agents_.take_expired(now)) {
    lifecycle_.on_assignment_expired(expired, wall, commands_);
    schedule_needed_ = true;
  }
  if (lifecycle_.release_restarts(now) > 0)
    schedule_needed_ = true;  // restart backoffs ended
  expire_logs(now);
  queue_commands();
}

void BrokerLoop::before_poll() {
  SteadyTime now = clock_.now();
  if (schedule_needed_ && now >= next_pass_at_) {
    schedule_needed_ = false;
    PlanApplyInput input{
        .policy = options_.policy,
        .cursor = cursor_,
        .assign_timeout = options_.assign_timeout,
        .max_tasks = kMaxTasksPerPass,
        .now = now,
        .wall = clock_.wall(),
        .hints = &lifecycle_.hints(),
        .view = &scheduler_view_,
    };
    auto result = plan_and_apply(tasks_, agents_, liveness_, input, commands_);
    cursor_ = result.next_cursor;
    for (const auto& command : commands_) {
      if (const auto* assign = std::get_if<protocol::Assign>(&command.message))
        metrics_.on_placed(assign->task.id, now);
    }
    if (result.placed > 0)
      bump(counters_, "tasks.placed", result.placed);
    if (result.credit_refused > 0) {
      bump(counters_, "tasks.placement_refused_no_credit", result.credit_refused);
      schedule_needed_ = true;
    }
    queue_commands();
    // Under load the loop wakes for every few messages; a pass over a thousand nodes costs tens
    // of microseconds whatever it places, so the next one waits kPassSpacing times what this one
    // took: passes take at most a ninth of the loop's time and each places more. (A frozen
    // ManualClock measures 0: no spacing in tests.)
    SteadyTime end = clock_.now();
    next_pass_at_ = end + (end - now) * kPassSpacing;
  }

  commit_step(now);
  flush_outbox();
}

void BrokerLoop::commit_step(SteadyTime now) {
  if (writer_ == nullptr || writer_->busy())
    return;  // one batch at a time, so batches reach the store in order
  if (retry_batch_) {
    if (now < commit_retry_at_.value_or(now))
      return;
    writer_->start(std::move(*retry_batch_));
    retry_batch_.reset();
  } else if (!tasks_.has_uncommitted()) {
    // What the queued messages report is stored already (a duplicate submit, a stop of a task
    // that had ended, or a batch that landed earlier).
    outbox_.settle();
    return;
  } else {
    batch_in_flight_ = outbox_.cut();
    writer_->start(StoreBatch{tasks_.uncommitted_tasks(), tasks_.uncommitted_events()});
    tasks_.mark_committed();
  }
  // The memory store commits inside start(): take its result now, so the outbox flushes in
  // this same step instead of one wake-up later.
  if (store_->commits_are_cheap()) {
    if (auto done = writer_->take_done())
      on_commit_done(std::move(*done));
  }
}

void BrokerLoop::on_commit_done(StoreBatchDone done) {
  metrics_.on_commit(done.took);
  if (done.status.is_ok()) {
    bump(counters_, "store.commits");
    if (commit_retry_at_)
      spdlog::info("the store accepts writes again");
    commit_retry_at_.reset();
    outbox_.stored(batch_in_flight_);
    return;
  }
  bump(counters_, "store.commit_failed");
  if (!commit_retry_at_)
    spdlog::error("store commit failed: {}; holding replies and retrying", done.status.to_string());
  commit_retry_at_ = clock_.now() + kCommitRetry;
  retry_batch_ = std::move(done.batch);
}

void BrokerLoop::finish_commits() {
  while (true) {
    if (auto done = writer_->wait()) {
      on_commit_done(std::move(*done));
      if (retry_batch_) {
        spdlog::error(
            "stopping with changes the store did not accept; they are lost, and the "
            "{} messages reporting them are not sent",
            outbox_.drop());
        return;
      }
    }
    if (retry_batch_) {  // refused earlier: one last try, without waiting for the retry time
      writer_->start(std::move(*retry_batch_));
      retry_batch_.reset();
      continue;
    }
    if (!tasks_.has_uncommitted())
      break;
    commit_step(clock_.now());
  }
  outbox_.settle();
  flush_outbox();
}

// ------------------------------------------------------------------------------ client socket

void BrokerLoop::drain_client() {
  for (int i = 0; i < kBatchLimit; ++i) {
    Status error;
    auto message = protocol::receive(client_, 1, &error);
    if (!message)
      return;
    if (!error.is_ok() && message->envelope_start == 0) {
      bump(counters_, "client.receive_failed");
      continue;
    }
    if (!error.is_ok()) {
      bump(counters_, "client.bad_envelope");
      std::string peer = hex(frame_string(message->frames[0]));
      if (first_report("client.envelope." + peer))
        spdlog::warn("client {}: {}", peer, error.message());
      reply_error(routing_of(*message), 0, error);
      continue;
    }
    metrics_.on_message(BrokerSocket::Client, message->type);
    handle_client(*message);
  }
}

void BrokerLoop::handle_client(protocol::Received& message) {
  auto routing = routing_of(message);
  std::string_view body = message.body;
  auto malformed = [&](const Status& s) {
    bump(counters_, key("client", "malformed", message.type));
    std::string peer = hex(frame_string(message.frames[0]));
    if (first_report("client.malformed." + peer))
      spdlog::warn("client {}: malformed {}: {}", peer, type_name(message.type), s.message());
    reply_error(
        routing, protocol::peek_request_id(body),
        Status::invalid("malformed " + std::string(type_name(message.type)) + ": " + s.message()));
  };
  SystemTime wall = clock_.wall();
  switch (static_cast<MessageType>(message.type)) {
    case MessageType::SubmitRequest:
      on_submit(message);
      return;
    case MessageType::ListRequest: {
      auto req = protocol::decode_as<protocol::ListRequest>(body);
      if (!req.is_ok())
        return malformed(req.status());
      protocol::Reply r;
      r.request_id = req->request_id;
      r.tasks.reserve(tasks_.size());
      for (const auto& [id, record] : tasks_.records())
        r.tasks.push_back(record.task);
      reply(routing, std::move(r));
      return;
    }
    case MessageType::GetRequest: {
      auto req = protocol::decode_as<protocol::GetRequest>(body);
      if (!req.is_ok())
        return malformed(req.status());
      const TaskRecord* record = tasks_.find(req->task_id);
      if (record == nullptr) {
        return reply_error(routing, req->request_id,
                           Status::not_found("no task with ID " + req->task_id));
      }
      protocol::Reply r;
      r.request_id = req->request_id;
      r.task = record->task;
      r.events = record->history;
      if (record->task.state == TaskState::Running) {
        if (const auto* stats =
                node_stats_.task(record->task.id, record->task.node_id, record->task.attempt)) {
          r.task_stats = *stats;
        }
      }
      reply(routing, std::move(r));
      return;
    }
    case MessageType::StopRequest: {
      auto req = protocol::decode_as<protocol::StopRequest>(body);
      if (!req.is_ok())
        return malformed(req.status());
      Status s = lifecycle_.stop_task(req->task_id, wall, commands_);
      queue_commands();
      if (!s.is_ok())
        return reply_error(routing, req->request_id, s);
      metrics_.on_stopped(req->task_id);
      bump(counters_, "client.stops");
      schedule_needed_ = true;
      reply_after_commit(message, req->request_id, req->task_id);
      return;
    }
    case MessageType::NodesRequest: {
      auto req = protocol::decode_as<protocol::NodesRequest>(body);
      if (!req.is_ok())
        return malformed(req.status());
      protocol::Reply r;
      r.request_id = req->request_id;
      for (const auto& [id, agent] : agents_.agents())
        r.nodes.push_back(node_info(agent));
      reply(routing, std::move(r));
      return;
    }
    case MessageType::LogsRequest: {
      auto req = protocol::decode_as<protocol::LogsRequest>(body);
      if (!req.is_ok())
        return malformed(req.status());
      on_logs(message, *req);
      return;
    }
    case MessageType::StatusRequest: {
      auto req = protocol::decode_as<protocol::StatusRequest>(body);
      if (!req.is_ok())
        return malformed(req.status());
      protocol::Reply r;
      r.request_id = req->request_id;
      r.broker = broker_status();
      reply(routing, std::move(r));
      return;
    }
    default:
      break;
  }
  bump(counters_, key("client", "unknown_type", message.type));
  reply_error(routing, protocol::peek_request_id(body),
              Status::invalid("unknown request type " + std::to_string(message.type)));
}

void BrokerLoop::on_submit(protocol::Received& message) {
  auto routing = routing_of(message);
  auto req = protocol::decode_as<protocol::SubmitRequest>(message.body);
  if (!req.is_ok()) {
    bump(counters_, key("client", "malformed", message.type));
    std::string peer = hex(frame_string(message.frames[0]));
    if (first_report("client.malformed." + peer))
      spdlog::warn("client {}: malformed SUBMIT: {}", peer, req.status().message());
    return reply_error(routing, protocol::peek_request_id(message.body),
                       Status::invalid("malformed SUBMIT: " + req.status().message()));
  }
  uint64_t request_id = req->request_id;
  const Task& submitted = req->task;
  SystemTime wall = clock_.wall();

  if (submitted.desired_state == TaskState::Completed) {
    // As in the prior orchestrators: submitting State 3 for an ID stops that task.
    if (submitted.id.empty()) {
      return reply_error(routing, request_id,
                         Status::invalid("a task with State 3 (Completed) stops the task with "
                                         "its ID, but no ID was given"));
    }
    Status s = lifecycle_.stop_task(submitted.id, wall, commands_);
    queue_commands();
    if (!s.is_ok())
      return reply_error(routing, request_id, s);
    metrics_.on_stopped(submitted.id);
    bump(counters_, "client.stops");
    schedule_needed_ = true;
    return reply_after_commit(message, request_id, submitted.id);
  }

  if (Status s = validate_task_spec(submitted); !s.is_ok())
    return reply_error(routing, request_id, s);

  if (!submitted.id.empty() && tasks_.find(submitted.id) != nullptr) {
    // Idempotent: a retry (or a second submit) of the same ID returns the stored task.
    bump(counters_, "client.submit_duplicates");
    return reply_after_commit(message, request_id, submitted.id);
  }
  if (Status s = admit_submit(message, submitted); !s.is_ok())
    return reply_error(routing, request_id, s);
  Task task = spec_of(submitted);
  if (task.id.empty())
    task.id = new_uuid_v7(wall);
  task.state = TaskState::Pending;
  task.desired_state = TaskState::Running;
  task.created_ms = to_unix_ms(wall);
  std::string id = task.id;
  Status added = tasks_.add(std::move(task), wall);
  if (!added.is_ok())
    return reply_error(routing, request_id, Status::internal(added.message()));
  metrics_.on_submitted(id, clock_.now());
  bump(counters_, "client.submits");
  schedule_needed_ = true;
  reply_after_commit(message, request_id, std::move(id));
}

void BrokerLoop::reply(std::span<const zmq::message_t> routing, protocol::Reply reply) {
  if (!protocol::send(client_, routing, reply).is_ok())
    bump(counters_, "client.send_failed");
}

void BrokerLoop::reply_error(std::span<const zmq::message_t> routing, uint64_t request_id,
                             Status status) {
  protocol::Reply r;
  r.request_id = request_id;
  r.status = std::move(status);
  reply(routing, std::move(r));
}

void BrokerLoop::reply_after_commit(const protocol::Received& message, uint64_t request_id,
                                    const std::string& task_id) {
  protocol::Reply r;
  r.request_id = request_id;
  if (const TaskRecord* record = tasks_.find(task_id)) {
    r.task = record->task;
  } else {
    r.status = Status::internal("task " + task_id + " vanished before its reply");
  }
  std::vector<std::string> routing;
  routing.reserve(message.envelope_start);
  for (size_t i = 0; i < message.envelope_start; ++i)
    routing.push_back(frame_string(message.frames[i]));
  outbox_.push(OutboxSocket::Client, std::move(routing), protocol::MessageType::Reply,
               protocol::encode_body(r));
}

// ------------------------------------------------------------------------------ work socket

void BrokerLoop::drain_work() {
  for (int i = 0; i < kBatchLimit; ++i) {
    Status error;
    auto message = protocol::receive(work_, 1, &error);
    if (!message)
      return;
    if (message->envelope_start == 0) {
      bump(counters_, "work.receive_failed");
      continue;
    }
    if (!error.is_ok()) {
      bump(counters_, "work.bad_envelope");
      std::string routing_id = frame_string(message->frames[0]);
      if (first_report("work.envelope." + routing_id))
        spdlog::warn("agent connection {}: {}", hex(routing_id), error.message());
      queue_work_error(routing_id, protocol::ErrorMessage{error.code(), error.message()});
      continue;
    }
    metrics_.on_message(BrokerSocket::Work, message->type);
    handle_work(*message);
  }
}

void BrokerLoop::handle_work(protocol::Received& message) {
  const std::string routing_id = frame_string(message.frames[0]);
  std::string_view body = message.body;
  SystemTime wall = clock_.wall();
  auto malformed = [&](const Status& s) {
    bump(counters_, key("work", "malformed", message.type));
    if (first_report("work.malformed." + routing_id)) {
      spdlog::warn("agent connection {}: malformed {}: {}", hex(routing_id),
                   type_name(message.type), s.message());
    }
    queue_work_error(routing_id,
                     protocol::ErrorMessage{
                         ErrorCode::Invalid,
                         "malformed " + std::string(type_name(message.type)) + ": " + s.message()});
  };
  switch (static_cast<MessageType>(message.type)) {
    case MessageType::Hello:
      if (check_agent_identity(message, routing_id))
        on_hello(routing_id, body);
      break;
    case MessageType::Credit: {
      auto m = protocol::decode_as<protocol::Credit>(body);
      if (!m.is_ok())
        return malformed(m.status());
      AgentRecord* agent = authenticate_work(routing_id, m->session_id);
      if (agent == nullptr)
        return;
      agents_.on_credit(*agent, m->free_slots);
      schedule_needed_ = true;
      break;
    }
    case MessageType::Accept: {
      auto m = protocol::decode_as<protocol::Accept>(body);
      if (!m.is_ok())
        return malformed(m.status());
      AgentRecord* agent = authenticate_work(routing_id, m->session_id);
      if (agent == nullptr)
        return;
      lifecycle_.on_accept(*agent, m->task_id, m->attempt, commands_);
      break;
    }
    case MessageType::Reject: {
      auto m = protocol::decode_as<protocol::Reject>(body);
      if (!m.is_ok())
        return malformed(m.status());
      AgentRecord* agent = authenticate_work(routing_id, m->session_id);
      if (agent == nullptr)
        return;
      lifecycle_.on_reject(*agent, m->task_id, m->attempt, m->reason, wall);
      schedule_needed_ = true;
      break;
    }
    case MessageType::Snapshot: {
      auto m = protocol::decode_as<protocol::Snapshot>(body);
      if (!m.is_ok())
        return malformed(m.status());
      AgentRecord* agent = authenticate_work(routing_id, m->session_id);
      if (agent == nullptr)
        return;
      event_sync_.reset(agent->id, m->seq);
      agent->sync_requested_at.reset();
      lifecycle_.reconcile(*agent, m->tasks, wall, commands_);
      bump(counters_, "work.snapshots");
      schedule_needed_ = true;
      break;
    }
    case MessageType::LogsData:
      on_logs_data(routing_id, body);
      break;
    case MessageType::Error: {
      auto m = protocol::decode_as<protocol::ErrorMessage>(body);
      if (!m.is_ok())
        return malformed(m.status());
      bump(counters_, "work.agent_errors");
      if (first_report("work.error." + routing_id)) {
        spdlog::warn("agent connection {} reported an error: {}", hex(routing_id),
                     Status(m->code, m->message).to_string());
      }
      break;
    }
    default:
      bump(counters_, key("work", "unexpected_type", message.type));
      if (first_report("work.unexpected." + routing_id)) {
        spdlog::warn("agent connection {}: unexpected message type {} ({})", hex(routing_id),
                     message.type, type_name(message.type));
      }
      queue_work_error(routing_id, protocol::ErrorMessage{
                                       ErrorCode::Invalid,
                                       "unexpected message type " + std::to_string(message.type) +
                                           " (" + type_name(message.type) + ") on the work port"});
      break;
  }
  queue_commands();
}

void BrokerLoop::on_hello(const std::string& routing_id, std::string_view body) {
  auto hello = protocol::decode_as<protocol::Hello>(body);
  if (!hello.is_ok()) {
    bump(counters_, "work.malformed.HELLO");
    if (first_report("work.malformed." + routing_id)) {
      spdlog::warn("agent connection {}: malformed HELLO: {}", hex(routing_id),
                   hello.status().message());
    }
    queue_work_error(
        routing_id,
        protocol::ErrorMessage{ErrorCode::Invalid, "malformed HELLO: " + hello.status().message()});
    return;
  }
  SystemTime wall = clock_.wall();
  // The node transition this HELLO makes, published as a log line and an "agents.*" counter
  // (like "agents.lost" in run_timers).
  const AgentRecord* before = agents_.find(hello->agent_id);
  std::pair<const char*, const char*> transition = {"joined", "agents.joined"};
  if (before != nullptr && before->state == AgentState::Lost)
    transition = {"returned after being lost", "agents.returned"};
  else if (before != nullptr && before->state == AgentState::Unknown)
    transition = {"is back after the broker restarted", "agents.recovered"};
  else if (before != nullptr)
    transition = {"started a new session", "agents.reconnected"};
  auto registered = agents_.on_hello(*hello, routing_id, new_random_id(), to_unix_ms(wall));
  if (!registered.is_ok()) {
    bump(counters_, "work.hello_refused");
    queue_work_error(routing_id, protocol::ErrorMessage{registered.status().code(),
                                                        registered.status().message()});
    return;
  }
  AgentRecord& agent = *registered->agent;
  liveness_.on_traffic(agent.id, clock_.now());
  event_sync_.reset(agent.id, hello->seq);
  queue_work(routing_id, protocol::Welcome{agent.session_id, epoch_,
                                           static_cast<int64_t>(options_.heartbeat.count())});
  spdlog::info("agent {} ({}) {}: {} running, drivers [{}]", agent.name, agent.id, transition.first,
               hello->tasks.size(), fmt::join(agent.drivers, ", "));
  bump(counters_, transition.second);
  bump(counters_, "work.hellos");
  lifecycle_.reconcile(agent, hello->tasks, wall, commands_);
  schedule_needed_ = true;
}

AgentRecord* BrokerLoop::authenticate_work(const std::string& routing_id,
                                           std::string_view session_id) {
  auto agent = agents_.authenticate(session_id);
  if (!agent.is_ok()) {
    bump(counters_, "work.unauthorized");
    queue_work_error(routing_id,
                     protocol::ErrorMessage{agent.status().code(), agent.status().message()});
    return nullptr;
  }
  AgentRecord* record = *agent;
  record->routing_id = routing_id;  // a reconnected DEALER has a new routing id
  touch(*record);
  return record;
}

void BrokerLoop::touch(AgentRecord& agent) {
  agent.last_seen_ms = to_unix_ms(clock_.wall());
  if (liveness_.on_traffic(agent.id, clock_.now()) != NodeState::Ready)
    schedule_needed_ = true;  // a suspect agent is offered tasks again
}

void BrokerLoop::request_sync(AgentRecord& agent, std::string reason) {
  SteadyTime now = clock_.now();
  // One SYNC per few heartbeats: the SNAPSHOT answers every gap seen meanwhile.
  if (agent.sync_requested_at && now - *agent.sync_requested_at < 3 * options_.heartbeat)
    return;
  agent.sync_requested_at = now;
  bump(counters_, "events.sync_requests");
  commands_.push_back({agent.id, protocol::Sync{std::move(reason)}});
  queue_commands();
}

template <typename M>
void BrokerLoop::queue_work(const std::string& routing_id, const M& message) {
  outbox_.push(OutboxSocket::Work, {routing_id}, protocol::MessageTraits<M>::kType,
               protocol::encode_body(message));
}

void BrokerLoop::queue_work_error(const std::string& routing_id,
                                  const protocol::ErrorMessage& error) {
  queue_work(routing_id, error);
}

void BrokerLoop::queue_commands() {
  for (auto& command : commands_) {
    const AgentRecord* agent = agents_.find(command.agent_id);
    if (agent == nullptr || agent->routing_id.empty()) {
      bump(counters_, "work.no_route");
      continue;
    }
    std::visit([&](const auto& m) { queue_work(agent->routing_id, m); }, command.message);
  }
  commands_.clear();
}

void BrokerLoop::flush_outbox() {
  outbox_.flush([this](const OutboxMessage& message) { send_now(message); });
}

void BrokerLoop::send_now(const OutboxMessage& message) {
  std::vector<zmq::message_t> routing;
  routing.reserve(message.routing.size());
  for (const auto& frame : message.routing)
    routing.emplace_back(frame.data(), frame.size());
  if (message.socket == OutboxSocket::Client) {
    if (!protocol::send_raw(client_, routing, message.type, message.body).is_ok())
      bump(counters_, "client.send_failed");
    return;
  }
  if (!protocol::send_raw(work_, routing, message.type, message.body).is_ok()) {
    // The agent is gone (ROUTER_MANDATORY) or not reading. An unanswered ASSIGN times out and
    // is offered elsewhere; a lost STOP is repeated on the agent's next HELLO.
    bump(counters_, key("work", "send_failed", static_cast<uint8_t>(message.type)));
  }
}

// ------------------------------------------------------------------------------ logs proxy

void BrokerLoop::on_logs(protocol::Received& message, const protocol::LogsRequest& request) {
  auto routing = routing_of(message);
  auto agent = logs_agent_for(tasks_, agents_, request.task_id);
  if (!agent.is_ok())
    return reply_error(routing, request.request_id, agent.status());
  const AgentRecord& target = **agent;
  const Task& task = tasks_.find(request.task_id)->task;
  std::vector<zmq::message_t> frames;
  frames.reserve(message.envelope_start);
  for (size_t i = 0; i < message.envelope_start; ++i)
    frames.push_back(std::move(message.frames[i]));
  protocol::LogsFetch fetch;
  fetch.fetch_id = logs_.add(std::move(frames), request.request_id, target.id, target.name, task.id,
                             clock_.now());
  fetch.task_id = task.id;
  fetch.attempt = task.attempt;
  fetch.offset = request.offset;
  fetch.max_bytes = request.max_bytes <= 0 || request.max_bytes > protocol::kMaxLogChunkBytes
                        ? protocol::kMaxLogChunkBytes
                        : request.max_bytes;
  fetch.tail_lines = request.tail_lines;
  // Bypasses the outbox: the log bytes live on the agent, not in the store.
  send_now(OutboxMessage{OutboxSocket::Work,
                         {target.routing_id},
                         protocol::MessageType::LogsFetch,
                         protocol::encode_body(fetch)});
  bump(counters_, "client.logs");
}

void BrokerLoop::on_logs_data(const std::string& routing_id, std::string_view body) {
  auto m = protocol::decode_as<protocol::LogsData>(body);
  if (!m.is_ok()) {
    bump(counters_, "work.malformed.LOGS_DATA");
    if (first_report("work.malformed." + routing_id))
      spdlog::warn("agent connection {}: malformed LOGS_DATA: {}", hex(routing_id),
                   m.status().message());
    queue_work_error(
        routing_id,
        protocol::ErrorMessage{ErrorCode::Invalid, "malformed LOGS_DATA: " + m.status().message()});
    return;
  }
  const LogsProxy::Pending* pending = logs_.find(m->fetch_id);
  AgentRecord* agent = pending != nullptr ? agents_.find(pending->agent_id) : nullptr;
  if (agent == nullptr || agent->routing_id != routing_id) {
    // Late (the client was already told the agent did not answer), duplicate, or not from the
    // agent that was asked.
    bump(counters_, "work.logs_data_unmatched");
    return;
  }
  touch(*agent);
  LogsProxy::Pending request = logs_.take(m->fetch_id);
  protocol::Reply r;
  r.request_id = request.request_id;
  if (m->error_code != ErrorCode::Ok) {
    r.status = Status(m->error_code, std::move(m->error_message));
  } else {
    r.logs = protocol::LogsChunk{std::move(m->data), m->next_offset, m->eof};
  }
  reply(request.routing, std::move(r));
}

void BrokerLoop::expire_logs(SteadyTime now) {
  for (auto& request : logs_.take_expired(now)) {
    bump(counters_, "client.logs_timeouts");
    reply_error(request.routing, request.request_id,
                Status::unavailable("agent " + request.agent_name +
                                    " did not answer the logs "
                                    "request for task " +
                                    request.task_id + " within " +
                                    std::to_string(logs_.timeout().count() / 1000) + " s"));
  }
}

// ------------------------------------------------------------------------------ events socket

void BrokerLoop::drain_events() {
  for (int i = 0; i < kBatchLimit; ++i) {
    Status error;
    auto message = protocol::receive(events_, 0, &error);
    if (!message)
      return;
    if (!error.is_ok()) {
      bump(counters_, "events.bad_envelope");
      // A SUB has no peer identity: report each kind of damage once.
      if (first_report("events.envelope." + error.message()))
        spdlog::warn("events: {}", error.message());
      continue;
    }
    metrics_.on_message(BrokerSocket::Events, message->type);
    handle_event(*message);
  }
}

void BrokerLoop::handle_event(const protocol::Received& message) {
  switch (static_cast<MessageType>(message.type)) {
    case MessageType::AgentHeartbeat:
      on_heartbeat(message.body);
      return;
    case MessageType::NodeStats:
      on_node_stats(message.body);
      return;
    case MessageType::TaskStateEvent:
      on_task_state(message.body);
      return;
    default:
      bump(counters_, key("events", "unexpected_type", message.type));
      if (first_report("events.unexpected." + std::to_string(message.type)))
        spdlog::warn("events: unexpected message type {}", message.type);
      return;
  }
}

AgentRecord* BrokerLoop::authenticate_event(std::string_view agent_id,
                                            std::string_view session_id) {
  auto agent = agents_.authenticate_event(agent_id, session_id);
  if (agent.is_ok()) {
    touch(**agent);
    return *agent;
  }
  bump(counters_, "events.no_session");
  AgentRecord* known = agents_.find(agent_id);
  if (known != nullptr && known->state == AgentState::Lost && !known->routing_id.empty()) {
    // The broker declared it lost but it is still talking: ask it to say HELLO again so its
    // tasks are reconciled. (Only when Lost: events still in flight from a replaced session
    // must not trigger another HELLO.)
    queue_work_error(known->routing_id,
                     protocol::ErrorMessage{ErrorCode::Unauthorized, "no session: send HELLO"});
  }
  return nullptr;
}

void BrokerLoop::on_heartbeat(std::string_view body) {
  auto m = protocol::decode_as<protocol::AgentHeartbeat>(body);
  if (!m.is_ok()) {
    bump(counters_, "events.malformed.AGENT_HEARTBEAT");
    if (first_report("events.malformed.heartbeat"))
      spdlog::warn("events: malformed AGENT_HEARTBEAT: {}", m.status().message());
    return;
  }
  AgentRecord* agent = authenticate_event(m->agent_id, m->session_id);
  if (agent == nullptr)
    return;
  if (event_sync_.classify_heartbeat(agent->id, m->seq) == EventAction::NeedSync) {
    bump(counters_, "events.gap");
    auto last = event_sync_.last_seq(agent->id).value_or(0);
    request_sync(*agent,
                 "missed events " + std::to_string(last + 1) + ".." + std::to_string(m->seq));
  }
}

void BrokerLoop::on_task_state(std::string_view body) {
  auto m = protocol::decode_as<protocol::TaskStateEvent>(body);
  if (!m.is_ok()) {
    bump(counters_, "events.malformed.TASK_STATE");
    if (first_report("events.malformed.task_state"))
      spdlog::warn("events: malformed TASK_STATE: {}", m.status().message());
    return;
  }
  AgentRecord* agent = authenticate_event(m->agent_id, m->session_id);
  if (agent == nullptr)
    return;
  auto last = event_sync_.last_seq(agent->id).value_or(0);
  switch (event_sync_.classify(agent->id, m->seq)) {
    case EventAction::Apply:
      lifecycle_.apply_status(*agent, m->status, clock_.wall(), commands_);
      queue_commands();
      schedule_needed_ = true;
      return;
    case EventAction::DropDuplicate:
      bump(counters_, "events.duplicate");
      return;
    case EventAction::NeedSync:
      bump(counters_, "events.gap");
      request_sync(*agent,
                   "missed events " + std::to_string(last + 1) + ".." + std::to_string(m->seq - 1));
      return;
  }
}

void BrokerLoop::on_node_stats(std::string_view body) {
  auto m = protocol::decode_as<protocol::NodeStats>(body);
  if (!m.is_ok()) {
    bump(counters_, "events.malformed.NODE_STATS");
    if (first_report("events.malformed.node_stats"))
      spdlog::warn("events: malformed NODE_STATS: {}", m.status().message());
    return;
  }
  AgentRecord* agent = authenticate_event(m->agent_id, m->session_id);
  if (agent == nullptr)
    return;
  // Stats consume no sequence number and are lossy by design: their seq is not checked, so
  // they never cause a SYNC (docs/protocol.md, Events). The heartbeat notices real gaps.
  node_stats_.on_stats(agent->id, *m);
  bump(counters_, "events.node_stats");
}

// ------------------------------------------------------------------------------ views

protocol::NodeInfo BrokerLoop::node_info(const AgentRecord& agent) const {
  protocol::NodeInfo n;
  n.id = agent.id;
  n.name = agent.name;
  switch (agent.state) {
    case AgentState::Welcomed:
      n.state = node_state_name(liveness_.state(agent.id, clock_.now()));
      break;
    case AgentState::Unknown:
      n.state = node_state_name(NodeState::Suspect);  // known from the store, not heard from yet
      break;
    case AgentState::Lost:
      n.state = node_state_name(NodeState::Lost);
      break;
  }
  n.version = agent.version;
  n.drivers = agent.drivers;
  n.capacity = agent.capacity;
  n.labels = agent.labels;
  n.running = static_cast<uint32_t>(tasks_.tasks_on_node(agent.id).size());
  n.free_slots = agent.credit();
  n.last_seen_ms = agent.last_seen_ms;
  n.allocated = allocated_on_node(tasks_, agent.id);
  if (const protocol::NodeUsage* usage = node_stats_.node(agent.id))
    n.usage = *usage;
  return n;
}

protocol::BrokerStatus BrokerLoop::broker_status() const {
  protocol::BrokerStatus b;
  b.version = std::string(broker_version());
  b.epoch = epoch_;
  b.started_ms = started_ms_;
  for (int i = 0; i < kTaskStateCount; ++i) {
    auto state = static_cast<TaskState>(i);
    b.tasks_by_state[std::string(task_state_name(state))] = tasks_.counts()[i];
  }
  SteadyTime now = clock_.now();
  for (const auto& [id, agent] : agents_.agents()) {
    ++b.nodes_total;
    if (agent.state == AgentState::Welcomed && liveness_.state(id, now) == NodeState::Ready)
      ++b.nodes_ready;
  }
  b.counters = std::map<std::string, uint64_t>(counters_.begin(), counters_.end());
  b.scheduler = std::string(policy_name(options_.policy));
  metrics_.export_to(b.counters);
  export_zap_counts(b.counters);
  return b;
}

bool BrokerLoop::first_report(const std::string& key) {
  if (reported_.size() >= kMaxReportedKeys)
    reported_.clear();
  return reported_.insert(key).second;
}

}  // namespace cube::broker
