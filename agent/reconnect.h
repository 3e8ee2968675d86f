// Backoff: when the agent retries HELLO after the broker did not answer. 1 s doubling to 32 s
// (the zguide's Paranoid Pirate worker; docs/architecture.md, "Agent side"), with jitter so that
// the agents of a restarted broker do not all come back in the same millisecond.
//
// Pure state: the agent loop passes `now` from its Clock, turns next_attempt() into a poll
// deadline and never sleeps (the zguide worker sleeps during backoff; Cube must not).
//
// Thread-safety: none; owned by the agent loop.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "common/clock.h"

namespace cube::agent {

// From WELCOME to an agent's first AGENT_HEARTBEAT: a point in (0, interval] that depends
// only on the agent's ID. Agents welcomed together (a restarted broker, a fleet started at
// once) would otherwise beat in step for as long as they run, and the broker would take their
// heartbeats as one burst per interval instead of an even stream.
Millis first_heartbeat_delay(std::string_view agent_id, Millis interval);

struct BackoffPolicy {
  Millis initial{1000};
  Millis max{32000};
  // Each delay is drawn from ((1 - jitter) * nominal, nominal]: jitter only shortens, so the
  // nominal 1, 2, 4 ... 32 s are upper bounds and the cap always holds. 0.2 spreads a thousand
  // agents over 20% of the interval, enough to flatten the reconnect spike.
  double jitter = 0.2;
};

class Backoff {
 public:
  // Uniform in [0, 1). Injected so that tests pin the jitter.
  using RandomSource = std::function<double()>;

  explicit Backoff(RandomSource random, BackoffPolicy policy = {});

  // Records a failed attempt at `now` and schedules the next one. Returns the delay chosen:
  // nominal = initial * 2^(failures so far), capped at max, shortened by the jitter.
  Millis on_failure(SteadyTime now);

  // Schedules an attempt at `at` without counting a failure (a standby answered: the peer is
  // alive, only not the one to talk to yet).
  void retry_at(SteadyTime at) { next_attempt_ = at; }

  // The loop made the scheduled attempt: no attempt is pending any more, failures are kept.
  void attempt_started() { next_attempt_.reset(); }

  // Success (WELCOME): forget the failures; the next failure waits `initial` again.
  void reset();

  // When the scheduled attempt is due; nullopt when none is scheduled.
  std::optional<SteadyTime> next_attempt() const { return next_attempt_; }
  bool is_due(SteadyTime now) const { return next_attempt_ && *next_attempt_ <= now; }

  // Failures since the last reset.
  int failures() const { return failures_; }

 private:
  RandomSource random_;
  BackoffPolicy policy_;
  int failures_ = 0;
  std::optional<SteadyTime> next_attempt_;
};

// A RandomSource over a std::mt19937_64 with the given seed. For production pass
// std::random_device{}(); tests pass a constant or their own function.
Backoff::RandomSource seeded_random_source(uint64_t seed);

}  // namespace cube::agent
