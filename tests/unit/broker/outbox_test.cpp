// The outbox's ordering rule on its own: a message leaves only once the batch that was open when
// it was queued is stored, and messages leave in the order queued.
#include "broker/outbox.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cube::broker {
namespace {

using protocol::MessageType;

std::vector<std::string> flushed(Outbox& outbox) {
  std::vector<std::string> bodies;
  outbox.flush([&](const OutboxMessage& m) { bodies.push_back(m.body); });
  return bodies;
}

TEST(Outbox, AMessageWaitsForTheBatchThatHoldsTheChangesBeforeIt) {
  Outbox outbox;
  outbox.push(OutboxSocket::Work, {"agent"}, MessageType::Assign, "assign-1");
  uint64_t first = outbox.cut();  // the batch with the change assign-1 acts on
  outbox.push(OutboxSocket::Client, {"client"}, MessageType::Reply, "reply-2");
  EXPECT_TRUE(flushed(outbox).empty()) << "sent before its commit was acknowledged";
  uint64_t second = outbox.cut();
  EXPECT_GT(second, first);

  outbox.stored(first);
  EXPECT_EQ(flushed(outbox), std::vector<std::string>{"assign-1"});
  EXPECT_EQ(outbox.size(), 1u);
  outbox.stored(second);
  EXPECT_EQ(flushed(outbox), std::vector<std::string>{"reply-2"});
  EXPECT_TRUE(outbox.empty());
}

TEST(Outbox, SettleSendsWhatReportsStoredStateButNotWhatComesAfter) {
  Outbox outbox;
  outbox.push(OutboxSocket::Client, {"c"}, MessageType::Reply, "duplicate-submit");
  outbox.settle();
  EXPECT_EQ(flushed(outbox), std::vector<std::string>{"duplicate-submit"});
  // A message queued after settle() waits for the next batch again.
  outbox.push(OutboxSocket::Work, {"a"}, MessageType::Stop, "stop");
  EXPECT_TRUE(flushed(outbox).empty());
  outbox.stored(outbox.cut());
  EXPECT_EQ(flushed(outbox), std::vector<std::string>{"stop"});
}

TEST(Outbox, KeepsTheOrderQueuedAndDropsOnRequest) {
  Outbox outbox;
  for (int i = 0; i < 5; ++i) {
    outbox.push(OutboxSocket::Work, {"a"}, MessageType::Assign, std::to_string(i));
    if (i % 2 == 1)
      (void)outbox.cut();
  }
  uint64_t last = outbox.cut();
  outbox.stored(last);
  EXPECT_EQ(flushed(outbox), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  outbox.push(OutboxSocket::Work, {"a"}, MessageType::Assign, "lost");
  EXPECT_EQ(outbox.drop(), 1u);
  outbox.settle();
  EXPECT_TRUE(flushed(outbox).empty());
}

TEST(Outbox, TakesTheHeldClientRepliesAndKeepsTheAgentMessages) {
  Outbox outbox;
  outbox.push(OutboxSocket::Client, {"c1"}, MessageType::Reply, "r1");
  outbox.push(OutboxSocket::Work, {"a"}, MessageType::Assign, "assign");
  outbox.push(OutboxSocket::Client, {"c2"}, MessageType::Reply, "r2");
  uint64_t batch = outbox.cut();
  auto taken = outbox.take_client_replies();
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].body, "r1");
  EXPECT_EQ(taken[1].routing, std::vector<std::string>{"c2"});
  // The ASSIGN still waits for its commit.
  EXPECT_TRUE(flushed(outbox).empty());
  outbox.stored(batch);
  EXPECT_EQ(flushed(outbox), std::vector<std::string>{"assign"});
}

TEST(Outbox, ABatchStoredOutOfOrderIsAProgrammingError) {
  Outbox outbox;
  uint64_t first = outbox.cut();
  uint64_t second = outbox.cut();
  outbox.stored(second);
  EXPECT_DEATH(outbox.stored(first), "in the order they were cut");
}

}  // namespace
}  // namespace cube::broker
