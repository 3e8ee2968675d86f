#include "broker/agent_registry.h"

#include <gtest/gtest.h>

#include <set>

#include "protocol/beacon_slices.h"

namespace cube::broker {
namespace {

protocol::Hello hello(std::string id, uint32_t slots = 4) {
  protocol::Hello h;
  h.agent_id = std::move(id);
  h.name = "node-" + h.agent_id;
  h.version = "0.1.0";
  h.drivers = {"docker"};
  h.capacity.slots = slots;
  return h;
}

class AgentRegistryTest : public ::testing::Test {
 protected:
  AgentRecord& welcome(const std::string& id, const std::string& session) {
    auto r = registry_.on_hello(hello(id), "route-" + id, session, 0);
    EXPECT_TRUE(r.is_ok());
    return *r->agent;
  }
  SteadyTime at(int ms) { return SteadyTime(Millis(ms)); }

  AgentRegistry registry_;
};

TEST_F(AgentRegistryTest, HelloWelcomesAndRefusesBadIds) {
  AgentRecord& a = welcome("a1", "s1");
  EXPECT_EQ(a.state, AgentState::Welcomed);
  EXPECT_EQ(a.name, "node-a1");
  EXPECT_EQ(a.routing_id, "route-a1");
  EXPECT_EQ(a.credit(), 0u);  // no CREDIT yet
  EXPECT_TRUE(registry_.on_hello(hello(""), "r", "s", 0).status().is_invalid());
  EXPECT_TRUE(registry_.on_hello(hello(std::string(200, 'x')), "r", "s", 0).status().is_invalid());
  EXPECT_EQ(registry_.agents().size(), 1u);
}

TEST_F(AgentRegistryTest, BeaconSlicesWhileEveryWelcomedAgentTakesThem) {
  auto sliced_hello = [](std::string id) {
    protocol::Hello h = hello(std::move(id));
    h.features = {std::string(protocol::kFeatureBatches),
                  std::string(protocol::kFeatureBeaconSlices)};
    return h;
  };
  EXPECT_EQ(registry_.sessions_without_beacon_slices(), 0u) << "no agent yet";
  ASSERT_TRUE(registry_.on_hello(sliced_hello("new"), "r1", "s1", 0).is_ok());
  EXPECT_EQ(registry_.sessions_without_beacon_slices(), 0u);
  welcome("old", "s2");  // a HELLO without the feature: an agent released before slices
  EXPECT_EQ(registry_.sessions_without_beacon_slices(), 1u);
  // Its session replaced by another of the same kind: still one without.
  welcome("old", "s3");
  EXPECT_EQ(registry_.sessions_without_beacon_slices(), 1u);
  registry_.mark_lost("old");
  EXPECT_EQ(registry_.sessions_without_beacon_slices(), 0u) << "the old agent is gone";
  welcome("old", "s4");
  EXPECT_EQ(registry_.sessions_without_beacon_slices(), 1u) << "and back";
  // Upgraded: the same agent says HELLO with the feature.
  ASSERT_TRUE(registry_.on_hello(sliced_hello("old"), "r2", "s5", 0).is_ok());
  EXPECT_EQ(registry_.sessions_without_beacon_slices(), 0u);
  registry_.mark_lost("old");
  registry_.mark_lost("old");  // twice: no session to end the second time
  EXPECT_EQ(registry_.sessions_without_beacon_slices(), 0u);
}

TEST_F(AgentRegistryTest, TheSessionNumberChangesWithEveryHelloAndLoss) {
  std::set<uint64_t> seen = {0};  // an agent never welcomed has 0
  EXPECT_TRUE(seen.insert(welcome("a1", "s1").session_number).second);
  EXPECT_TRUE(seen.insert(welcome("a2", "s2").session_number).second) << "another agent's";
  EXPECT_TRUE(seen.insert(welcome("a1", "s3").session_number).second) << "a new session";
  registry_.mark_lost("a1");
  EXPECT_TRUE(seen.insert(registry_.find("a1")->session_number).second) << "no session";
}

TEST_F(AgentRegistryTest, MessagesWithoutTheCurrentSessionAreUnauthorized) {
  // Before any HELLO.
  auto none = registry_.authenticate("s1");
  ASSERT_FALSE(none.is_ok());
  EXPECT_EQ(none.status().code(), ErrorCode::Unauthorized);
  EXPECT_EQ(none.status().message(), "no session: send HELLO");
  EXPECT_FALSE(registry_.authenticate("").is_ok());

  welcome("a1", "s1");
  ASSERT_TRUE(registry_.authenticate("s1").is_ok());
  EXPECT_TRUE(registry_.authenticate_event("a1", "s1").is_ok());
  EXPECT_FALSE(registry_.authenticate_event("a2", "s1").is_ok());  // someone else's session

  // A new HELLO replaces the session: the old one is refused from now on.
  auto again = registry_.on_hello(hello("a1"), "route-2", "s2", 0);
  ASSERT_TRUE(again.is_ok());
  EXPECT_TRUE(again->was_welcomed);
  EXPECT_EQ(registry_.authenticate("s1").status().code(), ErrorCode::Unauthorized);
  EXPECT_TRUE(registry_.authenticate("s2").is_ok());

  // Lost: no session at all until the next HELLO.
  registry_.mark_lost("a1");
  EXPECT_EQ(registry_.find("a1")->state, AgentState::Lost);
  EXPECT_EQ(registry_.authenticate("s2").status().code(), ErrorCode::Unauthorized);
  EXPECT_EQ(registry_.find("a1")->credit(), 0u);
  welcome("a1", "s3");
  EXPECT_TRUE(registry_.authenticate("s3").is_ok());
}

TEST_F(AgentRegistryTest, CreditIsFreeSlotsMinusUnansweredAndNeverOverAssigns) {
  AgentRecord& a = welcome("a1", "s1");
  registry_.on_credit(a, 3);
  EXPECT_EQ(a.credit(), 3u);
  ASSERT_TRUE(registry_.add_assignment(a, "t1", 1, at(100)).is_ok());
  ASSERT_TRUE(registry_.add_assignment(a, "t2", 1, at(100)).is_ok());
  ASSERT_TRUE(registry_.add_assignment(a, "t3", 1, at(100)).is_ok());
  EXPECT_EQ(a.credit(), 0u);
  EXPECT_TRUE(registry_.add_assignment(a, "t4", 1, at(100)).is_unavailable());
  EXPECT_EQ(a.unanswered.size(), 3u);

  // ACCEPT takes the slot: credit stays 0 until the agent's next CREDIT.
  EXPECT_TRUE(registry_.on_accept(a, "t1", 1));
  EXPECT_EQ(a.credit(), 0u);
  EXPECT_EQ(a.free_slots, 2u);
  // Duplicate ACCEPT and ACCEPT of another attempt change nothing.
  EXPECT_FALSE(registry_.on_accept(a, "t1", 1));
  EXPECT_FALSE(registry_.on_accept(a, "t2", 7));
  EXPECT_EQ(a.free_slots, 2u);
  // REJECT frees the credit the assignment held.
  EXPECT_TRUE(registry_.on_reject(a, "t2", 1));
  EXPECT_EQ(a.credit(), 1u);
  EXPECT_FALSE(registry_.on_reject(a, "t2", 1));
  // The agent's next CREDIT is absolute: one task runs, one assignment (t3) is unanswered.
  registry_.on_credit(a, 2);
  EXPECT_EQ(a.credit(), 1u);
  // Too small a CREDIT never makes credit negative.
  registry_.on_credit(a, 0);
  EXPECT_EQ(a.credit(), 0u);
}

TEST_F(AgentRegistryTest, AssignmentsToAnAgentWithoutSessionAreRefused) {
  AgentRecord& a = welcome("a1", "s1");
  registry_.on_credit(a, 2);
  registry_.mark_lost("a1");
  EXPECT_EQ(registry_.add_assignment(a, "t1", 1, at(1)).code(), ErrorCode::Unauthorized);
}

TEST_F(AgentRegistryTest, DeadlinesExpireInOrderAndFollowAnswers) {
  AgentRecord& a = welcome("a1", "s1");
  AgentRecord& b = welcome("b1", "s2");
  registry_.on_credit(a, 5);
  registry_.on_credit(b, 5);
  ASSERT_TRUE(registry_.add_assignment(a, "t1", 1, at(300)).is_ok());
  ASSERT_TRUE(registry_.add_assignment(b, "t2", 4, at(100)).is_ok());
  ASSERT_TRUE(registry_.add_assignment(a, "t3", 2, at(200)).is_ok());
  EXPECT_EQ(registry_.next_deadline(), at(100));
  EXPECT_TRUE(registry_.on_accept(b, "t2", 4));
  EXPECT_EQ(registry_.next_deadline(), at(200));
  EXPECT_TRUE(registry_.take_expired(at(199)).empty());
  auto expired = registry_.take_expired(at(1000));
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0].task_id, "t3");
  EXPECT_EQ(expired[0].attempt, 2u);
  EXPECT_EQ(expired[1].task_id, "t1");
  EXPECT_EQ(expired[1].agent_id, "a1");
  EXPECT_TRUE(a.unanswered.empty());
  EXPECT_EQ(registry_.next_deadline(), std::nullopt);
}

TEST_F(AgentRegistryTest, EqualDeadlinesExpireInTheOrderTheyWereSet) {
  AgentRecord& a = welcome("a1", "s1");
  AgentRecord& b = welcome("b1", "s2");
  registry_.on_credit(a, 5);
  registry_.on_credit(b, 5);
  // One scheduling pass: every assignment shares the deadline.
  for (auto [agent, task] : {std::pair{&b, "t9"}, {&a, "t5"}, {&b, "t1"}, {&a, "t7"}})
    ASSERT_TRUE(registry_.add_assignment(*agent, task, 1, at(100)).is_ok());
  ASSERT_TRUE(registry_.add_assignment(a, "t5", 2, at(100)).is_ok());  // replaced: set again
  EXPECT_TRUE(registry_.on_reject(b, "t1", 1));
  auto expired = registry_.take_expired(at(100));
  std::vector<std::string> order;
  for (const auto& e : expired)
    order.push_back(e.agent_id + "/" + e.task_id);
  EXPECT_EQ(order, (std::vector<std::string>{"b1/t9", "a1/t7", "a1/t5"}));
  EXPECT_EQ(expired.back().attempt, 2u);
  EXPECT_EQ(registry_.next_deadline(), std::nullopt);
}

TEST_F(AgentRegistryTest, ADeadlineMovesWhileTheAgentAnswersOlderAssignmentsOnly) {
  AgentRecord& a = welcome("a1", "s1");
  registry_.on_credit(a, 5);
  const Millis window(100);
  ASSERT_TRUE(registry_.add_assignment(a, "t1", 1, at(100), window).is_ok());
  ASSERT_TRUE(registry_.add_assignment(a, "t2", 1, at(100), window).is_ok());
  ASSERT_TRUE(registry_.add_assignment(a, "t3", 1, at(100), window).is_ok());
  // A backlog: by the deadline the agent answered t1 only. t2 and t3 move on, once.
  EXPECT_TRUE(registry_.on_accept(a, "t1", 1));
  EXPECT_TRUE(registry_.take_expired(at(100)).empty());
  EXPECT_EQ(registry_.deadlines_extended(), 2u);
  EXPECT_EQ(registry_.next_deadline(), at(200));
  // It answered t3, sent after t2: t2 was skipped (lost on the way), so t2 expires.
  EXPECT_TRUE(registry_.on_accept(a, "t3", 1));
  auto expired = registry_.take_expired(at(200));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].task_id, "t2");

  // Silence: nothing answered since the deadline was set, so it expires as before.
  ASSERT_TRUE(registry_.add_assignment(a, "t4", 1, at(300), window).is_ok());
  EXPECT_EQ(registry_.take_expired(at(300)).size(), 1u);
  // Without an extension, a backlog does not move the deadline.
  ASSERT_TRUE(registry_.add_assignment(a, "t5", 1, at(400)).is_ok());
  ASSERT_TRUE(registry_.add_assignment(a, "t6", 1, at(400)).is_ok());
  EXPECT_TRUE(registry_.on_accept(a, "t5", 1));
  EXPECT_EQ(registry_.take_expired(at(400)).size(), 1u);
  EXPECT_EQ(registry_.deadlines_extended(), 2u);
}

TEST_F(AgentRegistryTest, NewSessionAndLossDropUnansweredAssignments) {
  AgentRecord& a = welcome("a1", "s1");
  registry_.on_credit(a, 2);
  ASSERT_TRUE(registry_.add_assignment(a, "t1", 1, at(100)).is_ok());
  welcome("a1", "s2");
  EXPECT_TRUE(a.unanswered.empty());
  EXPECT_EQ(registry_.next_deadline(), std::nullopt);
  registry_.on_credit(a, 2);
  ASSERT_TRUE(registry_.add_assignment(a, "t2", 1, at(100)).is_ok());
  auto dropped = registry_.mark_lost("a1");
  EXPECT_EQ(dropped.size(), 1u);
  EXPECT_TRUE(dropped.contains("t2"));
  EXPECT_EQ(registry_.next_deadline(), std::nullopt);
}

TEST_F(AgentRegistryTest, ExpectedAgentsFromTheStoreHaveNoSession) {
  registry_.add_expected("a9", "old-name");
  const AgentRecord* a = registry_.find("a9");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->state, AgentState::Unknown);
  EXPECT_EQ(a->name, "old-name");
  EXPECT_EQ(a->credit(), 0u);
  welcome("a9", "s1");
  EXPECT_EQ(registry_.find("a9")->name, "node-a9");
}

}  // namespace
}  // namespace cube::broker
