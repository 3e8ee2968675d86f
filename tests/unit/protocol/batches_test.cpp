#include "protocol/batches.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "protocol/codec.h"

namespace cube::protocol {
namespace {

struct Sent {
  MessageType type;
  std::string body;
};

// What encode_batch sends, in order.
template <typename Batch>
std::vector<Sent> encoded(Batch batch, bool peer_has_batches,
                          size_t max_body_bytes = kMaxBatchBodyBytes) {
  std::vector<Sent> out;
  encode_batch(
      std::move(batch), peer_has_batches,
      [&](MessageType type, std::string body) {
        out.push_back({type, std::move(body)});
      },
      max_body_bytes);
  return out;
}

template <typename M>
M decoded(const Sent& sent) {
  EXPECT_EQ(sent.type, MessageTraits<M>::kType);
  auto message = decode_as<M>(sent.body);
  EXPECT_TRUE(message.is_ok()) << message.status().to_string();
  return message.is_ok() ? *message : M{};
}

Task task_named(const std::string& id, size_t env_bytes = 0) {
  Task t;
  t.id = id;
  t.image = "busybox";
  t.attempt = 1;
  if (env_bytes > 0)
    t.env = {"PAD=" + std::string(env_bytes, 'x')};
  return t;
}

AttemptStatus status_of(const std::string& id, TaskState state) {
  AttemptStatus s;
  s.task_id = id;
  s.attempt = 1;
  s.state = state;
  return s;
}

TEST(EncodeBatch, APeerWithBatchesGetsOneMessage) {
  AssignBatch batch{{task_named("a"), task_named("b"), task_named("c")}};
  auto sent = encoded(batch, true);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(decoded<AssignBatch>(sent[0]), batch);
}

TEST(EncodeBatch, APeerWithoutBatchesGetsEveryItemAsItsSingleMessageInOrder) {
  auto sent = encoded(AssignBatch{{task_named("a"), task_named("b")}}, false);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(decoded<Assign>(sent[0]).task, task_named("a"));
  EXPECT_EQ(decoded<Assign>(sent[1]).task, task_named("b"));

  sent = encoded(AcceptBatch{"s1", {{"a", 1}, {"b", 3}}}, false);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(decoded<Accept>(sent[0]), (Accept{"s1", "a", 1}));
  EXPECT_EQ(decoded<Accept>(sent[1]), (Accept{"s1", "b", 3}));
}

TEST(EncodeBatch, SingleTaskStatesKeepTheirOwnSequenceNumbers) {
  TaskStateBatch batch{"agent",
                       "s1",
                       7,
                       {status_of("a", TaskState::Running), status_of("b", TaskState::Running),
                        status_of("a", TaskState::Completed)}};
  auto sent = encoded(batch, false);
  ASSERT_EQ(sent.size(), 3u);
  for (size_t i = 0; i < sent.size(); ++i) {
    auto event = decoded<TaskStateEvent>(sent[i]);
    EXPECT_EQ(event.seq, 5 + i);
    EXPECT_EQ(event.agent_id, "agent");
    EXPECT_EQ(event.session_id, "s1");
    EXPECT_EQ(event.status, batch.statuses[i]);
  }
}

TEST(EncodeBatch, ABatchOfOneIsItsSingleMessageAndAnEmptyOneSendsNothing) {
  auto sent = encoded(AssignBatch{{task_named("a")}}, true);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(decoded<Assign>(sent[0]).task, task_named("a"));
  sent = encoded(TaskStateBatch{"agent", "s1", 4, {status_of("a", TaskState::Failed)}}, true);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(decoded<TaskStateEvent>(sent[0]).seq, 4u);
  EXPECT_TRUE(encoded(AcceptBatch{"s1", {}}, true).empty());
  EXPECT_TRUE(encoded(AcceptBatch{"s1", {}}, false).empty());
}

TEST(EncodeBatch, ABatchOverTheBudgetIsCutIntoPiecesThatFitInOrder) {
  AssignBatch batch;
  for (int i = 0; i < 10; ++i)
    batch.tasks.push_back(task_named("t" + std::to_string(i), 1000));
  size_t one = encode_body(AssignBatch{{batch.tasks[0]}}).size();
  size_t budget = one * 3;  // at most three tasks a piece
  auto sent = encoded(batch, true, budget);
  std::vector<Task> received;
  for (const auto& piece : sent) {
    EXPECT_LE(piece.body.size(), budget);
    if (piece.type == MessageType::Assign) {
      received.push_back(decoded<Assign>(piece).task);
      continue;
    }
    auto tasks = decoded<AssignBatch>(piece).tasks;
    EXPECT_GE(tasks.size(), 2u);
    received.insert(received.end(), tasks.begin(), tasks.end());
  }
  EXPECT_EQ(received, batch.tasks);
  EXPECT_GE(sent.size(), 4u);
  EXPECT_LE(sent.size(), 5u);  // halving: 10 -> 5 + 5 -> (2 + 3) twice
}

TEST(EncodeBatch, AnItemLargerThanTheBudgetStillGoesAlone) {
  auto sent = encoded(AssignBatch{{task_named("big", 5000), task_named("small")}}, true, 1000);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(decoded<Assign>(sent[0]).task.id, "big");
  EXPECT_EQ(decoded<Assign>(sent[1]).task.id, "small");
}

TEST(EncodeBatch, TaskStatePiecesAreNumberedByTheirOwnLastStatus) {
  TaskStateBatch batch{"agent", "s1", 20, {}};
  for (int i = 0; i < 8; ++i) {
    auto s = status_of("t" + std::to_string(i), TaskState::Failed);
    s.reason = std::string(500, 'r');
    batch.statuses.push_back(s);
  }
  auto sent = encoded(batch, true, 1400);  // two statuses a piece
  uint64_t next = 13;                      // 20 - 8 + 1
  std::vector<AttemptStatus> received;
  for (const auto& piece : sent) {
    if (piece.type == MessageType::TaskStateEvent) {
      auto event = decoded<TaskStateEvent>(piece);
      EXPECT_EQ(event.seq, next);
      ++next;
      received.push_back(event.status);
      continue;
    }
    auto part = decoded<TaskStateBatch>(piece);
    next += part.statuses.size();
    EXPECT_EQ(part.seq, next - 1) << "seq is the number of the piece's last status";
    EXPECT_EQ(part.session_id, "s1");
    received.insert(received.end(), part.statuses.begin(), part.statuses.end());
  }
  EXPECT_EQ(next, 21u);
  EXPECT_EQ(received, batch.statuses);
  EXPECT_GT(sent.size(), 1u);
}

}  // namespace
}  // namespace cube::protocol
