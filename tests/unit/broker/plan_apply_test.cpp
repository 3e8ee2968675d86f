#include "broker/plan_apply.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
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

// --- services: replicas spread over nodes ---

class ServiceSpreadTest : public testing::BrokerFixture {
 protected:
  void submit_replica(const std::string& id, uint32_t slot, std::string service = "web",
                      int64_t memory_bytes = 0) {
    Task t;
    t.id = id;
    t.memory_bytes = memory_bytes;
    t.image = "busybox";
    t.driver = "docker";
    t.service = service;
    t.slot = slot;
    ASSERT_TRUE(tasks_.add(t, clock_.wall()).is_ok());
    services_.add_task(service, id);
  }
  // Binpack: without the spread, every replica would go to the same (fullest) node.
  PlanApplyResult binpack_pass() {
    PlanApplyInput input;
    input.policy = Policy::Binpack;
    input.assign_timeout = kAssignTimeout;
    input.now = clock_.now();
    input.wall = clock_.wall();
    input.services = &services_;
    return plan_and_apply(tasks_, agents_, liveness_, input, out_);
  }
  std::map<std::string, int> per_node() {
    std::map<std::string, int> count;
    for (const auto& [agent, assign] : assigns())
      ++count[agent];
    return count;
  }
  ServiceTable services_;
};

TEST_F(ServiceSpreadTest, OneReplicaPerNodeWhileThereAreEnoughNodes) {
  for (uint32_t slot = 1; slot <= 3; ++slot)
    submit_replica("w" + std::to_string(slot), slot);
  welcome("a1", 10);
  welcome("a2", 10);
  welcome("a3", 10);
  // All in one pass: each replica sees where the previous ones of this plan went.
  EXPECT_EQ(binpack_pass().placed, 3u);
  EXPECT_EQ(per_node(), (std::map<std::string, int>{{"a1", 1}, {"a2", 1}, {"a3", 1}}));
}

TEST_F(ServiceSpreadTest, MoreReplicasThanNodesSpreadEvenly) {
  for (uint32_t slot = 1; slot <= 5; ++slot)
    submit_replica("w" + std::to_string(slot), slot);
  welcome("a1", 10);
  welcome("a2", 10);
  EXPECT_EQ(binpack_pass().placed, 5u);
  auto count = per_node();
  EXPECT_EQ(count["a1"] + count["a2"], 5);
  EXPECT_LE(std::abs(count["a1"] - count["a2"]), 1);
}

TEST_F(ServiceSpreadTest, ReplicasAlreadyPlacedCountInTheNextPass) {
  submit_replica("w1", 1);
  welcome("a1", 10);
  EXPECT_EQ(binpack_pass().placed, 1u);
  welcome("a2", 10);
  out_.clear();
  submit_replica("w2", 2);
  submit_replica("w3", 3);
  EXPECT_EQ(binpack_pass().placed, 2u);
  // a1 holds w1 already: of the two new replicas one goes to each node, never both to a1.
  EXPECT_EQ(per_node(), (std::map<std::string, int>{{"a1", 1}, {"a2", 1}}));
  EXPECT_EQ(task("w1").node_id, "a1");
}

TEST_F(ServiceSpreadTest, SeveralServicesOfOneReplicaDoNotAllStartOnTheSameNode) {
  welcome("a1", 10);
  welcome("a2", 10);
  welcome("a3", 10);
  for (const char* service : {"s1", "s2", "s3"})
    submit_replica(std::string(service) + ".1", 1, service);
  EXPECT_EQ(binpack_pass().placed, 3u);
  EXPECT_EQ(per_node(), (std::map<std::string, int>{{"a1", 1}, {"a2", 1}, {"a3", 1}}));
}

TEST_F(ServiceSpreadTest, TwoServicesArePlacedInTheSamePass) {
  submit_replica("w1", 1, "web");
  submit_replica("d1", 1, "db");
  welcome("a1", 10);
  EXPECT_EQ(binpack_pass().placed, 2u);
}

TEST_F(ServiceSpreadTest, ASpreadNoNodeCanHonourFallsBackToAnyNodeThatFits) {
  submit_replica("w1", 1, "web", 64 << 20);
  submit_replica("w2", 2, "web", 64 << 20);
  welcome("a1", 10, protocol::Capacity{0, 1 << 30, 0, 10});
  welcome("a2", 10, protocol::Capacity{0, 1 << 20, 0, 10});  // 1 MiB: fits no replica
  // The spread would keep w2 off a1, but a2 cannot hold it: it goes to a1 after all.
  auto pass = binpack_pass();
  EXPECT_EQ(pass.placed, 2u);
  EXPECT_EQ(pass.unplaced, 0u);
  EXPECT_EQ(task("w1").node_id, "a1");
  EXPECT_EQ(task("w2").node_id, "a1");
}

}  // namespace
}  // namespace cube::broker
