// LogsProxy and logs_agent_for: which agent a LOGS goes to, and the requests waiting on agents.
#include "broker/logs_proxy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/broker/broker_fixture.h"

namespace cube::broker {
namespace {

using ::testing::HasSubstr;

std::vector<zmq::message_t> frames(const std::string& peer) {
  std::vector<zmq::message_t> out;
  out.emplace_back(peer.data(), peer.size());
  out.emplace_back();  // the REQ delimiter
  return out;
}

TEST(LogsProxy, KeepsEachRequestUntilItIsTakenOrExpires) {
  ManualClock clock;
  LogsProxy proxy(100, Millis(5000));
  EXPECT_FALSE(proxy.next_deadline().has_value());
  uint64_t a = proxy.add(frames("client-a"), 7, "agent-1", "node-1", "task-1", clock.now());
  clock.advance(Millis(1000));
  uint64_t b = proxy.add(frames("client-b"), 8, "agent-2", "node-2", "task-2", clock.now());
  EXPECT_EQ(a, 100u);
  EXPECT_EQ(b, 101u);
  EXPECT_EQ(proxy.size(), 2u);
  EXPECT_EQ(proxy.next_deadline(), clock.now() + Millis(4000));

  ASSERT_NE(proxy.find(b), nullptr);
  EXPECT_EQ(proxy.find(b)->agent_id, "agent-2");
  LogsProxy::Pending taken = proxy.take(b);
  EXPECT_EQ(taken.request_id, 8u);
  EXPECT_EQ(taken.routing.size(), 2u);
  EXPECT_EQ(taken.routing[0].to_string(), "client-b");
  EXPECT_EQ(proxy.find(b), nullptr) << "an answer is used once";
  EXPECT_EQ(proxy.find(999), nullptr);

  clock.advance(Millis(3999));
  EXPECT_TRUE(proxy.take_expired(clock.now()).empty());
  clock.advance(Millis(1));
  auto expired = proxy.take_expired(clock.now());
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].request_id, 7u);
  EXPECT_EQ(expired[0].agent_name, "node-1");
  EXPECT_EQ(expired[0].task_id, "task-1");
  EXPECT_EQ(proxy.size(), 0u);
  EXPECT_FALSE(proxy.next_deadline().has_value());
}

TEST(LogsProxy, FetchIdsSkipZero) {
  ManualClock clock;
  LogsProxy proxy(UINT64_MAX);
  EXPECT_EQ(proxy.add(frames("c"), 1, "a", "n", "t", clock.now()), UINT64_MAX);
  EXPECT_EQ(proxy.add(frames("c"), 2, "a", "n", "t", clock.now()), 1u)
      << "0 is what a LOGS_DATA without a fetch id decodes to";
}

class LogsAgentForTest : public testing::BrokerFixture {};

TEST_F(LogsAgentForTest, TheTasksNodeServesItsLogsWhileConnected) {
  submit("t1");
  EXPECT_EQ(logs_agent_for(tasks_, agents_, "nope").status().code(), ErrorCode::NotFound);

  auto pending = logs_agent_for(tasks_, agents_, "t1");
  EXPECT_EQ(pending.status().code(), ErrorCode::Unavailable);
  EXPECT_THAT(pending.status().message(), HasSubstr("has not been placed on a node yet"));

  AgentRecord& a1 = welcome("a1", 1);
  schedule_pass();
  ASSERT_EQ(task("t1").node_id, "a1");
  lifecycle_.on_accept(a1, "t1", task("t1").attempt, out_);
  auto agent = logs_agent_for(tasks_, agents_, "t1");
  ASSERT_TRUE(agent.is_ok()) << agent.status().to_string();
  EXPECT_EQ((*agent)->id, "a1");

  // The node is lost: its task fails there, and its logs wait for the node to come back.
  lifecycle_.node_lost("a1", clock_.wall());
  ASSERT_EQ(task("t1").node_id, "a1");
  auto lost = logs_agent_for(tasks_, agents_, "t1");
  EXPECT_EQ(lost.status().code(), ErrorCode::Unavailable);
  EXPECT_THAT(lost.status().message(), HasSubstr("agent n-a1 (a1) is not connected"));
}

}  // namespace
}  // namespace cube::broker
