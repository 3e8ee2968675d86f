#include "agent/reconnect.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <random>
#include <utility>

#include "common/check.h"

namespace cube::agent {

Millis first_heartbeat_delay(std::string_view agent_id, Millis interval) {
  auto period = static_cast<size_t>(std::max<int64_t>(interval.count(), 1));
  return Millis(1 + static_cast<int64_t>(std::hash<std::string_view>{}(agent_id) % period));
}

Backoff::Backoff(RandomSource random, BackoffPolicy policy)
    : random_(std::move(random)), policy_(policy) {
  CUBE_CHECK(random_) << "Backoff needs a random source; use seeded_random_source()";
}

Millis Backoff::on_failure(SteadyTime now) {
  // Doubling stops once the cap is reached, so the shift below never overflows.
  Millis nominal = policy_.initial;
  for (int i = 0; i < failures_ && nominal < policy_.max; ++i)
    nominal *= 2;
  nominal = std::min(nominal, policy_.max);
  ++failures_;

  double r = std::clamp(random_(), 0.0, 1.0);
  double jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  auto shortened = static_cast<int64_t>(static_cast<double>(nominal.count()) * jitter * r);
  Millis delay = nominal - Millis(shortened);
  next_attempt_ = now + delay;
  return delay;
}

void Backoff::reset() {
  failures_ = 0;
  next_attempt_.reset();
}

Backoff::RandomSource seeded_random_source(uint64_t seed) {
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine]() { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

}  // namespace cube::agent
