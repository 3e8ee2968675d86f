#include "bench/idle_run.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "bench/bench_report.h"
#include "bench/fleet_split.h"
#include "bench/process_stats.h"
#include "bench/spawned_process.h"
#include "client/client.h"
#include "common/fd_limit.h"
#include "common/ids.h"
#include "protocol/zmq_io.h"

namespace cube::bench {
namespace {

// More fleet processes than this is a mistake (a tiny --agents-per-process), not a plan.
constexpr size_t kMaxFleetProcesses = 64;
// NODES of 5,000 agents is about a megabyte to build and encode: twice a second is enough.
constexpr Millis kNodesInterval{500};
// Progress lines while agents register.
constexpr Millis kProgressInterval{2000};
// After the last agent is listed ready: its WELCOME, first heartbeats and any SYNC settle within
// two beats.
constexpr int kSettleBeats = 2;
// A cube-broker binds in milliseconds; 15 s covers a loaded machine.
constexpr Millis kBrokerStart{15000};
constexpr Millis kReadyFilePoll{50};
// Descriptors per agent on the broker (work, events and beacon connections) and the broker's
// own (store, sockets' mailboxes, epoll, signalfd, logs): an estimate for the early check.
constexpr uint64_t kBrokerFdsPerAgent = 3;
constexpr uint64_t kBrokerSpareFds = 64;
// The broker's heartbeat when it is not ours to set: cube-broker's default, used only to time
// the settling.
constexpr Millis kDefaultHeartbeat{1000};

// A directory of our own for the broker's ready file and data dir; removed on every path.
class ScratchDir {
 public:
  Status create() {
    std::error_code ec;
    std::string pattern =
        (std::filesystem::temp_directory_path(ec) / "cube-bench-idle-XXXXXX").string();
    if (ec)
      pattern = "/tmp/cube-bench-idle-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      return Status::unavailable("mkdtemp " + pattern + ": " + std::strerror(errno));
    path_ = pattern;
    return Status::ok();
  }
  ~ScratchDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The processes of a run. The destructor ends them all: the fleets together (each sees its
// stdin close at once, so they shut down in parallel), then the broker.
struct Children {
  std::optional<SpawnedProcess> broker;
  std::vector<SpawnedProcess> fleets;

  ~Children() { stop_all(); }
  void stop_all() {
    // A fleet of 2,500 agents closes 7,500 sockets on the way out: seconds on a busy machine.
    constexpr Millis kGrace{15000};
    for (auto& f : fleets)
      f.close_stdin();
    for (auto& f : fleets)
      f.stop(kGrace);
    fleets.clear();
    if (broker)
      broker->stop(kGrace);
    broker.reset();
  }
};

// Why wait_until returned: the deadline passed, or the error to end the run with (the stop fd
// fired, a child exited).
std::optional<std::string> wait_until(SteadyTime until, int stop_fd, Children& children,
                                      const Clock& clock) {
  while (true) {
    std::vector<pollfd> fds;
    std::vector<SpawnedProcess*> owners;  // parallel to fds; null for the stop fd
    if (stop_fd >= 0) {
      fds.push_back({stop_fd, POLLIN, 0});
      owners.push_back(nullptr);
    }
    if (children.broker && children.broker->pidfd() >= 0) {
      fds.push_back({children.broker->pidfd(), POLLIN, 0});
      owners.push_back(&*children.broker);
    }
    for (auto& f : children.fleets) {
      if (f.pidfd() >= 0) {
        fds.push_back({f.pidfd(), POLLIN, 0});
        owners.push_back(&f);
      }
    }
    SteadyTime now = clock.now();
    if (now >= until)
      return std::nullopt;
    auto left = std::chrono::ceil<Millis>(until - now);
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR)
      return std::string("poll: ") + std::strerror(errno);
    for (size_t i = 0; n > 0 && i < fds.size(); ++i) {
      if (fds[i].revents == 0)
        continue;
      if (owners[i] == nullptr)
        return std::string("interrupted");
      auto exit = owners[i]->poll_exit();
      if (!exit)
        continue;
      bool is_broker = children.broker && owners[i] == &*children.broker;
      std::string who =
          is_broker ? "the broker"
                    : "fleet process " + std::to_string(owners[i] - children.fleets.data() + 1);
      return who + " (pid " + std::to_string(owners[i]->pid()) + ") " + exit->describe();
    }
  }
}

// Agents listed ready whose name starts with `prefix`; nullopt when NODES failed.
std::optional<size_t> ready_with_prefix(Client& client, const std::string& prefix) {
  auto nodes = client.nodes();
  if (!nodes.is_ok())
    return std::nullopt;
  size_t ready = 0;
  for (const auto& n : *nodes)
    ready += n.state == "ready" && n.name.starts_with(prefix);
  return ready;
}

// The broker's count of AGENT_HEARTBEATs received (BrokerMetrics: "SOCKET.received.TYPE");
// nullopt when STATUS failed or has no such counter.
std::optional<uint64_t> heartbeat_counter(Client& client) {
  auto status = client.status();
  if (!status.is_ok())
    return std::nullopt;
  auto it = status->counters.find("events.received.AGENT_HEARTBEAT");
  if (it == status->counters.end())
    return std::nullopt;
  return it->second;
}

std::optional<double> cpu_of(pid_t pid) {
  if (auto cpu = process_cpu_seconds(pid); cpu.is_ok())
    return *cpu;
  return std::nullopt;
}

std::optional<double> fleet_cpu(Children& children) {
  double sum = 0;
  for (auto& f : children.fleets) {
    auto cpu = cpu_of(f.pid());
    if (!cpu)
      return std::nullopt;
    sum += *cpu;
  }
  return sum;
}

bool is_executable_file(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

// Starts cube-broker --store memory on a free loopback port; returns its HOST:PORT once it has
// bound (it writes the ready file then).
Result<std::string> start_broker(const std::string& binary, const IdleRunOptions& options,
                                 const ScratchDir& scratch, Children& children,
                                 const Clock& clock) {
  const std::filesystem::path ready = scratch.path() / "ready";
  std::vector<std::string> argv = {binary,
                                   "--bind",
                                   "127.0.0.1:0",
                                   "--store",
                                   "memory",
                                   "--data-dir",
                                   (scratch.path() / "data").string(),
                                   "--heartbeat",
                                   std::to_string(options.config.heartbeat.count()) + "ms",
                                   "--log-level",
                                   options.log_level,
                                   "--ready-file",
                                   ready.string()};
  auto spawned = SpawnedProcess::spawn(argv, SpawnedProcess::Stdin::DevNull);
  if (!spawned.is_ok())
    return spawned.status();
  children.broker = std::move(spawned).value();
  const SteadyTime deadline = clock.now() + kBrokerStart;
  while (true) {
    std::ifstream in(ready);
    std::string address;
    if (in && std::getline(in, address) && !address.empty())
      return address;
    if (clock.now() >= deadline)
      return Status::unavailable(binary + " did not report it was bound within " +
                                 std::to_string(kBrokerStart.count() / 1000) + " s");
    if (auto why = wait_until(clock.now() + kReadyFilePoll, options.stop_fd, children, clock))
      return Status::unavailable("starting " + binary + ": " + *why);
  }
}

}  // namespace

Result<std::string> find_broker_binary(const std::string& configured,
                                       const std::string& bench_binary) {
  if (!configured.empty()) {
    if (is_executable_file(configured))
      return configured;
    return Status::unavailable("--broker-bin " + configured + " is not an executable file");
  }
  std::filesystem::path dir = std::filesystem::path(bench_binary).parent_path();
  const std::filesystem::path candidates[] = {dir / ".." / "broker" / "cube-broker",
                                              dir / "cube-broker"};
  for (const auto& c : candidates) {
    if (is_executable_file(c))
      return c.lexically_normal().string();
  }
  return Status::unavailable("no cube-broker next to " + bench_binary + " (looked for " +
                             candidates[0].lexically_normal().string() + " and " +
                             candidates[1].lexically_normal().string() +
                             "): build it, or pass --broker-bin or --broker");
}

Result<IdleResult> run_idle(const IdleRunOptions& options, const Clock& clock) {
  const IdleConfig& c = options.config;
  IdleResult r;
  r.config = c;
  auto say = [&](const std::string& line) {
    if (options.progress)
      options.progress(line);
  };
  auto limit = raise_fd_limit();  // the fleet processes inherit it
  if (!limit.is_ok())
    return limit.status();
  r.fleet_fd_limit = limit->now;
  auto split = split_fleet(c.agents, limit->now, c.agents_per_process, kMaxFleetProcesses);
  if (!split.is_ok())
    return split.status();
  r.agents_per_process = *split;

  const SteadyTime began = clock.now();
  ScratchDir scratch;  // before the children: the broker's data dir goes after the broker
  Children children;
  std::optional<int> broker_pid = c.broker_pid;
  std::string address = c.broker;
  if (address.empty()) {
    auto binary = find_broker_binary(c.broker_bin, options.bench_binary);
    if (!binary.is_ok())
      return binary.status();
    CUBE_RETURN_IF_ERROR(scratch.create());
    auto bound = start_broker(*binary, options, scratch, children, clock);
    if (!bound.is_ok())
      return bound.status();
    address = *bound;
    broker_pid = children.broker->pid();
    r.broker_started = true;
    r.heartbeat = c.heartbeat;
  }
  r.broker_address = address;
  r.broker_pid = broker_pid;
  auto endpoint = broker_endpoint(address);
  if (!endpoint.is_ok())
    return endpoint.status();
  if (broker_pid) {
    if (auto broker_limit = open_file_limit(*broker_pid); broker_limit.is_ok()) {
      r.broker_fd_limit = *broker_limit;
      uint64_t needed = kBrokerFdsPerAgent * c.agents + kBrokerSpareFds;
      if (*broker_limit < needed) {
        return Status::unavailable("the broker (pid " + std::to_string(*broker_pid) +
                                   ") may open " + std::to_string(*broker_limit) +
                                   " files, not enough for " + std::to_string(c.agents) +
                                   " agents (3 connections each: about " + std::to_string(needed) +
                                   "); raise its limit or use fewer agents");
      }
    }
  }

  // --- the fleet processes, one after the other ---
  // Each registers before the next starts: thousands of HELLOs at once on a loaded machine leave
  // some without a WELCOME for 3 s, and each such agent opens a new DEALER (a new connection)
  // and says HELLO again, which only adds to the broker's queue (and to the fleet's descriptors).
  std::string split_text;
  for (size_t n : r.agents_per_process)
    split_text += (split_text.empty() ? "" : " + ") + std::to_string(n);
  say("cube-bench: " + std::to_string(c.agents) + " idle agents in " +
      std::to_string(r.agents_per_process.size()) + " fleet processes (" + split_text +
      "), broker " + address + (r.broker_started ? " (started here)" : ""));
  ClientOptions watcher_options;
  watcher_options.endpoint = *endpoint;
  Client watcher(watcher_options, clock);
  const std::string prefix = "idle" + new_random_id().substr(0, 6) + "p";
  const SteadyTime deadline = began + options.timeout;
  SteadyTime next_line = began + kProgressInterval;
  size_t expected = 0;
  for (size_t k = 0; k < r.agents_per_process.size(); ++k) {
    std::vector<std::string> argv = {options.bench_binary, "--fleet-only",
                                     "--broker",           address,
                                     "--agents",           std::to_string(r.agents_per_process[k]),
                                     "--name-prefix",      prefix + std::to_string(k + 1),
                                     "--agent-threads",    std::to_string(c.agent_threads),
                                     "--io-threads",       std::to_string(c.io_threads),
                                     "--log-level",        options.log_level};
    auto spawned = SpawnedProcess::spawn(argv, SpawnedProcess::Stdin::Pipe);
    if (!spawned.is_ok())
      return spawned.status();
    children.fleets.push_back(std::move(spawned).value());
    expected += r.agents_per_process[k];
    while (true) {
      size_t ready = ready_with_prefix(watcher, prefix).value_or(0);
      if (ready >= expected)
        break;
      SteadyTime now = clock.now();
      if (now >= deadline) {
        r.error = "only " + std::to_string(ready) + " of " + std::to_string(c.agents) +
                  " agents registered before the timeout";
        return r;
      }
      if (now >= next_line) {
        say("cube-bench: " + std::to_string(ready) + " of " + std::to_string(c.agents) +
            " agents ready");
        next_line = now + kProgressInterval;
      }
      if (auto why = wait_until(std::min(now + kNodesInterval, deadline), options.stop_fd, children,
                                clock)) {
        r.error = *why;
        return r;
      }
    }
  }
  r.registration_s = std::chrono::duration<double>(clock.now() - began).count();
  say("cube-bench: " + std::to_string(c.agents) + " agents registered in " +
      format_fixed(r.registration_s, 1) + " s; measuring the broker for " +
      format_fixed(static_cast<double>(c.window.count()) / 1000.0, 1) + " s");

  // --- settle, then the window ---
  const Millis beat = r.heartbeat.value_or(kDefaultHeartbeat);
  if (auto why = wait_until(clock.now() + kSettleBeats * beat, options.stop_fd, children, clock)) {
    r.error = *why;
    return r;
  }
  std::optional<uint64_t> beats_before = heartbeat_counter(watcher);
  std::optional<double> cpu_before = broker_pid ? cpu_of(*broker_pid) : std::nullopt;
  std::optional<double> fleet_before = fleet_cpu(children);
  const SteadyTime window_start = clock.now();
  auto interrupted = wait_until(window_start + c.window, options.stop_fd, children, clock);
  const SteadyTime window_end = clock.now();
  std::optional<double> cpu_after = broker_pid ? cpu_of(*broker_pid) : std::nullopt;
  std::optional<double> fleet_after = fleet_cpu(children);
  std::optional<uint64_t> beats_after = heartbeat_counter(watcher);
  r.window_s = std::chrono::duration<double>(window_end - window_start).count();
  if (interrupted) {
    r.error = *interrupted;
    return r;
  }
  if (cpu_before && cpu_after)
    r.broker_cpu_s = *cpu_after - *cpu_before;
  if (fleet_before && fleet_after)
    r.fleet_cpu_s = *fleet_after - *fleet_before;
  if (beats_before && beats_after)
    r.heartbeats = *beats_after - *beats_before;
  if (broker_pid) {
    if (auto rss = status_bytes(*broker_pid, "VmRSS"); rss.is_ok())
      r.broker_rss_bytes = *rss;
    if (auto hwm = status_bytes(*broker_pid, "VmHWM"); hwm.is_ok())
      r.broker_peak_rss_bytes = *hwm;
    if (auto fds = open_fds(*broker_pid); fds.is_ok())
      r.broker_fds = *fds;
  }
  r.ready_after = ready_with_prefix(watcher, prefix).value_or(0);
  if (r.ready_after < c.agents) {
    r.error = std::to_string(c.agents - r.ready_after) + " of " + std::to_string(c.agents) +
              " agents were no longer ready after the window";
  }
  return r;
}

}  // namespace cube::bench
