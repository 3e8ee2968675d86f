// /metrics rendering: the output parses as Prometheus text (strict line syntax, histogram
// invariants) and carries the broker's numbers under the documented names.
#include "gateway/prometheus_text.h"

#include <gtest/gtest.h>

#include <chrono>

#include "protocol/latency_histogram.h"
#include "tests/support/prometheus_text_parser.h"

namespace cube::gateway {
namespace {

using std::chrono::microseconds;

protocol::BrokerStatus sample_status() {
  protocol::BrokerStatus s;
  s.version = "0.1.0";
  s.epoch = "e\"pi\\ch\n";  // label values need escaping
  s.started_ms = 1700000000123;
  s.tasks_by_state = {
      {"Pending", 4}, {"Scheduled", 0}, {"Running", 2}, {"Completed", 7}, {"Failed", 1}};
  s.counters = {
      {"client.submits", 14},
      {"client.submit_duplicates", 2},
      {"client.stops", 3},
      {"tasks.placed", 12},
      {"agents.lost", 1},
      {"store.commits", 20},
      {"store.commit_failed", 1},
      {"client.received.SUBMIT", 16},
      {"work.received.HELLO", 2},
      {"events.received.AGENT_HEARTBEAT", 40},
      {"work.sent.ASSIGN_BATCH", 7},
      {"client.sent.REPLY", 30},
      {"client.malformed.SUBMIT", 2},
      {"work.malformed.CREDIT", 1},
      {"events.bad_envelope", 5},
      {"zap.refused.agents", 6},
      {"zap.refused.clients", 9},
  };
  protocol::LatencyHistogram scheduling;
  scheduling.observe(microseconds(40));
  scheduling.observe(microseconds(700));
  scheduling.observe(microseconds(700));
  scheduling.observe(microseconds(20'000'000));
  scheduling.export_to(protocol::kSchedulingLatency, s.counters);
  protocol::LatencyHistogram commits;
  commits.observe(microseconds(3000));
  commits.export_to(protocol::kStoreCommitLatency, s.counters);
  return s;
}

std::vector<protocol::NodeInfo> sample_nodes() {
  std::vector<protocol::NodeInfo> nodes(3);
  nodes[0].state = "ready";
  nodes[0].capacity.slots = 4;
  nodes[0].free_slots = 1;
  nodes[1].state = "ready";
  nodes[1].capacity.slots = 2;
  nodes[1].free_slots = 2;
  nodes[2].state = "lost";
  nodes[2].capacity.slots = 8;
  return nodes;
}

class PrometheusTextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    text_ = render_metrics(sample_status(), sample_nodes());
    std::string error;
    auto parsed = test::parse_prometheus_text(text_, &error);
    ASSERT_TRUE(parsed) << error << "\n" << text_;
    m_ = *parsed;
  }
  std::string text_;
  test::PrometheusText m_;
};

TEST_F(PrometheusTextTest, TasksAndNodesByState) {
  EXPECT_EQ(m_.value("cube_tasks", {{"state", "Pending"}}), 4.0);
  EXPECT_EQ(m_.value("cube_tasks", {{"state", "Completed"}}), 7.0);
  EXPECT_EQ(m_.value("cube_tasks", {{"state", "Failed"}}), 1.0);
  EXPECT_EQ(m_.types.at("cube_tasks"), "gauge");
  EXPECT_EQ(m_.value("cube_nodes", {{"state", "ready"}}), 2.0);
  EXPECT_EQ(m_.value("cube_nodes", {{"state", "suspect"}}), 0.0) << "every state is present";
  EXPECT_EQ(m_.value("cube_nodes", {{"state", "lost"}}), 1.0);
  EXPECT_EQ(m_.value("cube_node_slots", {{"kind", "total"}}), 14.0);
  EXPECT_EQ(m_.value("cube_node_slots", {{"kind", "free"}}), 3.0);
}

TEST_F(PrometheusTextTest, CountersUnderTheirNames) {
  EXPECT_EQ(m_.value("cube_task_submits_total"), 14.0);
  EXPECT_EQ(m_.value("cube_task_submit_duplicates_total"), 2.0);
  EXPECT_EQ(m_.value("cube_task_stops_total"), 3.0);
  EXPECT_EQ(m_.value("cube_task_placements_total"), 12.0);
  EXPECT_EQ(m_.value("cube_nodes_lost_total"), 1.0);
  EXPECT_EQ(m_.value("cube_store_commits_total"), 20.0);
  EXPECT_EQ(m_.value("cube_store_commit_failures_total"), 1.0);
  EXPECT_EQ(m_.types.at("cube_task_submits_total"), "counter");
}

TEST_F(PrometheusTextTest, MessagesAndDecodeErrorsBySocketAndType) {
  EXPECT_EQ(m_.value("cube_messages_received_total", {{"socket", "client"}, {"type", "SUBMIT"}}),
            16.0);
  EXPECT_EQ(m_.value("cube_messages_received_total", {{"socket", "work"}, {"type", "HELLO"}}), 2.0);
  EXPECT_EQ(
      m_.value("cube_messages_received_total", {{"socket", "events"}, {"type", "AGENT_HEARTBEAT"}}),
      40.0);
  EXPECT_EQ(m_.value("cube_messages_sent_total", {{"socket", "work"}, {"type", "ASSIGN_BATCH"}}),
            7.0);
  EXPECT_EQ(m_.value("cube_messages_sent_total", {{"socket", "client"}, {"type", "REPLY"}}), 30.0);
  EXPECT_EQ(m_.value("cube_decode_errors_total", {{"socket", "client"}, {"type", "SUBMIT"}}), 2.0);
  EXPECT_EQ(m_.value("cube_decode_errors_total", {{"socket", "work"}, {"type", "CREDIT"}}), 1.0);
  EXPECT_EQ(m_.value("cube_decode_errors_total", {{"socket", "events"}, {"type", "envelope"}}),
            5.0);
  EXPECT_EQ(m_.value("cube_broker_counter_total", {{"name", "events.bad_envelope"}}), 5.0);
  EXPECT_FALSE(m_.value("cube_broker_counter_total", {{"name", "latency.scheduling.sum_us"}}))
      << "histogram keys are exported as histograms, not as raw counters";
}

TEST_F(PrometheusTextTest, ConnectionsRefusedByTheCurveAllowlistsByDomain) {
  EXPECT_EQ(m_.types.at("cube_connections_refused_total"), "counter");
  EXPECT_EQ(m_.value("cube_connections_refused_total", {{"domain", "agents"}}), 6.0);
  EXPECT_EQ(m_.value("cube_connections_refused_total", {{"domain", "clients"}}), 9.0);
  // A broker without CURVE has no zap.* counters: both series are still there, at 0.
  std::string error;
  auto plain = test::parse_prometheus_text(render_metrics(protocol::BrokerStatus{}, {}), &error);
  ASSERT_TRUE(plain) << error;
  EXPECT_EQ(plain->value("cube_connections_refused_total", {{"domain", "agents"}}), 0.0);
  EXPECT_EQ(plain->value("cube_connections_refused_total", {{"domain", "clients"}}), 0.0);
}

TEST_F(PrometheusTextTest, SchedulingLatencyIsACumulativeHistogramInSeconds) {
  EXPECT_EQ(m_.types.at("cube_scheduling_latency_seconds"), "histogram");
  EXPECT_EQ(m_.value("cube_scheduling_latency_seconds_count"), 4.0);
  EXPECT_NEAR(*m_.value("cube_scheduling_latency_seconds_sum"), 20.00144, 1e-9);
  EXPECT_EQ(m_.value("cube_scheduling_latency_seconds_bucket", {{"le", "5e-05"}}), 1.0);
  EXPECT_EQ(m_.value("cube_scheduling_latency_seconds_bucket", {{"le", "0.0005"}}), 1.0);
  EXPECT_EQ(m_.value("cube_scheduling_latency_seconds_bucket", {{"le", "0.001"}}), 3.0);
  EXPECT_EQ(m_.value("cube_scheduling_latency_seconds_bucket", {{"le", "10"}}), 3.0);
  EXPECT_EQ(m_.value("cube_scheduling_latency_seconds_bucket", {{"le", "+Inf"}}), 4.0);
  EXPECT_EQ(m_.value("cube_store_commit_duration_seconds_count"), 1.0);
  EXPECT_EQ(m_.value("cube_store_commit_duration_seconds_bucket", {{"le", "0.0025"}}), 0.0);
  EXPECT_EQ(m_.value("cube_store_commit_duration_seconds_bucket", {{"le", "0.005"}}), 1.0);
}

TEST_F(PrometheusTextTest, BrokerInfoEscapesLabelValues) {
  EXPECT_EQ(m_.value("cube_broker_info", {{"version", "0.1.0"}, {"epoch", "e\"pi\\ch\n"}}), 1.0);
  EXPECT_DOUBLE_EQ(*m_.value("cube_broker_start_time_seconds"), 1700000000.123);
}

TEST(PrometheusText, AnOlderBrokerWithoutHistogramsStillRendersEmptyOnes) {
  protocol::BrokerStatus s;
  std::string text = render_metrics(s, {});
  std::string error;
  auto parsed = test::parse_prometheus_text(text, &error);
  ASSERT_TRUE(parsed) << error << "\n" << text;
  EXPECT_EQ(parsed->value("cube_scheduling_latency_seconds_count"), 0.0);
  EXPECT_EQ(parsed->value("cube_task_submits_total"), 0.0);
  EXPECT_EQ(parsed->value("cube_tasks", {{"state", "Running"}}), 0.0);
}

// The test parser itself must reject what a scraper rejects, or the checks above prove nothing.
TEST(PrometheusTextParser, RejectsBrokenLines) {
  std::string error;
  for (const char* bad : {
           "metric 1 2 3\n",                      // text after the timestamp
           "1metric 1\n",                         // bad name
           "m{a=\"x} 1\n",                        // unterminated value
           "m{a=\"\\q\"} 1\n",                    // bad escape
           "m{a=\"1\",a=\"2\"} 1\n",              // repeated label
           "m one\n",                             // not a float
           "m 1\n# TYPE m counter\n",             // TYPE after samples
           "# TYPE m counter\n# TYPE m gauge\n",  // two TYPEs
           "# TYPE m frobnicator\n",              // unknown type
           "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
           "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n",
       }) {
    EXPECT_FALSE(test::parse_prometheus_text(bad, &error)) << bad;
  }
  EXPECT_TRUE(test::parse_prometheus_text(
      "# HELP m x\n# TYPE m counter\nm{a=\"b\\\"c\"} 1.5e3 1700000000\n# other\n", &error))
      << error;
}

}  // namespace
}  // namespace cube::gateway
