// Health checks: which URL the agent probes for a task, with which settings, and the prober's
// state machine (docs/durability.md, "Health checks").
//
// A task with a HealthCheck path is probed once it runs: HTTP GET http://HOST:PORT/PATH, where
// PORT is the host port of the task's first published TCP port (the first entry of
// ExposedPorts that has a PortBinding) and HOST its binding's address (the agent's
// --publish-addr when the binding is on every address). A task with exposed ports but no
// bindings at all (the exec driver: the process listens on the host itself) is probed on
// 127.0.0.1 at its first exposed TCP port. A task with neither is not probed.
//
// Every `interval` one probe runs (never two at once for one attempt), the first one interval
// after the task started (the grace for slow starters). A 2xx or 3xx answer within `timeout`
// is healthy and resets the count; anything else (4xx/5xx, refused connection, no answer in
// time) is a failure. After `retries` consecutive failures the attempt is unhealthy: the agent
// stops it and reports it Failed with the reason
//   "health check failed 3 times: GET http://127.0.0.1:49153/health: HTTP 404"
// and the broker's restart policy decides what follows (broker/restart_policy.h: restarted
// under on-failure and always).
//
// Thread-safety: none; HealthProber is owned by the agent loop. Pure bookkeeping: no I/O, no
// clock (callers pass `now`); the probes themselves run on workers (agent/http_probe.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "protocol/task.h"

namespace cube::agent {

// The agent's defaults for tasks that leave a setting at 0 (cube-agent --health-interval,
// --health-timeout, --health-retries). Docker's HEALTHCHECK defaults are 30 s / 30 s / 3;
// Cube probes more often with a shorter timeout, since a hung task costs a slot.
struct HealthDefaults {
  Millis interval{10000};
  Millis timeout{2000};
  int32_t retries = 3;
};

// The flag texts as defaults: interval and timeout as parse_duration reads them ("10s",
// "500ms") and more than 0, retries at least 1. Invalid naming the flag otherwise.
Result<HealthDefaults> parse_health_defaults(std::string_view interval, std::string_view timeout,
                                             int64_t retries);

// What one attempt is probed with.
struct HealthSettings {
  std::string url;
  Millis interval{0};
  Millis timeout{0};
  int32_t retries = 0;
};

// The URL to probe (see the file comment), or nullopt when `path` is empty or the task has no
// TCP port to probe. `publish_address` replaces a binding's wildcard address (0.0.0.0, ::,
// empty); a wildcard publish address becomes 127.0.0.1. IPv6 hosts are bracketed.
std::optional<std::string> health_check_url(
    std::string_view path, const std::vector<std::string>& exposed_ports,
    const std::map<std::string, std::vector<PortBinding>>& port_bindings,
    std::string_view publish_address);

// The task's settings with `defaults` filling those left at 0, for `url`.
HealthSettings health_settings(const Task& task, const HealthDefaults& defaults, std::string url);

class HealthProber {
 public:
  // How long past its timeout a probe may stay unanswered before the loop counts it as failed
  // itself: the HTTP client enforces the timeout, this only covers a worker that is late.
  static constexpr Millis kLateAnswerSlack{1000};

  // A probe to run now: GET `url` within `timeout`, then report to on_result with `seq`.
  struct Probe {
    std::string task_id;
    uint32_t attempt = 0;
    uint64_t seq = 0;
    std::string url;
    Millis timeout{0};
  };
  // An attempt that failed its checks `retries` times in a row: stop it, report Failed.
  struct Verdict {
    std::string task_id;
    uint32_t attempt = 0;
    std::string reason;  // "health check failed 3 times: GET ...: HTTP 404"
  };
  // What one probe's result changed.
  struct Outcome {
    enum class Kind {
      Ignored,    // not watched any more, or a stale probe (counted as late already)
      Healthy,    // passed; `recovered` when failures had been counted before
      Failing,    // failed, `failures` of `retries` so far
      Unhealthy,  // failed for the last time: `verdict` is set
    };
    Kind kind = Kind::Ignored;
    int32_t failures = 0;
    int32_t retries = 0;
    bool recovered = false;
    std::string error;  // the failed probe's message
    std::optional<Verdict> verdict;
  };
  // What advance() found due.
  struct Due {
    std::vector<Probe> probes;      // start these now (each is in flight from now on)
    std::vector<Verdict> verdicts;  // late probes that were the last failure allowed
  };

  // Starts watching a running attempt; its first probe is due at now + settings.interval.
  // Watching an attempt again replaces its settings and starts over. Intervals and timeouts
  // below 1 ms are raised to 1 ms and retries below 1 to 1.
  void watch(const std::string& task_id, uint32_t attempt, HealthSettings settings, SteadyTime now);
  // Stops watching (the attempt ended or is being stopped). Unknown attempts are ignored; a
  // probe in flight is ignored when it reports.
  void forget(const std::string& task_id, uint32_t attempt);
  // Probes again after a verdict whose stop did not happen (the driver could not stop the
  // task): the count starts over, the next probe is due at now + interval. Ignored unless the
  // attempt is watched and unhealthy.
  void rearm(const std::string& task_id, uint32_t attempt, SteadyTime now);

  // Counts probes unanswered past timeout + kLateAnswerSlack as failures, then returns the
  // probes due at `now` (marking them in flight) and the verdicts the late ones caused.
  Due advance(SteadyTime now);
  // A probe's result (OK = healthy). The next probe is due one interval after this one
  // started.
  Outcome on_result(const std::string& task_id, uint32_t attempt, uint64_t seq,
                    const Status& result, SteadyTime now);

  // The earliest time advance() has something to do; nullopt when nothing is watched (or
  // every watched attempt is unhealthy).
  std::optional<SteadyTime> next_deadline() const;

  size_t watched() const { return watches_.size(); }
  bool is_watched(const std::string& task_id, uint32_t attempt) const {
    return watches_.count({task_id, attempt}) != 0;
  }

 private:
  struct Watch {
    HealthSettings settings;
    SteadyTime next_probe{};
    bool in_flight = false;
    SteadyTime probe_started{};
    uint64_t seq = 0;  // of the probe in flight (or the last one)
    int32_t failures = 0;
    bool unhealthy = false;  // a verdict was given: no more probes until rearm()
  };
  using Key = std::pair<std::string, uint32_t>;

  // Counts one failure of `w`; the verdict when it was the last one allowed.
  std::optional<Verdict> count_failure(const Key& key, Watch& w, const std::string& error);

  std::map<Key, Watch> watches_;
  uint64_t next_seq_ = 1;
};

}  // namespace cube::agent
