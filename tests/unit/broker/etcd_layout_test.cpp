#include "broker/etcd_layout.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "protocol/codec.h"

namespace cube::broker {
namespace {

Task task(std::string id) {
  Task t;
  t.id = std::move(id);
  t.name = "n-" + t.id;
  t.image = "busybox";
  return t;
}

TaskEventRecord event(std::string id, TaskState state) {
  TaskEvent e;
  e.state = state;
  e.timestamp_ms = 1700000000000;
  return {std::move(id), e};
}

TEST(EtcdLayout, KeysLiveUnderThePrefix) {
  EtcdLayout layout("/cube");
  EXPECT_EQ(layout.root(), "/cube/");
  EXPECT_EQ(layout.version_key(), "/cube/version");
  EXPECT_EQ(layout.task_key("0190-ab"), "/cube/tasks/0190-ab");
  EXPECT_EQ(layout.event_key(42, "0190-ab"), "/cube/events/00000000000000000042/0190-ab");
  EXPECT_EQ(layout.event_key(UINT64_MAX, "t"), "/cube/events/18446744073709551615/t");
}

TEST(EtcdLayout, EventKeysSortInAppendOrderAndParseBack) {
  EtcdLayout layout("/a/b");
  std::set<std::string> keys;
  for (uint64_t seq : {1ull, 9ull, 10ull, 99ull, 100ull, 123456789ull})
    keys.insert(layout.event_key(seq, "t" + std::to_string(seq % 7)));
  uint64_t previous = 0;
  for (const auto& key : keys) {  // std::set orders bytewise, as etcd does
    auto parsed = layout.parse_event_key(key);
    ASSERT_TRUE(parsed.is_ok()) << key;
    EXPECT_GT(parsed->seq, previous);
    EXPECT_EQ(parsed->task_id, "t" + std::to_string(parsed->seq % 7));
    previous = parsed->seq;
  }
  // A task id may hold '/'.
  EXPECT_EQ(layout.parse_event_key(layout.event_key(3, "x/y"))->task_id, "x/y");
  for (std::string bad :
       {"/a/b/events/12/t", "/a/b/tasks/t", "/a/b/events/00000000000000000001/",
        "/a/b/events/0000000000000000000x/t", "/other/events/00000000000000000001/t"}) {
    auto parsed = layout.parse_event_key(bad);
    ASSERT_FALSE(parsed.is_ok()) << bad;
    EXPECT_NE(parsed.status().message().find(bad), std::string::npos);
  }
  EXPECT_EQ(*layout.parse_task_key("/a/b/tasks/t1"), "t1");
  EXPECT_FALSE(layout.parse_task_key("/a/b/tasks/").is_ok());
}

TEST(EtcdLayout, AnEmptyBatchIsNoTxn) {
  EXPECT_TRUE(build_commit_txns(EtcdLayout("/c"), {}, {}, 1, {}).empty());
}

TEST(EtcdLayout, ASmallBatchIsOneTxnWithEachTaskBesideItsHistory) {
  EtcdLayout layout("/c");
  std::vector<Task> upserts = {task("a"), task("b")};
  std::vector<TaskEventRecord> events = {
      event("a", TaskState::Pending), event("b", TaskState::Pending),
      event("a", TaskState::Scheduled), event("gone", TaskState::Failed)};
  auto txns = build_commit_txns(layout, upserts, events, 7, {});
  ASSERT_EQ(txns.size(), 1u);
  EXPECT_TRUE(txns[0].compares.empty());
  std::vector<std::string> keys;
  for (const auto& op : txns[0].success) {
    EXPECT_EQ(op.kind, EtcdOp::Kind::Put);
    keys.push_back(op.key);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"/c/tasks/a", "/c/events/00000000000000000007/a",
                                            "/c/events/00000000000000000009/a", "/c/tasks/b",
                                            "/c/events/00000000000000000008/b",
                                            "/c/events/00000000000000000010/gone"}));
  Task decoded;
  ASSERT_TRUE(protocol::decode_task(txns[0].success[0].value, decoded).is_ok());
  EXPECT_EQ(decoded, upserts[0]);
  TaskEvent decoded_event;
  ASSERT_TRUE(protocol::decode_task_event(txns[0].success[2].value, decoded_event).is_ok());
  EXPECT_EQ(decoded_event, events[2].second);
}

TEST(EtcdLayout, ABigBatchIsSplitIntoTxnsOfAtMost128OpsAndKeepsEveryWrite) {
  EtcdLayout layout("/c");
  std::vector<Task> upserts;
  std::vector<TaskEventRecord> events;
  for (int i = 0; i < 150; ++i) {
    upserts.push_back(task("t" + std::to_string(i)));
    events.push_back(event("t" + std::to_string(i), TaskState::Pending));
  }
  auto txns = build_commit_txns(layout, upserts, events, 1, EtcdTxnLimits{});
  ASSERT_EQ(txns.size(), 3u);  // 300 puts: 128 + 128 + 44 (pairs never split)
  std::map<std::string, size_t> txn_of;
  for (size_t i = 0; i < txns.size(); ++i) {
    EXPECT_LE(txns[i].success.size(), 128u);
    for (const auto& op : txns[i].success)
      EXPECT_TRUE(txn_of.emplace(op.key, i).second) << "written twice: " << op.key;
  }
  EXPECT_EQ(txn_of.size(), 300u);
  for (int i = 0; i < 150; ++i) {
    std::string id = "t" + std::to_string(i);
    EXPECT_EQ(txn_of.at("/c/tasks/" + id), txn_of.at(layout.event_key(i + 1, id))) << id;
  }
}

TEST(EtcdLayout, ATaskWithMoreHistoryThanATxnHoldsIsSplitToo) {
  EtcdLayout layout("/c");
  std::vector<Task> upserts = {task("a")};
  std::vector<TaskEventRecord> events(10, event("a", TaskState::Running));
  auto txns = build_commit_txns(layout, upserts, events, 1,
                                EtcdTxnLimits{.max_ops = 4, .max_payload_bytes = 1 << 20});
  ASSERT_EQ(txns.size(), 3u);  // 11 puts
  EXPECT_EQ(txns[0].success.size(), 4u);
  EXPECT_EQ(txns[2].success.size(), 3u);
}

TEST(EtcdLayout, TxnsStayUnderTheByteBudget) {
  EtcdLayout layout("/c");
  std::vector<Task> upserts;
  for (int i = 0; i < 10; ++i) {
    upserts.push_back(task("t" + std::to_string(i)));
    upserts.back().env.push_back("BIG=" + std::string(3000, 'x'));
  }
  auto txns = build_commit_txns(layout, upserts, {}, 1,
                                EtcdTxnLimits{.max_ops = 128, .max_payload_bytes = 10000});
  EXPECT_EQ(txns.size(), 4u);  // 3 tasks of ~3 KB per txn
  for (const auto& txn : txns) {
    size_t bytes = 0;
    for (const auto& op : txn.success)
      bytes += op.payload_bytes();
    EXPECT_LE(bytes, 10000u);
  }
}

TEST(EtcdLayout, EveryTxnCarriesTheGuardCompares) {
  EtcdLayout layout("/c");
  std::vector<Task> upserts;
  for (int i = 0; i < 200; ++i)
    upserts.push_back(task("t" + std::to_string(i)));
  std::vector<EtcdCompare> guard = {EtcdCompare::create_revision_is("/c/leader/1", 42)};
  auto txns = build_commit_txns(layout, upserts, {}, 1, EtcdTxnLimits{}, guard);
  ASSERT_EQ(txns.size(), 2u);
  for (const auto& txn : txns)
    EXPECT_EQ(txn.compares, guard);
}

TEST(EtcdLayout, TheSameBatchAndFirstSeqGiveTheSameWrites) {
  EtcdLayout layout("/c");
  std::vector<Task> upserts = {task("a")};
  std::vector<TaskEventRecord> events = {event("a", TaskState::Pending)};
  auto first = build_commit_txns(layout, upserts, events, 5, {});
  auto again = build_commit_txns(layout, upserts, events, 5, {});
  ASSERT_EQ(first.size(), again.size());
  EXPECT_EQ(first[0].success, again[0].success);
}

}  // namespace
}  // namespace cube::broker
