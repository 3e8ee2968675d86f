// LatencyHistogram: a fixed-bucket histogram of durations that the broker keeps (scheduling
// latency, store commit time) and reports inside the STATUS reply's `counters` map, so that
// clients (the HTTP gateway's /metrics) can rebuild it without a new wire field.
//
// Encoding in BrokerStatus.counters, for a histogram named NAME (e.g. "latency.scheduling"):
//   "NAME.le_us.<B>"  observations in (previous bound, B] microseconds, one key per bound
//   "NAME.le_us.inf"  observations above the last bound
//   "NAME.sum_us"     sum of every observation, microseconds
// Bucket counts are NOT cumulative (each key counts its own bucket). Every bucket is exported,
// zero or not, so the bounds are self-describing and stable from one STATUS to the next.
//
// Thread-safety: a value; no internal synchronisation.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cube::protocol {

// Broker histogram names (the NAME above).
inline constexpr std::string_view kSchedulingLatency = "latency.scheduling";
inline constexpr std::string_view kStoreCommitLatency = "latency.store_commit";

class LatencyHistogram {
 public:
  // 50 us .. 10 s in 1-2.5-5 steps: a loopback placement takes tens of microseconds, a SQLite
  // FULL-sync commit milliseconds, and anything past 10 s is an outage, not a latency.
  static std::vector<int64_t> default_bounds_us();

  LatencyHistogram() : LatencyHistogram(default_bounds_us()) {}
  // `bounds_us` must be strictly ascending and positive (checked: the broker builds them).
  explicit LatencyHistogram(std::vector<int64_t> bounds_us);

  // Adds one observation; negative durations count as 0.
  void observe(std::chrono::microseconds duration);

  const std::vector<int64_t>& bounds_us() const { return bounds_us_; }
  // counts()[i] for bound i; counts().back() is the +Inf bucket (size bounds + 1).
  const std::vector<uint64_t>& counts() const { return counts_; }
  uint64_t sum_us() const { return sum_us_; }
  uint64_t count() const;
  // The upper bound (microseconds) of the bucket that holds the q-quantile observation, for
  // 0 < q <= 1: "the p99 is at most this". nullopt when there is no observation; INT64_MAX when
  // it is in the +Inf bucket.
  std::optional<int64_t> quantile_upper_bound_us(double q) const;

  // Writes this histogram's keys (see the file comment) into `counters`, replacing old values.
  void export_to(std::string_view name, std::map<std::string, uint64_t>& counters) const;

  // Rebuilds the histogram `name` from `counters`; nullopt when no key of it is present (an
  // older broker) or a bucket key is not a number.
  static std::optional<LatencyHistogram> import_from(
      std::string_view name, const std::map<std::string, uint64_t>& counters);

  friend bool operator==(const LatencyHistogram&, const LatencyHistogram&) = default;

 private:
  std::vector<int64_t> bounds_us_;
  std::vector<uint64_t> counts_;
  uint64_t sum_us_ = 0;
};

}  // namespace cube::protocol
