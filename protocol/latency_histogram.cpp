#include "protocol/latency_histogram.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "common/check.h"

namespace cube::protocol {
namespace {

constexpr std::string_view kBucketInfix = ".le_us.";
constexpr std::string_view kInf = "inf";
constexpr std::string_view kSumSuffix = ".sum_us";

}  // namespace

std::vector<int64_t> LatencyHistogram::default_bounds_us() {
  return {50,    100,    250,    500,    1000,    2500,    5000,    10000,   25000,
          50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
}

LatencyHistogram::LatencyHistogram(std::vector<int64_t> bounds_us)
    : bounds_us_(std::move(bounds_us)), counts_(bounds_us_.size() + 1, 0) {
  for (size_t i = 0; i < bounds_us_.size(); ++i) {
    CUBE_CHECK(bounds_us_[i] > 0 && (i == 0 || bounds_us_[i] > bounds_us_[i - 1]))
        << "histogram bounds are built by the broker as positive and ascending";
  }
}

void LatencyHistogram::observe(std::chrono::microseconds duration) {
  int64_t us = std::max<int64_t>(0, duration.count());
  auto it = std::lower_bound(bounds_us_.begin(), bounds_us_.end(), us);
  ++counts_[static_cast<size_t>(it - bounds_us_.begin())];
  sum_us_ += static_cast<uint64_t>(us);
}

uint64_t LatencyHistogram::count() const {
  uint64_t total = 0;
  for (uint64_t c : counts_)
    total += c;
  return total;
}

std::optional<int64_t> LatencyHistogram::quantile_upper_bound_us(double q) const {
  const uint64_t total = count();
  if (total == 0)
    return std::nullopt;
  // The rank of the quantile's observation, 1-based: ceil(q * total), at least 1.
  const auto rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(total))));
  uint64_t seen = 0;
  for (size_t i = 0; i < bounds_us_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return bounds_us_[i];
  }
  return std::numeric_limits<int64_t>::max();
}

void LatencyHistogram::export_to(std::string_view name,
                                 std::map<std::string, uint64_t>& counters) const {
  std::string prefix = std::string(name) + std::string(kBucketInfix);
  for (size_t i = 0; i < bounds_us_.size(); ++i)
    counters[prefix + std::to_string(bounds_us_[i])] = counts_[i];
  counters[prefix + std::string(kInf)] = counts_.back();
  counters[std::string(name) + std::string(kSumSuffix)] = sum_us_;
}

std::optional<LatencyHistogram> LatencyHistogram::import_from(
    std::string_view name, const std::map<std::string, uint64_t>& counters) {
  std::string prefix = std::string(name) + std::string(kBucketInfix);
  std::vector<std::pair<int64_t, uint64_t>> buckets;
  std::optional<uint64_t> inf;
  for (auto it = counters.lower_bound(prefix); it != counters.end(); ++it) {
    std::string_view key = it->first;
    if (!key.starts_with(prefix))
      break;
    std::string_view bound = key.substr(prefix.size());
    if (bound == kInf) {
      inf = it->second;
      continue;
    }
    int64_t value = 0;
    auto [end, ec] = std::from_chars(bound.data(), bound.data() + bound.size(), value);
    if (ec != std::errc() || end != bound.data() + bound.size() || value <= 0)
      return std::nullopt;
    buckets.emplace_back(value, it->second);
  }
  if (buckets.empty() && !inf)
    return std::nullopt;
  // Keys sort as strings ("100" < "50"); the bounds must be numeric order.
  std::sort(buckets.begin(), buckets.end());
  for (size_t i = 1; i < buckets.size(); ++i) {
    if (buckets[i].first == buckets[i - 1].first)
      return std::nullopt;  // "050" and "50": not something a broker writes
  }
  std::vector<int64_t> bounds;
  for (const auto& [bound, count] : buckets)
    bounds.push_back(bound);
  LatencyHistogram h{std::vector<int64_t>{}};
  h.bounds_us_ = std::move(bounds);
  h.counts_.clear();
  for (const auto& [bound, count] : buckets)
    h.counts_.push_back(count);
  h.counts_.push_back(inf.value_or(0));
  auto sum = counters.find(std::string(name) + std::string(kSumSuffix));
  h.sum_us_ = sum == counters.end() ? 0 : sum->second;
  return h;
}

}  // namespace cube::protocol
