// BrokerMetrics: what the broker measures beyond plain counters (broker/counters.h), reported in
// STATUS so that the HTTP gateway's /metrics can export it:
//   - messages received per socket and message type ("client.received.SUBMIT"), and sent
//     ("work.sent.ASSIGN_BATCH": handed to ZeroMQ, the send did not fail);
//   - scheduling latency: from a SUBMIT being accepted to the task's first ASSIGN
//     (protocol::kSchedulingLatency);
//   - store commit latency: how long each group commit took (protocol::kStoreCommitLatency).
// Counting a message is an array increment, so it costs nothing next to decoding it.
//
// Thread-safety: none; the broker loop thread only. Nothing blocks.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "protocol/latency_histogram.h"

namespace cube::broker {

enum class BrokerSocket : uint8_t { Client = 0, Work = 1, Events = 2 };

// Submitted tasks whose first placement is awaited are remembered up to this many; beyond it
// new submits are not timed (a backlog that large is visible in the Pending count anyway), so
// memory stays bounded.
inline constexpr size_t kMaxTimedSubmits = 1'000'000;

class BrokerMetrics {
 public:
  // A message of `type` arrived on `socket` with a readable envelope.
  void on_message(BrokerSocket socket, uint8_t type) {
    ++received_[static_cast<size_t>(socket)][type];
  }
  // A message of `type` was handed to ZeroMQ on `socket` (client or work).
  void on_sent(BrokerSocket socket, uint8_t type) { ++sent_[static_cast<size_t>(socket)][type]; }

  // A new task was accepted at `now`; its first on_placed() observes the scheduling latency.
  // `task_id` is kept as a view until then: it must be the ID held by the broker's TaskTable,
  // which lives as long as the table.
  void on_submitted(std::string_view task_id, SteadyTime now);
  // The task was given to an agent (an ASSIGN). Only the first placement after on_submitted()
  // is observed; later ones (re-placements) are ignored.
  void on_placed(std::string_view task_id, SteadyTime now);
  // The task will never be placed (stopped while Pending): forget its submit time.
  void on_stopped(std::string_view task_id) { awaiting_placement_.erase(task_id); }

  // One store commit took `duration`.
  void on_commit(SteadyTime::duration duration);

  // Adds "SOCKET.received.TYPE" and "SOCKET.sent.TYPE" for every type seen and both histograms (in
  // the encoding of protocol/latency_histogram.h) to `counters`.
  void export_to(std::map<std::string, uint64_t>& counters) const;

  const protocol::LatencyHistogram& scheduling_latency() const { return scheduling_; }
  const protocol::LatencyHistogram& store_commit_latency() const { return store_commit_; }
  size_t awaiting_placement() const { return awaiting_placement_.size(); }

 private:
  // Message counts per socket (BrokerSocket) and message type.
  using MessageCounts = std::array<std::array<uint64_t, 256>, 3>;
  static void export_counts(const MessageCounts& counts, const char* verb,
                            std::map<std::string, uint64_t>& counters);

  MessageCounts received_{};
  MessageCounts sent_{};
  std::unordered_map<std::string_view, SteadyTime> awaiting_placement_;
  protocol::LatencyHistogram scheduling_;
  protocol::LatencyHistogram store_commit_;
};

}  // namespace cube::broker
