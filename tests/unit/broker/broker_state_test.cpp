// BrokerState::queue_commands: how the commands the lifecycle and the scheduling pass decided
// become messages in the outbox (what leaves, to whom, in which order). No socket is bound: the
// outbox is read directly.
#include "broker/broker_state.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/codec.h"

namespace cube::broker {
namespace {

using protocol::MessageType;

struct Queued {
  std::string routing_id;
  MessageType type;
  std::string body;
};

class QueueCommandsTest : public ::testing::Test {
 protected:
  // Registers an agent reachable at "route-<id>", announcing batches or not.
  void welcome(const std::string& id, bool batches) {
    protocol::Hello hello;
    hello.agent_id = id;
    if (batches)
      hello.features = {"other-feature", std::string(protocol::kFeatureBatches)};
    auto registered = state_.agents.on_hello(hello, "route-" + id, "session-" + id, 0);
    ASSERT_TRUE(registered.is_ok());
    EXPECT_EQ(registered->agent->announced_batches, batches);
  }

  static protocol::Assign assign(const std::string& task_id) {
    protocol::Assign a;
    a.task.id = task_id;
    a.task.attempt = 1;
    return a;
  }

  // Everything queue_commands() put in the outbox, as it would be sent.
  std::vector<Queued> sent() {
    std::vector<Queued> out;
    state_.outbox.settle();
    state_.outbox.flush([&](const OutboxMessage& m) {
      out.push_back({m.routing.front(), m.type, m.body});
    });
    return out;
  }

  template <typename M>
  static M decoded(const Queued& queued) {
    EXPECT_EQ(queued.type, protocol::MessageTraits<M>::kType);
    auto m = protocol::decode_as<M>(queued.body);
    EXPECT_TRUE(m.is_ok()) << m.status().to_string();
    return m.is_ok() ? *m : M{};
  }

  static std::vector<std::string> ids(const protocol::AssignBatch& batch) {
    std::vector<std::string> out;
    for (const auto& t : batch.tasks)
      out.push_back(t.id);
    return out;
  }

  BrokerOptions options_;
  ManualClock clock_;
  zmq::context_t context_;
  BrokerState state_{options_, clock_, context_};
};

TEST_F(QueueCommandsTest, EachAgentsAssignsLeaveTogetherAndKeepTheirPlaceBeforeItsOtherCommands) {
  welcome("a", /*batches=*/true);
  welcome("b", /*batches=*/false);
  state_.commands = {
      {"a", assign("t1")},    {"b", assign("t2")},
      {"a", assign("t3")},    {"a", protocol::Stop{"old", 2, 1000, "taken back"}},
      {"a", assign("t4")},    {"b", protocol::Sync{"gap"}},
      {"gone", assign("t5")},  // no such agent: counted, nothing sent
      {"b", assign("t6")},    {"a", assign("t7")},
  };
  state_.queue_commands();
  EXPECT_TRUE(state_.commands.empty());
  auto out = sent();
  ASSERT_EQ(out.size(), 6u);
  // Agent a (batches): t1 and t3 as one batch before the STOP, then t4 and t7 after it.
  EXPECT_EQ(out[0].routing_id, "route-a");
  EXPECT_EQ(ids(decoded<protocol::AssignBatch>(out[0])), (std::vector<std::string>{"t1", "t3"}));
  EXPECT_EQ(out[1].routing_id, "route-a");
  EXPECT_EQ(decoded<protocol::Stop>(out[1]).task_id, "old");
  // Agent b (no batches): single ASSIGNs, t2 before its SYNC and t6 after it.
  EXPECT_EQ(out[2].routing_id, "route-b");
  EXPECT_EQ(decoded<protocol::Assign>(out[2]).task.id, "t2");
  EXPECT_EQ(out[3].routing_id, "route-b");
  EXPECT_EQ(decoded<protocol::Sync>(out[3]).reason, "gap");
  EXPECT_EQ(out[4].routing_id, "route-a");
  EXPECT_EQ(ids(decoded<protocol::AssignBatch>(out[4])), (std::vector<std::string>{"t4", "t7"}));
  EXPECT_EQ(out[5].routing_id, "route-b");
  EXPECT_EQ(decoded<protocol::Assign>(out[5]).task.id, "t6");
  EXPECT_EQ(state_.counters["work.no_route"], 1u);
}

TEST_F(QueueCommandsTest, ALoneAssignStaysAPlainAssign) {
  welcome("a", /*batches=*/true);
  state_.commands = {{"a", assign("t1")}};
  state_.queue_commands();
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(decoded<protocol::Assign>(out[0]).task.id, "t1");
}

}  // namespace
}  // namespace cube::broker
