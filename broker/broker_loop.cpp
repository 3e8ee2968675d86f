#include "broker/broker_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <unistd.h>

#include "broker/handlers.h"
#include "broker/plan_apply.h"
#include "broker/service_loop.h"
#include "common/check.h"

namespace cube::broker {
namespace {

// Scheduling passes are spaced by this many times the duration of the previous pass (see
// before_poll()): at most 1/(1 + 8) of the loop's time goes to passes; the extra wait for a task
// is 8 passes' time, well under a millisecond with a thousand nodes.
constexpr int kPassSpacing = 8;
// ... but never longer than this: a pass that took long spent it placing many tasks, and the
// queue behind it should not wait eight times as long.
constexpr Millis kMaxPassWait{1};
// A failed commit is retried after this, so held replies go out soon after the store recovers.
constexpr Millis kCommitRetry{100};
// How long a broker that won waits for its warm copy to reach its own leader key: the watch
// brings that key within milliseconds; a copy further behind is read again in full instead.
constexpr Millis kWarmCopyWait{1000};
// A loop that stepped down polls this often for the end of the commit in flight.
constexpr Millis kStepDownPoll{50};
// After the events socket was read empty, the next poll leaves it out for up to this long, and
// what arrives meanwhile (heartbeats, task states, node stats: nothing that waits for an answer)
// is read in one go after it instead of each message waking the loop on its own. 5,000 idle
// agents woke it 5,000 times a second, a thread switch each (docs/decisions.md).
constexpr Millis kEventsGather{5};

// A client request that changes state: refused while the store cannot commit.
bool is_client_write(const Inbound& in) {
  using protocol::MessageType;
  auto type = static_cast<MessageType>(in.message.type);
  return in.socket == BrokerSocket::Client &&
         (type == MessageType::SubmitRequest || type == MessageType::SubmitBatchRequest ||
          type == MessageType::StopRequest || type == MessageType::ServiceCreateRequest ||
          type == MessageType::ServiceScaleRequest || type == MessageType::ServiceRemoveRequest ||
          type == MessageType::ServiceUpdateRequest ||
          type == MessageType::ServiceRollbackRequest ||
          type == MessageType::ServiceRestartRequest);
}

// Reads and discards what is pending on a readable signalfd, eventfd or pipe. One read is
// enough and cannot block (poll said readable): 4 KiB holds every pending signalfd record
// (128 bytes each) and an eventfd counter (8 bytes; the read resets it).
void drain_fd(int fd) {
  std::array<char, 4096> sink;
  [[maybe_unused]] ssize_t n = ::read(fd, sink.data(), sink.size());
}

}  // namespace

BrokerLoop::BrokerLoop(BrokerOptions options, const Clock& clock, std::unique_ptr<Store> store)
    : options_(std::move(options)),
      clock_(clock),
      store_(std::move(store)),
      state_(options_, clock, context_),
      table_(broker_message_table()),
      beacon_(options_.heartbeat) {
  CUBE_CHECK(store_ != nullptr) << "broker/main.cpp always builds a store";
  if (!store_->reads_batches())
    state_.tasks.stop_collecting_events();
}

BrokerLoop::~BrokerLoop() = default;

// ------------------------------------------------------------------------------ startup

void BrokerLoop::use_election(ElectionParts parts) {
  CUBE_CHECK(parts.campaign != nullptr) << "use_election needs a campaign";
  campaign_ = parts.campaign;
  directory_ = parts.directory;
  copy_ = parts.copy;
  fence_ = std::move(parts.fence);
  state_.role = std::string(election_role_name(ElectionRole::Campaigning));
}

Status BrokerLoop::bind() {
  if (campaign_ == nullptr)
    CUBE_RETURN_IF_ERROR(load_store());
  if (!options_.curve_secret.empty() && zap_ == nullptr) {
    // libzmq admits every CURVE client when no ZAP handler is bound, so it comes first.
    zap_ = std::make_unique<ZapHandler>(
        context_, ZapAllowlists::from(options_.authorized_agents, options_.authorized_clients));
    CUBE_RETURN_IF_ERROR(zap_->start());
  }
  CUBE_RETURN_IF_ERROR(
      state_.sockets.bind(SocketOptions{options_.host, options_.curve_secret}, options_.port));
  if (zap_ != nullptr) {
    auto server_key = protocol::curve_public_key(options_.curve_secret);
    if (!server_key.is_ok())
      return server_key.status().with_context("--curve-secret");
    CUBE_RETURN_IF_ERROR(check_zap_refuses_strangers(protocol::tcp_endpoint(options_.host, port()),
                                                     *server_key, *zap_, clock_));
    state_.zap = zap_.get();
    state_.zap_baseline = zap_->counts();
  }
  beacon_.start(clock_.now());
  return Status::ok();
}

void BrokerLoop::reload_allowlists(const std::vector<protocol::AuthorizedKey>& agents,
                                   const std::vector<protocol::AuthorizedKey>& clients) {
  if (zap_ != nullptr)
    zap_->reload(ZapAllowlists::from(agents, clients));
}

Status BrokerLoop::reload_allowlist_files() {
  if (zap_ == nullptr || options_.authorized_agents_file.empty() ||
      options_.authorized_clients_file.empty())
    return Status::ok();
  auto agents = protocol::load_authorized_keys(options_.authorized_agents_file);
  auto clients = protocol::load_authorized_keys(options_.authorized_clients_file);
  Status problem = !agents.is_ok()    ? agents.status().with_context("--authorized-agents")
                   : !clients.is_ok() ? clients.status().with_context("--authorized-clients")
                                      : Status::ok();
  if (!problem.is_ok()) {
    bump(state_.counters, "zap.reload_failed");
    spdlog::error("not reloading the authorized keys, keeping the current lists: {}",
                  problem.message());
    return problem;
  }
  zap_->reload(ZapAllowlists::from(*agents, *clients));
  bump(state_.counters, "zap.reloads");
  spdlog::info("reloaded the authorized keys: {} agents ({}), {} clients ({})", agents->size(),
               options_.authorized_agents_file, clients->size(), options_.authorized_clients_file);
  return Status::ok();
}

Status BrokerLoop::load_store() {
  auto loaded = store_->load_all();
  if (!loaded.is_ok())
    return loaded.status().with_context("cannot load tasks from the store");
  auto events = store_->load_events();
  if (!events.is_ok())
    return events.status().with_context("cannot load task history from the store");
  CUBE_RETURN_IF_ERROR(restore_tasks(std::move(*loaded), std::move(*events)));
  return load_services();
}

Status BrokerLoop::load_services() {
  auto services = store_->load_services();
  if (!services.is_ok())
    return services.status().with_context("cannot load services from the store");
  for (auto& service : *services)
    state_.services.restore(std::move(service));
  if (!services->empty())
    spdlog::info("loaded {} services from the store", services->size());
  state_.walk_every_service = true;  // reconcile what the tasks left behind
  return Status::ok();
}

Status BrokerLoop::restore_tasks(std::vector<Task> stored, std::vector<TaskEventRecord> events) {
  std::unordered_map<std::string, std::vector<TaskEvent>> history;
  for (auto& [id, event] : events)
    history[id].push_back(std::move(event));
  // Oldest first, so that Pending tasks keep their place in the queue.
  std::sort(stored.begin(), stored.end(), [](const Task& a, const Task& b) {
    return std::tie(a.created_ms, a.id) < std::tie(b.created_ms, b.id);
  });
  SteadyTime now = clock_.now();
  for (auto& task : stored) {
    bool on_node = (task.state == TaskState::Scheduled || task.state == TaskState::Running) &&
                   !task.node_id.empty();
    if (on_node && state_.agents.find(task.node_id) == nullptr) {
      // The agent should HELLO again soon; if it does not within the grace, its tasks are lost.
      state_.agents.add_expected(task.node_id, task.node);
      state_.liveness.on_traffic(task.node_id, now);
    }
    if (!task.service.empty())
      state_.services.add_task(task.service, task.id);
    auto it = history.find(task.id);
    Status s = state_.tasks.restore(
        std::move(task), it == history.end() ? std::vector<TaskEvent>{} : std::move(it->second));
    if (!s.is_ok())
      return Status::internal("the store is inconsistent: " + s.message());
  }
  if (!stored.empty())
    spdlog::info("loaded {} tasks from the store", stored.size());
  return Status::ok();
}

// ------------------------------------------------------------------------------ the loop

LoopExit BrokerLoop::run(int stop_fd, int reload_fd) {
  CUBE_CHECK(port() != 0) << "run() needs a successful bind()";
  if (writer_ == nullptr)
    writer_ = std::make_unique<StoreWriter>(*store_, clock_);
  // Without an election, its slot polls fd -1 (zmq::poll ignores a negative fd).
  int election_fd = campaign_ != nullptr ? campaign_->fd() : -1;
  int directory_fd = directory_ != nullptr ? directory_->fd() : -1;
  if (copy_ != nullptr)
    copy_->follow();  // a new loop is a standby until the campaign says otherwise
  if (campaign_ != nullptr) {
    // A loop built after a step down starts from where the campaign is now; the news before
    // that were for the previous loop.
    (void)campaign_->take();
    on_election_news(campaign_->latest());
  }
  if (directory_ != nullptr) {
    brokers_ = directory_->brokers();
    update_standbys();
  }
  std::array<zmq::pollitem_t, 8> items = {{
      {state_.sockets.client().handle(), 0, ZMQ_POLLIN, 0},
      {state_.sockets.work().handle(), 0, ZMQ_POLLIN, 0},
      {state_.sockets.events().handle(), 0, ZMQ_POLLIN, 0},
      {nullptr, stop_fd, ZMQ_POLLIN, 0},
      {nullptr, writer_->fd(), ZMQ_POLLIN, 0},
      {nullptr, election_fd, ZMQ_POLLIN, 0},
      {nullptr, directory_fd, ZMQ_POLLIN, 0},
      {nullptr, reload_fd, ZMQ_POLLIN, 0},
  }};
  // Without a reload fd the last item is left out of the poll set.
  size_t polled = reload_fd >= 0 ? items.size() : items.size() - 1;
  bool gather_events = false;  // the events socket was read empty: leave it out of this poll
  while (true) {
    // A loop that stepped down answers as a standby until the commit in flight (if any) ended,
    // so that clients hear not_leader rather than nothing; then it returns.
    bool stepped_down = !lost_reason_.empty();
    if (stepped_down && !writer_->busy())
      return LoopExit::LeadershipLost;
    if (!stepped_down)
      before_poll();
    try {
      int64_t timeout = stepped_down ? kStepDownPoll.count() : poll_timeout_ms();
      items[2].events = gather_events ? 0 : ZMQ_POLLIN;
      items[2].revents = 0;
      if (gather_events && (timeout < 0 || timeout > kEventsGather.count()))
        timeout = kEventsGather.count();
      gather_events = false;
      zmq::poll(items.data(), polled, Millis(timeout));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR)
        continue;
      // Only a closed context or a bad socket gets here; neither happens while we own them.
      spdlog::error("poll failed: {}; stopping", e.what());
      break;
    }
    if (items[3].revents & ZMQ_POLLIN)
      break;
    if (items[5].revents & ZMQ_POLLIN) {
      for (const auto& news : campaign_->take()) {
        if (stepped_down)
          campaign_error_ = news.error;  // a new reign is the next loop's to take up
        else
          on_election_news(news);
      }
    }
    if (items[6].revents & ZMQ_POLLIN) {
      brokers_ = directory_->brokers();
      update_standbys();
    }
    if (lease_valid_until_ && clock_.now() >= *lease_valid_until_)
      step_down("the lease was not renewed before it ran out", /*tell_campaign=*/true);
    if (items[4].revents & ZMQ_POLLIN) {
      if (auto done = writer_->take_done()) {
        if (lost_reason_.empty())
          on_commit_done(std::move(*done));
        // else: the reign is over; whatever this batch did, nothing reports it
      }
    }
    if (polled == items.size() && (items[7].revents & ZMQ_POLLIN)) {
      drain_fd(reload_fd);
      (void)reload_allowlist_files();  // logs its outcome; a bad file keeps the old lists
    }
    if (items[0].revents & ZMQ_POLLIN)
      drain(BrokerSocket::Client);
    if (items[1].revents & ZMQ_POLLIN)
      drain(BrokerSocket::Work);
    if (items[2].revents & ZMQ_POLLIN)
      gather_events = drain(BrokerSocket::Events) < kBatchLimit;
    if (lost_reason_.empty())
      run_timers();
  }
  if (!lost_reason_.empty())
    return LoopExit::LeadershipLost;  // nothing of the reign is committed or sent
  before_poll();                      // commit and answer what the last iteration handled
  finish_commits();
  return LoopExit::Stopped;
}

void BrokerLoop::on_election_news(const ElectionNews& news) {
  campaign_error_ = news.error;
  if (state_.is_serving() && (news.role != ElectionRole::Leader || news.losses != reign_losses_)) {
    // The reign this loop served ended (perhaps followed at once by another one, which a new
    // loop takes up from a clean state).
    return step_down(news.lost_reason.empty() ? "the campaign no longer leads" : news.lost_reason,
                     /*tell_campaign=*/false);
  }
  if (news.leader.broker_id != leader_id_) {
    leader_id_ = news.leader.broker_id;
    update_standbys();
  }
  switch (news.role) {
    case ElectionRole::Campaigning:
    case ElectionRole::Standby:
      state_.role = std::string(election_role_name(news.role));
      if (!news.leader.address.empty() && news.leader.address != state_.leader_address) {
        spdlog::info("standby: the leader is {} ({})", news.leader.address, news.leader.broker_id);
      }
      state_.leader_address = news.leader.address;
      return;
    case ElectionRole::Leader:
      lease_valid_until_ = news.lease_valid_until;
      if (!state_.is_serving())
        take_over(news);
      return;  // else a renewal
  }
}

void BrokerLoop::take_over(const ElectionNews& news) {
  SteadyTime won = clock_.now();
  spdlog::info("elected leader (reign {})", news.reign);
  if (writer_ != nullptr && writer_->busy())
    (void)writer_->wait();  // cannot happen: a standby commits nothing; but never two users
  if (Status fenced = fence_(news.reign); !fenced.is_ok())
    return step_down("won the election but " + fenced.message(), /*tell_campaign=*/true);
  std::string source;
  Status loaded;
  if (copy_ != nullptr) {
    // The copy has everything once it saw our own leader key's creation (standby_copy.h).
    auto taken = copy_->take(news.reign, kWarmCopyWait);
    if (taken.is_ok()) {
      source = "the warm copy at revision " + std::to_string(taken->revision);
      loaded = restore_tasks(std::move(taken->tasks), std::move(taken->events));
      // The warm copy follows the tasks only; services are few: read from the store.
      if (loaded.is_ok())
        loaded = load_services();
    } else {
      spdlog::warn("{}: reading the whole store instead", taken.status().message());
    }
  }
  if (source.empty()) {
    source = "a full read of the store";
    loaded = load_store();
  }
  if (!loaded.is_ok())
    return step_down("won the election but " + loaded.message(), /*tell_campaign=*/true);
  reign_losses_ = news.losses;
  state_.role = std::string(election_role_name(ElectionRole::Leader));
  state_.leader_address = news.leader.address;
  state_.schedule_needed = true;
  beacon_.start(clock_.now());
  auto took = std::chrono::duration_cast<Millis>(clock_.now() - won);
  spdlog::info("serving as leader at {}: {} tasks from {}, {} ms after winning",
               news.leader.address, state_.tasks.size(), source, took.count());
}

void BrokerLoop::update_standbys() {
  state_.standbys = standby_addresses(brokers_, leader_id_);
}

void BrokerLoop::step_down(std::string reason, bool tell_campaign) {
  if (!lost_reason_.empty())
    return;
  bump(state_.counters, "leader.lost");
  lost_reason_ = std::move(reason);
  if (campaign_ != nullptr && tell_campaign)
    campaign_->fenced();  // the campaign stops leading and campaigns again
  // The clients waiting for a commit hear now that it will not be acknowledged (an error
  // acknowledges nothing); messages to agents are dropped with the loop.
  state_.refuse_held_replies(Status::unavailable("not_leader: this broker stopped leading (" +
                                                 lost_reason_ + ")" + etcd_trouble() +
                                                 "; not stored, retry"));
  // Until run() returns, it answers as a standby that knows no leader, and sends nothing else.
  (void)state_.outbox.drop();
  state_.role = std::string(election_role_name(ElectionRole::Campaigning));
  state_.leader_address.clear();
  lease_valid_until_.reset();
}

std::string BrokerLoop::etcd_trouble() const {
  return campaign_error_.empty() ? ""
                                 : " (the election cannot reach etcd: " + campaign_error_ + ")";
}

void BrokerLoop::refuse_as_standby(const Inbound& in) {
  bump(state_.counters, std::string(socket_name(in.socket)) + ".not_leader");
  std::string leader = "leader is " + state_.leader_address;
  if (state_.leader_address.empty()) {
    // Say why no leader is known when etcd is the reason (no quorum, unreachable).
    leader = "not known yet" + etcd_trouble();
  }
  answer_error(state_, in, Status::unavailable("not_leader: " + leader));
}

int64_t BrokerLoop::poll_timeout_ms() const {
  SteadyTime deadline = beacon_.next();
  if (lease_valid_until_)
    deadline = std::min(deadline, *lease_valid_until_);
  if (auto d = state_.liveness.next_deadline())
    deadline = std::min(deadline, *d);
  if (auto d = state_.liveness.next_suspicion())
    deadline = std::min(deadline, *d);
  if (auto d = state_.agents.next_deadline())
    deadline = std::min(deadline, *d);
  if (commit_retry_at_)
    deadline = std::min(deadline, *commit_retry_at_);
  if (auto d = state_.lifecycle.next_restart())
    deadline = std::min(deadline, *d);
  if (auto d = state_.logs.next_deadline())
    deadline = std::min(deadline, *d);
  if (auto d = state_.feed.next_deadline())
    deadline = std::min(deadline, *d);
  if (state_.services_wake_at)
    deadline = std::min(deadline, *state_.services_wake_at);
  if (state_.schedule_needed)
    deadline = std::min(deadline, next_pass_at_);  // a pass held back by the spacing
  return millis_until(clock_.now(), deadline);
}

void BrokerLoop::run_timers() {
  SteadyTime now = clock_.now();
  SystemTime wall = clock_.wall();
  if (!state_.is_serving()) {
    // A standby holds no agents and no tasks, and publishes no beacon: an agent listening to
    // it must not believe a broker is there to serve it.
    beacon_.start(now + options_.heartbeat);
    if (copy_ != nullptr) {
      // Gauges, for STATUS: how far the warm copy got.
      StandbyCopy::Stats copied = copy_->stats();
      state_.counters["standby_copy.revision"] = static_cast<uint64_t>(copied.revision);
      state_.counters["standby_copy.tasks"] = copied.tasks;
      state_.counters["standby_copy.events"] = copied.events;
      state_.counters["standby_copy.full_reads"] = copied.full_reads;
    }
    return;
  }
  // Every tick due: a loop kept busy past a tick's time publishes the slices it owes at once,
  // as it would the plain beacon.
  const size_t without_slices = state_.agents.sessions_without_beacon_slices();
  while (auto tick = beacon_.take(now, without_slices == 0)) {
    // A gauge, set when a beacon goes out rather than on every iteration of the loop.
    state_.counters["beacon.agents_without_slices"] = without_slices;
    const protocol::Beacon beacon{state_.epoch, static_cast<int64_t>(options_.heartbeat.count())};
    if (tick->plain)
      state_.sockets.publish_beacon(beacon, std::nullopt);
    for (int slice = tick->first_slice; slice < tick->end_slice; ++slice)
      state_.sockets.publish_beacon(beacon, slice);
  }
  for (const auto& agent_id : state_.liveness.suspected(now)) {
    const AgentRecord* agent = state_.agents.find(agent_id);
    if (agent == nullptr || agent->state == AgentState::Lost)
      continue;
    spdlog::info("agent {} ({}) is suspect: no message for {} heartbeats", agent->name, agent_id,
                 options_.suspect_after_beats);
    state_.note_node(agent->name, node_state_name(NodeState::Suspect),
                     node_state_name(NodeState::Ready));
    bump(state_.counters, "agents.suspected");
  }
  for (const auto& agent_id : state_.liveness.expired(now)) {
    const AgentRecord* agent = state_.agents.find(agent_id);
    if (agent == nullptr || agent->state == AgentState::Lost)
      continue;
    spdlog::warn("agent {} ({}) is lost: no message for {} ms", agent->name, agent_id,
                 options_.node_grace.count());
    bool suspect_first = options_.heartbeat * options_.suspect_after_beats < options_.node_grace;
    state_.note_node(agent->name, node_state_name(NodeState::Lost),
                     node_state_name(suspect_first ? NodeState::Suspect : NodeState::Ready));
    bump(state_.counters, "agents.lost");
    state_.lifecycle.node_lost(agent_id, wall);
    state_.event_sync.forget(agent_id);
    state_.node_stats.forget_node(agent_id);
    state_.schedule_needed = true;
  }
  const uint64_t extended_before = state_.agents.deadlines_extended();
  auto expired_assignments = state_.agents.take_expired(now);
  if (uint64_t extended = state_.agents.deadlines_extended() - extended_before; extended > 0)
    bump(state_.counters, "work.assign_deadlines_extended", extended);
  for (const auto& expired : expired_assignments) {
    state_.lifecycle.on_assignment_expired(expired, wall, state_.commands);
    state_.schedule_needed = true;
  }
  if (state_.lifecycle.release_restarts(now) > 0)
    state_.schedule_needed = true;  // restart backoffs ended
  expire_logs(state_, now);
  state_.answer_parked_events(now);  // the EVENTS requests whose wait is over
  state_.queue_commands();
}

void BrokerLoop::before_poll() {
  SteadyTime now = clock_.now();
  // A task that changed may be a service's replica that ended or was lost: the service loop
  // replaces it before the pass places the new task. A rollout's monitor period or delay
  // that ended lets it go on.
  bool rollout_due = state_.services_wake_at && now >= *state_.services_wake_at;
  if (state_.walk_every_service || rollout_due || state_.tasks.has_changed_services() ||
      state_.services.has_changed()) {
    ServiceWalk walk =
        state_.walk_every_service || rollout_due ? ServiceWalk::Every : ServiceWalk::Changed;
    state_.walk_every_service = false;
    reconcile_services(state_, walk);
  }
  if (state_.schedule_needed && now >= next_pass_at_) {
    state_.schedule_needed = false;
    PlanApplyInput input{
        .policy = options_.policy,
        .cursor = cursor_,
        .assign_timeout = options_.assign_timeout,
        .max_tasks = kMaxTasksPerPass,
        .now = now,
        .wall = clock_.wall(),
        .hints = &state_.lifecycle.hints(),
        .view = &scheduler_view_,
        .services = &state_.services,
    };
    auto result =
        plan_and_apply(state_.tasks, state_.agents, state_.liveness, input, state_.commands);
    cursor_ = result.next_cursor;
    for (const auto& command : state_.commands) {
      if (const auto* assign = std::get_if<protocol::Assign>(&command.message))
        state_.metrics.on_placed(assign->task.id, now);
    }
    if (result.placed > 0)
      bump(state_.counters, "tasks.placed", result.placed);
    if (result.credit_refused > 0) {
      bump(state_.counters, "tasks.placement_refused_no_credit", result.credit_refused);
      state_.schedule_needed = true;
    }
    state_.queue_commands();
    // Under load the loop wakes for every few messages; a pass over a thousand nodes costs tens
    // of microseconds whatever it places, so the next one waits kPassSpacing times what this one
    // took: passes take at most a ninth of the loop's time and each places more. A long pass
    // spent its time placing, not on the fixed cost, so the wait is capped at kMaxPassWait.
    // (A frozen ManualClock measures 0: no spacing in tests.)
    SteadyTime end = clock_.now();
    next_pass_at_ = end + std::min<SteadyTime::duration>((end - now) * kPassSpacing, kMaxPassWait);
  }

  commit_step(now);
  state_.flush_outbox();
}

bool BrokerLoop::has_uncommitted() const {
  return state_.tasks.has_uncommitted() || state_.services.has_uncommitted();
}

void BrokerLoop::commit_step(SteadyTime now) {
  if (writer_ == nullptr || writer_->busy())
    return;  // one batch at a time, so batches reach the store in order
  if (retry_batch_) {
    if (now < commit_retry_at_.value_or(now))
      return;
    writer_->start(std::move(*retry_batch_));
    retry_batch_.reset();
  } else if (!has_uncommitted()) {
    // What the queued messages report is stored already (a duplicate submit, a stop of a task
    // that had ended, or a batch that landed earlier).
    state_.outbox.settle();
    return;
  } else {
    batch_in_flight_ = state_.outbox.cut();
    StoreBatch batch;
    if (store_->reads_batches()) {
      batch.upserts = state_.tasks.uncommitted_tasks();
      batch.events = state_.tasks.take_uncommitted_events();
    }
    state_.services.take_uncommitted(batch.service_upserts, batch.service_removals);
    writer_->start(std::move(batch));
    state_.tasks.mark_committed();
  }
  // The memory store commits inside start(): take its result now, so the outbox flushes in
  // this same step instead of one wake-up later.
  if (store_->commits_are_cheap()) {
    if (auto done = writer_->take_done())
      on_commit_done(std::move(*done));
  }
}

void BrokerLoop::on_commit_done(StoreBatchDone done) {
  state_.metrics.on_commit(done.took);
  if (campaign_ != nullptr && done.status.code() == ErrorCode::Conflict) {
    // The fence refused the write: another broker reigns. Nothing of this batch is acknowledged.
    return step_down("a store write was refused by the fence (" + done.status.message() + ")",
                     /*tell_campaign=*/true);
  }
  if (done.status.is_ok()) {
    bump(state_.counters, "store.commits");
    if (commit_retry_at_)
      spdlog::info("the store accepts writes again");
    commit_retry_at_.reset();
    state_.store_error.clear();
    state_.outbox.stored(batch_in_flight_);
    return;
  }
  bump(state_.counters, "store.commit_failed");
  if (!commit_retry_at_)
    spdlog::error("store commit failed: {}; refusing client writes and retrying",
                  done.status.to_string());
  // The clients waiting for this commit are told now rather than when (if) it lands: their
  // changes are not acknowledged, and a retry with the same task ID is safe either way.
  state_.store_error = "not stored: " + done.status.message();
  bump(state_.counters, "store.replies_refused",
       state_.refuse_held_replies(Status::unavailable(state_.store_error)));
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
            state_.outbox.drop());
        return;
      }
    }
    if (retry_batch_) {  // refused earlier: one last try, without waiting for the retry time
      writer_->start(std::move(*retry_batch_));
      retry_batch_.reset();
      continue;
    }
    if (!has_uncommitted())
      break;
    commit_step(clock_.now());
  }
  state_.outbox.settle();
  state_.flush_outbox();
}

// ------------------------------------------------------------------------------ reading

int BrokerLoop::drain(BrokerSocket socket) {
  zmq::socket_t& zmq_socket = socket == BrokerSocket::Client ? state_.sockets.client()
                              : socket == BrokerSocket::Work ? state_.sockets.work()
                                                             : state_.sockets.events();
  // ROUTERs put the peer's identity first (the REQ delimiter is found by receive()).
  size_t routing_frames = socket == BrokerSocket::Events ? 0 : 1;
  for (int i = 0; i < kBatchLimit; ++i) {
    Status error;
    auto message = protocol::receive(zmq_socket, routing_frames, &error);
    if (!message)
      return i;
    Inbound in{socket, *message, {}};
    if (routing_frames > 0) {
      if (message->envelope_start == 0) {
        // Not even an identity frame: nobody to answer.
        bump(state_.counters, std::string(socket_name(socket)) + ".receive_failed");
        continue;
      }
      in.routing_id = frame_string(message->frames[0]);
    }
    if (!error.is_ok()) {
      report_bad_envelope(state_, in, error);
      continue;
    }
    if (!state_.is_serving() &&
        in.message.type != static_cast<uint8_t>(protocol::MessageType::StatusRequest)) {
      refuse_as_standby(in);
      continue;
    }
    if (!state_.store_error.empty() && is_client_write(in)) {
      bump(state_.counters, "client.refused_store_down");
      answer_error(state_, in, Status::unavailable(state_.store_error));
      continue;
    }
    table_.dispatch(state_, in);
  }
  return kBatchLimit;
}

}  // namespace cube::broker
