#include "broker/etcd_replay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "broker/etcd_values.h"
#include "protocol/codec.h"
#include "tests/unit/broker/etcd_test_tasks.h"

namespace cube::broker {
namespace {

const EtcdLayout kLayout("/c");

using testing::etcd_event;
using testing::etcd_task;

EtcdKeyValue kv(std::string key, std::string value) {
  EtcdKeyValue out;
  out.key = std::move(key);
  out.value = std::move(value);
  return out;
}

// A store's life as the keys a leader writes: log records 1..4, then a fold of 1..3 (its puts
// and its deletion), then log record 5.
struct Life {
  std::vector<EtcdKeyValue> log;  // records 1..5
  FoldPlan fold;                  // of 1..3
};

Life a_life() {
  Life life;
  auto commit = [&](std::vector<Task> tasks, std::vector<TaskEventRecord> events) {
    auto txns = build_log_txns(kLayout, tasks, events, life.log.size() + 1, {});
    EXPECT_EQ(txns.size(), 1u);
    life.log.push_back(kv(txns[0].success[0].key, txns[0].success[0].value));
  };
  commit({etcd_task("a", TaskState::Pending), etcd_task("b", TaskState::Pending)},
         {etcd_event("a", TaskState::Pending), etcd_event("b", TaskState::Pending)});
  commit({etcd_task("a", TaskState::Running)}, {etcd_event("a", TaskState::Running)});
  commit({etcd_task("b", TaskState::Running)}, {etcd_event("b", TaskState::Running)});
  commit({etcd_task("a", TaskState::Completed)}, {etcd_event("a", TaskState::Completed)});
  commit({etcd_task("c", TaskState::Pending)}, {etcd_event("c", TaskState::Pending)});
  std::vector<LogKeyValue> folded;
  for (uint64_t seq = 1; seq <= 3; ++seq)
    folded.push_back({seq, life.log[seq - 1].value});
  auto plan = plan_fold(kLayout, folded, EtcdTxnLimits{});
  EXPECT_TRUE(plan.is_ok());
  life.fold = std::move(*plan);
  return life;
}

std::vector<EtcdKeyValue> fold_puts(const FoldPlan& fold) {
  std::vector<EtcdKeyValue> out;
  for (const auto& txn : fold.puts) {
    for (const auto& op : txn.success)
      out.push_back(kv(op.key, op.value));
  }
  return out;
}

std::map<std::string, TaskState> states(EtcdReplay& replay) {
  std::map<std::string, TaskState> out;
  for (const auto& t : replay.take_tasks())
    out[t.id] = t.state;
  return out;
}

std::vector<std::pair<std::string, TaskState>> history(EtcdReplay& replay) {
  std::vector<std::pair<std::string, TaskState>> out;
  for (const auto& [id, e] : replay.take_events())
    out.emplace_back(id, e.state);
  return out;
}

const std::map<std::string, TaskState> kFinalStates = {
    {"a", TaskState::Completed}, {"b", TaskState::Running}, {"c", TaskState::Pending}};
const std::vector<std::pair<std::string, TaskState>> kFinalHistory = {
    {"a", TaskState::Pending}, {"b", TaskState::Pending},   {"a", TaskState::Running},
    {"b", TaskState::Running}, {"a", TaskState::Completed}, {"c", TaskState::Pending}};

TEST(EtcdReplay, ReplaysTheLogInOrder) {
  Life life = a_life();
  EtcdReplay replay(kLayout);
  for (const auto& record : life.log)
    ASSERT_TRUE(replay.put(record).is_ok());
  EXPECT_EQ(replay.newest_seq(), 5u);
  EXPECT_EQ(replay.task_count(), 3u);
  EXPECT_EQ(replay.event_count(), 6u);
  EXPECT_EQ(history(replay), kFinalHistory);
  EXPECT_EQ(states(replay), kFinalStates);
}

TEST(EtcdReplay, AFinishedFoldReadsTheSameAsTheLog) {
  // What a full read finds after the fold: its task keys and chunk, records 4 and 5.
  Life life = a_life();
  EtcdReplay replay(kLayout);
  for (const auto& put : fold_puts(life.fold))
    ASSERT_TRUE(replay.put(put).is_ok());
  ASSERT_TRUE(replay.put(life.log[3]).is_ok());
  ASSERT_TRUE(replay.put(life.log[4]).is_ok());
  EXPECT_EQ(history(replay), kFinalHistory);
  EXPECT_EQ(states(replay), kFinalStates);
}

TEST(EtcdReplay, AFoldStoppedAnywhereLosesNothingAndMakesNoTaskGoBack) {
  // The fold's puts landed up to some point, its deletion did not: the log is all there, and
  // the keys present in any order (a full read sees log keys before task keys; a watch sees them
  // as written).
  Life life = a_life();
  auto puts = fold_puts(life.fold);
  std::mt19937 random(7);
  for (size_t landed = 0; landed <= puts.size(); ++landed) {
    std::vector<EtcdKeyValue> keys(life.log.begin(), life.log.end());
    keys.insert(keys.end(), puts.begin(), puts.begin() + landed);
    for (int shuffle = 0; shuffle < 10; ++shuffle) {
      std::shuffle(keys.begin(), keys.end(), random);
      EtcdReplay replay(kLayout);
      for (const auto& key : keys)
        ASSERT_TRUE(replay.put(key).is_ok());
      EXPECT_EQ(history(replay), kFinalHistory) << landed;
      EXPECT_EQ(states(replay), kFinalStates) << landed;
    }
  }
}

TEST(EtcdReplay, ARecordOlderThanATaskKeyIsSkipped) {
  EtcdReplay replay(kLayout);
  Task done = etcd_task("a", TaskState::Completed);
  ASSERT_TRUE(
      replay
          .put(kv(kLayout.task_key("a"), encode_task_value(9, protocol::encode_task_compact(done))))
          .is_ok());
  auto older =
      build_log_txns(kLayout, std::vector<Task>{etcd_task("a", TaskState::Pending)}, {}, 3, {});
  ASSERT_TRUE(replay.put(kv(older[0].success[0].key, older[0].success[0].value)).is_ok());
  EXPECT_EQ(states(replay), (std::map<std::string, TaskState>{{"a", TaskState::Completed}}));
  // A newer one wins over the key.
  auto newer =
      build_log_txns(kLayout, std::vector<Task>{etcd_task("a", TaskState::Failed)}, {}, 10, {});
  ASSERT_TRUE(
      replay
          .put(kv(kLayout.task_key("a"), encode_task_value(9, protocol::encode_task_compact(done))))
          .is_ok());
  ASSERT_TRUE(replay.put(kv(newer[0].success[0].key, newer[0].success[0].value)).is_ok());
  EXPECT_EQ(states(replay), (std::map<std::string, TaskState>{{"a", TaskState::Failed}}));
}

TEST(EtcdReplay, ADoneChunkEntryIsTheTaskUnlessSomethingNewerIsHeld) {
  EtcdReplay replay(kLayout);
  DoneChunkWriter done;
  done.add_task(5, protocol::encode_task_compact(etcd_task("a", TaskState::Completed)));
  done.add_task(5, protocol::encode_task_compact(etcd_task("b", TaskState::Failed)));
  // b was restarted after the fold's window (a newer record); a has an older key left.
  auto restarted =
      build_log_txns(kLayout, std::vector<Task>{etcd_task("b", TaskState::Pending)}, {}, 9, {});
  ASSERT_TRUE(replay.put(kv(restarted[0].success[0].key, restarted[0].success[0].value)).is_ok());
  ASSERT_TRUE(replay.put(kv(kLayout.done_key(6, 0), done.take())).is_ok());
  ASSERT_TRUE(replay
                  .put(kv(kLayout.task_key("a"),
                          encode_task_value(2, protocol::encode_task_compact(
                                                   etcd_task("a", TaskState::Running)))))
                  .is_ok());
  EXPECT_EQ(states(replay), (std::map<std::string, TaskState>{{"a", TaskState::Completed},
                                                              {"b", TaskState::Pending}}));
}

TEST(EtcdReplay, DeletionsOfFoldedRecordsChangeNothingATaskKeysDropsTheTask) {
  Life life = a_life();
  EtcdReplay replay(kLayout);
  for (const auto& record : life.log)
    ASSERT_TRUE(replay.put(record).is_ok());
  for (const auto& record : life.log)
    replay.remove(record.key);
  replay.remove(kLayout.history_key(1));
  EXPECT_EQ(replay.task_count(), 3u);
  EXPECT_EQ(replay.event_count(), 6u);
  replay.remove(kLayout.task_key("b"));
  EXPECT_EQ(replay.task_count(), 2u);
}

TEST(EtcdReplay, OtherKeysAreIgnoredAndBadValuesNamed) {
  EtcdReplay replay(kLayout);
  EXPECT_TRUE(replay.put(kv("/c/version", "2")).is_ok());
  EXPECT_TRUE(replay.put(kv("/c/leader", "{}")).is_ok());
  EXPECT_TRUE(replay.put(kv("/c/folded", "12")).is_ok());
  EXPECT_EQ(replay.task_count(), 0u);
  for (const auto& bad : {kv("/c/log/00000000000000000001", "junk"), kv("/c/log/1", ""),
                          kv("/c/tasks/a", ""), kv("/c/history/00000000000000000001", "junk")}) {
    Status s = replay.put(bad);
    ASSERT_FALSE(s.is_ok()) << bad.key;
    EXPECT_NE(s.message().find(bad.key), std::string::npos) << s.message();
  }
  // A task key holding another task.
  Status s = replay.put(
      kv(kLayout.task_key("x"),
         encode_task_value(1, protocol::encode_task_compact(etcd_task("y", TaskState::Pending)))));
  EXPECT_FALSE(s.is_ok());
}

}  // namespace
}  // namespace cube::broker
