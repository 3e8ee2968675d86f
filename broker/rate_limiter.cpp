#include "broker/rate_limiter.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace cube::broker {

Result<double> parse_rate(std::string_view text) {
  std::string_view number = text;
  double per = 1;  // seconds per unit
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    number = text.substr(0, slash);
    std::string_view unit = text.substr(slash + 1);
    if (unit == "s")
      per = 1;
    else if (unit == "m")
      per = 60;
    else if (unit == "h")
      per = 3600;
    else
      return Status::invalid("rate \"" + std::string(text) + "\": use N/s, N/m or N/h");
  }
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size() || !(value > 0) ||
      !std::isfinite(value)) {
    return Status::invalid("rate \"" + std::string(text) +
                           "\": expected a positive number of requests, like 50/s");
  }
  return value / per;
}

RateLimiter::RateLimiter(RateLimit limit, size_t max_clients)
    : limit_(limit), max_clients_(std::max<size_t>(1, max_clients)) {
  if (limit_.burst <= 0)
    limit_.burst = std::max(1.0, limit_.per_second);
}

bool RateLimiter::allow(std::string_view client, SteadyTime now) {
  if (!enabled())
    return true;
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_)
      evict_oldest();
    it = buckets_.emplace(std::string(client), Bucket{limit_.burst, now}).first;
  }
  Bucket& bucket = it->second;
  if (now > bucket.updated) {
    double seconds = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(limit_.burst, bucket.tokens + seconds * limit_.per_second);
    bucket.updated = now;
  }
  if (bucket.tokens < 1)
    return false;
  bucket.tokens -= 1;
  return true;
}

void RateLimiter::evict_oldest() {
  auto oldest = std::min_element(
      buckets_.begin(), buckets_.end(),
      [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
  if (oldest != buckets_.end())
    buckets_.erase(oldest);
}

}  // namespace cube::broker
