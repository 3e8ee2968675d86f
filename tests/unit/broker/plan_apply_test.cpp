#include "broker/plan_apply.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "broker_fixture.h"

namespace cube::broker {
namespace {

using ::testing::HasSubstr;
using PlanApplyTest = testing::BrokerFixture;

TEST_F(PlanApplyTest, CreditIsRespectedWithinOneBatch) {
  for (int i = 0; i < 10; ++i)
    submit("t" + std::to_string(i));
  AgentRecord& a = welcome("a1", 3);
  auto result = schedule_pass();
  EXPECT_EQ(result.placed, 3u);
  EXPECT_EQ(result.unplaced, 7u);
  auto sent = assigns();
  ASSERT_EQ(sent.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    std::string id = "t" + std::to_string(i);  // first come, first served
    EXPECT_EQ(sent[i].first, "a1");
    EXPECT_EQ(sent[i].second.task.id, id);
    EXPECT_EQ(sent[i].second.task.attempt, 1u);
    EXPECT_EQ(sent[i].second.task.state, TaskState::Scheduled);
    EXPECT_EQ(task(id).state, TaskState::Scheduled);
    EXPECT_EQ(task(id).node_id, "a1");
    EXPECT_EQ(task(id).node, "n-a1");
    ASSERT_TRUE(a.unanswered.contains(id));
    EXPECT_EQ(a.unanswered.at(id).deadline, clock_.now() + kAssignTimeout);
  }
  EXPECT_EQ(a.credit(), 0u);
  for (int i = 3; i < 10; ++i) {
    std::string id = "t" + std::to_string(i);
    EXPECT_EQ(task(id).state, TaskState::Pending);
    EXPECT_THAT(task(id).reason, HasSubstr("free slot"));
    EXPECT_EQ(history(id).size(), 1u);  // the reason is not a state change
  }
  // Nothing more while the credit is spent, however often the pass runs.
  out_.clear();
  EXPECT_EQ(schedule_pass().placed, 0u);
  EXPECT_EQ(schedule_pass().placed, 0u);
  EXPECT_TRUE(assigns().empty());
  EXPECT_EQ(history("t5").size(), 1u);
}

TEST_F(PlanApplyTest, NeverMoreAssignsThanEachAgentsCredit) {
  for (int i = 0; i < 10; ++i)
    submit("t" + std::to_string(i));
  welcome("a1", 2);
  welcome("a2", 1);
  welcome("a3", 0);
  schedule_pass();
  std::map<std::string, int> per_agent;
  for (const auto& [agent, assign] : assigns())
    ++per_agent[agent];
  EXPECT_EQ(per_agent, (std::map<std::string, int>{{"a1", 2}, {"a2", 1}}));
  EXPECT_EQ(tasks_.counts()[static_cast<int>(TaskState::Scheduled)], 3u);
}

TEST_F(PlanApplyTest, SuspectAndLostAgentsGetNothing) {
  submit("t1");
  welcome("a1", 5);
  clock_.advance(Millis(3000));  // 3 missed beats: suspect
  EXPECT_EQ(schedule_pass().placed, 0u);
  EXPECT_FALSE(task("t1").reason.empty());
  liveness_.on_traffic("a1", clock_.now());
  EXPECT_EQ(schedule_pass().placed, 1u);
}

TEST_F(PlanApplyTest, NoNodeLeavesTasksPendingWithTheReason) {
  submit("t1");
  auto result = schedule_pass();
  EXPECT_EQ(result.placed, 0u);
  EXPECT_EQ(task("t1").state, TaskState::Pending);
  EXPECT_THAT(task("t1").reason, HasSubstr("no node"));
}

TEST_F(PlanApplyTest, AllocatedResourcesCountTasksAlreadyOnTheNode) {
  protocol::Capacity cap;
  cap.memory_bytes = 1024ll << 20;
  cap.slots = 4;
  welcome("a1", 4, cap);
  submit("big", 768ll << 20);
  ASSERT_EQ(schedule_pass().placed, 1u);
  submit("second", 512ll << 20);
  auto result = schedule_pass();
  EXPECT_EQ(result.placed, 0u);
  EXPECT_EQ(task("second").state, TaskState::Pending);
  EXPECT_THAT(task("second").reason, HasSubstr("512 MiB"));
}

TEST_F(PlanApplyTest, TakenBackTasksGoFirstAndWaitScheduledWithAReason) {
  submit("old");
  submit("new");
  AgentRecord& a = welcome("a1", 1);
  ASSERT_EQ(schedule_pass().placed, 1u);
  ASSERT_EQ(task("old").attempt, 1u);
  // The assignment times out: the task is taken back (Scheduled, no node).
  clock_.advance(kAssignTimeout);
  liveness_.on_traffic("a1", clock_.now());
  for (const auto& e : agents_.take_expired(clock_.now()))
    lifecycle_.on_assignment_expired(e, clock_.wall(), out_);
  EXPECT_EQ(task("old").state, TaskState::Scheduled);
  EXPECT_EQ(task("old").node_id, "");
  agents_.on_credit(a, 0);
  out_.clear();
  schedule_pass();
  EXPECT_TRUE(assigns().empty());
  EXPECT_THAT(task("new").reason, HasSubstr("free slot"));
  EXPECT_EQ(task("old").reason, "waiting for a node: " + task("new").reason);
  // Credit again: the taken-back task is placed before the older Pending one, with attempt 2.
  agents_.on_credit(a, 1);
  schedule_pass();
  auto sent = assigns();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second.task.id, "old");
  EXPECT_EQ(sent[0].second.task.attempt, 2u);
  EXPECT_EQ(task("old").node_id, "a1");
}

}  // namespace
}  // namespace cube::broker
