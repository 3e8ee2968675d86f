#include "broker/broker_metrics.h"

#include "protocol/messages.h"

namespace cube::broker {
namespace {

constexpr std::array<const char*, 3> kSocketNames = {"client", "work", "events"};

std::chrono::microseconds to_us(SteadyTime::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d);
}

}  // namespace

void BrokerMetrics::on_submitted(std::string_view task_id, SteadyTime now) {
  if (awaiting_placement_.size() >= kMaxTimedSubmits)
    return;
  awaiting_placement_.emplace(task_id, now);
}

void BrokerMetrics::on_placed(std::string_view task_id, SteadyTime now) {
  auto it = awaiting_placement_.find(task_id);
  if (it == awaiting_placement_.end())
    return;
  scheduling_.observe(to_us(now - it->second));
  awaiting_placement_.erase(it);
}

void BrokerMetrics::on_commit(SteadyTime::duration duration) {
  store_commit_.observe(to_us(duration));
}

void BrokerMetrics::export_counts(const MessageCounts& counts, const char* verb,
                                  std::map<std::string, uint64_t>& counters) {
  for (size_t socket = 0; socket < counts.size(); ++socket) {
    for (size_t type = 0; type < counts[socket].size(); ++type) {
      uint64_t n = counts[socket][type];
      if (n == 0)
        continue;
      counters[std::string(kSocketNames[socket]) + "." + verb + "." +
               protocol::message_type_name(static_cast<uint8_t>(type))] += n;
    }
  }
}

void BrokerMetrics::export_to(std::map<std::string, uint64_t>& counters) const {
  export_counts(received_, "received", counters);
  export_counts(sent_, "sent", counters);
  scheduling_.export_to(protocol::kSchedulingLatency, counters);
  store_commit_.export_to(protocol::kStoreCommitLatency, counters);
}

}  // namespace cube::broker
