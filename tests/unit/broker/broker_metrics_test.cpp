#include "broker/broker_metrics.h"

#include <gtest/gtest.h>

#include "protocol/messages.h"

namespace cube::broker {
namespace {

using protocol::LatencyHistogram;
using std::chrono::microseconds;

TEST(BrokerMetrics, SchedulingLatencyIsSubmitToFirstPlacement) {
  ManualClock clock;
  BrokerMetrics m;
  m.on_submitted("a", clock.now());
  m.on_submitted("b", clock.now());
  clock.advance(Millis(3));
  m.on_placed("a", clock.now());
  m.on_placed("a", clock.now());  // a re-placement is not a new observation
  m.on_placed("unknown", clock.now());
  EXPECT_EQ(m.scheduling_latency().count(), 1u);
  EXPECT_EQ(m.scheduling_latency().sum_us(), 3000u);
  EXPECT_EQ(m.awaiting_placement(), 1u);
  m.on_stopped("b");  // stopped while Pending: never placed, never observed
  EXPECT_EQ(m.awaiting_placement(), 0u);
  m.on_placed("b", clock.now());
  EXPECT_EQ(m.scheduling_latency().count(), 1u);
}

TEST(BrokerMetrics, ExportsMessagesAndHistogramsIntoStatusCounters) {
  BrokerMetrics m;
  m.on_message(BrokerSocket::Client, static_cast<uint8_t>(protocol::MessageType::SubmitRequest));
  m.on_message(BrokerSocket::Client, static_cast<uint8_t>(protocol::MessageType::SubmitRequest));
  m.on_message(BrokerSocket::Work, static_cast<uint8_t>(protocol::MessageType::Hello));
  m.on_message(BrokerSocket::Events, 200);  // unknown types are counted as UNKNOWN
  m.on_message(BrokerSocket::Events, 201);
  m.on_sent(BrokerSocket::Work, static_cast<uint8_t>(protocol::MessageType::AssignBatch));
  m.on_sent(BrokerSocket::Client, static_cast<uint8_t>(protocol::MessageType::Reply));
  m.on_commit(std::chrono::microseconds(1500));
  std::map<std::string, uint64_t> counters;
  m.export_to(counters);
  EXPECT_EQ(counters.at("client.received.SUBMIT"), 2u);
  EXPECT_EQ(counters.at("work.received.HELLO"), 1u);
  EXPECT_EQ(counters.at("events.received.UNKNOWN"), 2u);
  EXPECT_EQ(counters.count("work.received.CREDIT"), 0u) << "types never seen are not listed";
  EXPECT_EQ(counters.at("work.sent.ASSIGN_BATCH"), 1u);
  EXPECT_EQ(counters.at("client.sent.REPLY"), 1u);
  EXPECT_EQ(counters.count("work.sent.ASSIGN"), 0u);
  auto commits = LatencyHistogram::import_from(protocol::kStoreCommitLatency, counters);
  ASSERT_TRUE(commits);
  EXPECT_EQ(commits->count(), 1u);
  EXPECT_EQ(commits->sum_us(), 1500u);
  auto scheduling = LatencyHistogram::import_from(protocol::kSchedulingLatency, counters);
  ASSERT_TRUE(scheduling) << "exported even when empty, so the buckets are always there";
  EXPECT_EQ(scheduling->count(), 0u);
}

}  // namespace
}  // namespace cube::broker
