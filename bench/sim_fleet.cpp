#include "bench/sim_fleet.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <queue>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/check.h"
#include "common/ids.h"
#include "common/mutex.h"

namespace cube::bench {
namespace {

// Sockets per agent (DEALER, PUB, SUB) and the few the process needs besides.
constexpr int kSocketsPerAgent = 3;
constexpr int kSpareSockets = 64;
// epoll events taken per wait; more wait for the next iteration.
constexpr int kMaxEvents = 1024;
// epoll data of the stop eventfd; agent fds carry (agent index << 2 | which fd).
constexpr uint64_t kStopTag = ~uint64_t{0};

std::string agent_name(const std::string& prefix, size_t index, size_t count) {
  std::string number = std::to_string(index + 1);
  size_t width = std::to_string(count).size();
  std::string out = prefix;
  out += '-';
  out.append(width > number.size() ? width - number.size() : 0, '0');
  out += number;
  return out;
}

}  // namespace

struct SimFleet::Shard {
  size_t first = 0;  // index of its first agent in agents_
  size_t count = 0;
  Mutex mu;
  std::string error CUBE_GUARDED_BY(mu);  // why the host thread stopped early; empty otherwise
};

uint64_t fds_needed(size_t agents, bool broker_in_process) {
  // Per agent: 3 TCP connections, 3 socket mailboxes, 1 result queue. The broker holds the other
  // end of the 3 connections.
  uint64_t per_agent = 7 + (broker_in_process ? 3 : 0);
  return per_agent * agents + 256;
}

SimFleet::SimFleet(Key, const SimFleetOptions& options, const Clock& clock)
    : options_(options), clock_(clock), context_(options.io_threads) {}

Result<std::unique_ptr<SimFleet>> SimFleet::create(const SimFleetOptions& options,
                                                   const Clock& clock,
                                                   agent::SimObserver* observer) {
  if (options.agents == 0)
    return Status::invalid("a fleet needs at least one agent");
  if (options.slots == 0)
    return Status::invalid("sim agents need at least one slot");
  if (options.threads == 0)
    return Status::invalid("a fleet needs at least one host thread");
  if (options.io_threads < 1)
    return Status::invalid("the fleet's ZeroMQ context needs at least one I/O thread");
  auto fleet = std::make_unique<SimFleet>(Key{}, options, clock);
  try {
    // Must be set before the first socket is made: the default (1023) fits 341 agents.
    fleet->context_.set(zmq::ctxopt::max_sockets,
                        static_cast<int>(options.agents) * kSocketsPerAgent + kSpareSockets);
  } catch (const zmq::error_t& e) {
    return Status::unavailable(std::string("cannot raise ZMQ_MAX_SOCKETS: ") + e.what());
  }
  fleet->stop_fd_ = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fleet->stop_fd_.valid())
    return Status::unavailable(std::string("eventfd: ") + std::strerror(errno));

  std::error_code ec;
  std::filesystem::path data_dir = std::filesystem::temp_directory_path(ec);
  if (ec)
    data_dir = "/";
  fleet->agents_.reserve(options.agents);
  fleet->names_.reserve(options.agents);
  for (size_t i = 0; i < options.agents; ++i) {
    agent::AgentOptions a;
    a.broker_host = options.broker_host;
    a.broker_port = options.broker_port;
    a.agent_id = new_random_id();
    a.name = agent_name(options.name_prefix, i, options.agents);
    a.driver = std::string(kDriverSim);
    a.slots = options.slots;
    a.data_dir = data_dir;  // only read for the disk capacity HELLO reports
    a.heartbeat = options.heartbeat;
    a.max_finished = options.max_finished;
    a.stats_interval = options.stats_interval;
    Member m;
    m.driver = std::make_unique<agent::SimDriver>(clock, observer);
    m.loop = std::make_unique<agent::AgentLoop>(std::move(a), *m.driver, clock, &fleet->context_);
    fleet->names_.push_back(agent_name(options.name_prefix, i, options.agents));
    fleet->agents_.push_back(std::move(m));
  }
  size_t threads = std::min(options.threads, options.agents);
  for (size_t t = 0; t < threads; ++t) {
    auto shard = std::make_unique<Shard>();
    shard->first = options.agents * t / threads;
    shard->count = options.agents * (t + 1) / threads - shard->first;
    fleet->shards_.push_back(std::move(shard));
  }
  return fleet;
}

SimFleet::~SimFleet() {
  stop();
  // Loops (and their sockets) go before the drivers they call and before the context.
  for (auto& m : agents_)
    m.loop.reset();
}

Status SimFleet::start() {
  CUBE_CHECK(!started_) << "SimFleet::start() is called once";
  started_ = true;
  for (auto& shard : shards_)
    threads_.emplace_back([this, s = shard.get()] { host(*s); });
  return Status::ok();
}

void SimFleet::stop() {
  if (threads_.empty())
    return;
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_fd_.get(), &one, sizeof one);
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

std::vector<std::string> SimFleet::errors() const {
  std::vector<std::string> out;
  for (const auto& shard : shards_) {
    MutexLock lock(shard->mu);
    if (!shard->error.empty())
      out.push_back(shard->error);
  }
  return out;
}

void SimFleet::host(Shard& shard) {
  ::pthread_setname_np(::pthread_self(), "sim-fleet");  // for perf and top -H
  auto fail = [&](std::string why) {
    spdlog::error("sim fleet: {}", why);
    MutexLock lock(shard.mu);
    shard.error = std::move(why);
  };
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid())
    return fail(std::string("epoll_create1: ") + std::strerror(errno));
  epoll_event stop_event{};
  stop_event.events = EPOLLIN;
  stop_event.data.u64 = kStopTag;
  if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, stop_fd_.get(), &stop_event) != 0)
    return fail(std::string("epoll_ctl: ") + std::strerror(errno));

  const size_t count = shard.count;
  auto loop_of = [&](size_t i) -> agent::AgentLoop& { return *agents_[shard.first + i].loop; };

  // Each agent's wake fds as registered; re-read after every step() (a reconnecting agent
  // replaces its DEALER). Level-triggered: ZeroMQ keeps a mailbox fd readable until the socket
  // processes its commands, which step() does.
  std::vector<std::array<int, 3>> watched(count, {-1, -1, -1});
  auto watch = [&](size_t i) -> bool {
    std::array<int, 3> fds = loop_of(i).wake_fds();
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k] == watched[i][k])
        continue;
      if (watched[i][k] >= 0)
        ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, watched[i][k], nullptr);  // may be closed already
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = (static_cast<uint64_t>(i) << 2) | k;
      if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fds[k], &ev) != 0 &&
          (errno != EEXIST || ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, fds[k], &ev) != 0)) {
        fail(std::string("epoll_ctl(ADD): ") + std::strerror(errno));
        return false;
      }
      watched[i][k] = fds[k];
    }
    return true;
  };

  // Agents to service in the next round, each at most once, with the wake fds that fired
  // (AgentLoop::kWake* bits; kWakeAll after begin() or when messages were left).
  std::vector<uint32_t> ready;
  std::vector<uint8_t> woken(count, 0);
  auto mark_ready = [&](size_t i, unsigned bits) {
    if (woken[i] == 0)
      ready.push_back(static_cast<uint32_t>(i));
    woken[i] = static_cast<uint8_t>(woken[i] | bits | 0x80);  // 0x80: queued, even with no bit
  };
  // Each agent's next deadline, and a heap of (deadline, agent); an entry whose time is no
  // longer the agent's deadline is stale and skipped.
  std::vector<SteadyTime> deadline_of(count, SteadyTime::max());
  using Entry = std::pair<SteadyTime, uint32_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> deadlines;

  for (size_t i = 0; i < count; ++i) {
    Status s = loop_of(i).begin();
    if (!s.is_ok())
      return fail(s.to_string());
    if (!watch(i))
      return;
    mark_ready(i, agent::AgentLoop::kWakeAll);
  }

  std::array<epoll_event, kMaxEvents> events{};
  std::vector<uint32_t> round;
  std::vector<unsigned> round_woken;
  while (true) {
    SteadyTime now = clock_.now();
    int timeout_ms = -1;
    if (!ready.empty()) {
      timeout_ms = 0;
    } else {
      while (!deadlines.empty() && deadline_of[deadlines.top().second] != deadlines.top().first)
        deadlines.pop();
      if (!deadlines.empty())
        timeout_ms = static_cast<int>(millis_until(now, deadlines.top().first));
    }
    int n = ::epoll_wait(epoll.get(), events.data(), kMaxEvents, timeout_ms);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail(std::string("epoll_wait: ") + std::strerror(errno));
    }
    for (int e = 0; e < n; ++e) {
      if (events[e].data.u64 == kStopTag)
        return;
      mark_ready(static_cast<size_t>(events[e].data.u64 >> 2), 1u << (events[e].data.u64 & 3));
    }
    now = clock_.now();
    while (!deadlines.empty() && deadlines.top().first <= now) {
      auto [when, i] = deadlines.top();
      deadlines.pop();
      if (deadline_of[i] == when)
        mark_ready(i, 0);  // a timer: no socket news
    }
    round.swap(ready);
    ready.clear();
    round_woken.clear();
    for (uint32_t i : round) {
      round_woken.push_back(woken[i] & agent::AgentLoop::kWakeAll);
      woken[i] = 0;
    }
    for (size_t r = 0; r < round.size(); ++r) {
      uint32_t i = round[r];
      agent::AgentLoop& loop = loop_of(i);
      auto more = loop.step(now, round_woken[r]);
      if (!more.is_ok())
        return fail(more.status().to_string());
      if (!watch(i))
        return;
      SteadyTime next = loop.next_deadline(now);
      if (next != deadline_of[i]) {
        deadline_of[i] = next;
        deadlines.emplace(next, i);
      }
      if (*more)
        mark_ready(i, agent::AgentLoop::kWakeAll);
    }
    round.clear();
  }
}

}  // namespace cube::bench
