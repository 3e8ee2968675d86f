// RateLimiter: a token bucket per client, so one client flooding SUBMITs
// gets Unavailable "rate limit: retry later" instead of growing the broker's queue without bound
// or starving other clients. Each client's bucket holds at most `burst` tokens, refills at
// `per_second`, and each admitted request takes one.
//
// Clients are named by the caller (the ZAP User-Id under CURVE, else the peer's address). The
// number of buckets is bounded: past `max_clients` the least recently used bucket is dropped
// (it would be refilled by now in all but pathological cases), so distinct names cannot grow
// memory either.
//
// Thread-safety: not thread-safe; the broker's poll loop owns it. Pure apart from its own state:
// time comes from the caller (tests use ManualClock).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace cube::broker {

struct RateLimit {
  double per_second = 0;  // 0 = no limit
  double burst = 0;       // bucket size; 0 = max(1, per_second)
};

// Parses "--client-rate" text: "50", "50/s" or "3000/m" into requests per second. Invalid,
// quoting the text, for anything else or a rate that is not positive.
Result<double> parse_rate(std::string_view text);

class RateLimiter {
 public:
  explicit RateLimiter(RateLimit limit = {}, size_t max_clients = 10000);

  bool enabled() const { return limit_.per_second > 0; }

  // True (and one token taken) when `client` may make a request at `now`; always true when
  // disabled.
  bool allow(std::string_view client, SteadyTime now);

  // Buckets currently kept.
  size_t tracked() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    SteadyTime updated;
  };
  void evict_oldest();

  RateLimit limit_;
  size_t max_clients_;
  std::map<std::string, Bucket, std::less<>> buckets_;
};

}  // namespace cube::broker
