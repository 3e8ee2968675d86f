#include "broker/etcd_layout.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "broker/etcd_values.h"
#include "protocol/codec.h"
#include "tests/unit/broker/etcd_test_tasks.h"

namespace cube::broker {
namespace {

using testing::etcd_event;
using testing::etcd_task;

// The task ids a log record holds, and its history entries' task ids.
std::pair<std::vector<std::string>, std::vector<std::string>> ids_in(const EtcdOp& put) {
  std::string buffer;
  auto record = parse_log_record(put.value, buffer);
  EXPECT_TRUE(record.is_ok()) << record.status().to_string();
  std::pair<std::vector<std::string>, std::vector<std::string>> out;
  if (!record.is_ok())
    return out;
  for (auto blob : record->tasks)
    out.first.emplace_back(protocol::peek_task_id(blob));
  for (auto [id, blob] : record->events)
    out.second.emplace_back(id);
  return out;
}

TEST(EtcdLayout, KeysLiveUnderThePrefix) {
  EtcdLayout layout("/cube");
  EXPECT_EQ(layout.root(), "/cube/");
  EXPECT_EQ(layout.version_key(), "/cube/version");
  EXPECT_EQ(layout.task_key("0190-ab"), "/cube/tasks/0190-ab");
  EXPECT_EQ(layout.log_key(42), "/cube/log/00000000000000000042");
  EXPECT_EQ(layout.log_key(UINT64_MAX), "/cube/log/18446744073709551615");
  EXPECT_EQ(layout.history_key(7), "/cube/history/00000000000000000007");
  EXPECT_EQ(layout.folded_key(), "/cube/folded");
}

TEST(EtcdLayout, LogKeysSortInCommitOrderAndParseBack) {
  EtcdLayout layout("/a/b");
  std::set<std::string> keys;
  for (uint64_t seq : {1ull, 9ull, 10ull, 99ull, 100ull, 123456789ull})
    keys.insert(layout.log_key(seq));
  uint64_t previous = 0;
  for (const auto& key : keys) {  // std::set orders bytewise, as etcd does
    auto parsed = layout.parse_log_key(key);
    ASSERT_TRUE(parsed.is_ok()) << key;
    EXPECT_GT(*parsed, previous);
    previous = *parsed;
  }
  for (std::string bad : {"/a/b/log/12", "/a/b/tasks/t", "/a/b/log/000000000000000000012",
                          "/a/b/log/0000000000000000000x", "/other/log/00000000000000000001"}) {
    auto parsed = layout.parse_log_key(bad);
    ASSERT_FALSE(parsed.is_ok()) << bad;
    EXPECT_NE(parsed.status().message().find(bad), std::string::npos);
  }
  EXPECT_EQ(*layout.parse_task_key("/a/b/tasks/t1"), "t1");
  EXPECT_FALSE(layout.parse_task_key("/a/b/tasks/").is_ok());
}

TEST(EtcdLayout, AnEmptyBatchIsNoTxn) {
  EXPECT_TRUE(build_log_txns(EtcdLayout("/c"), {}, {}, 1, {}).empty());
}

TEST(EtcdLayout, ABatchIsOneLogRecordInOneTxnWhateverTheNumberOfTasks) {
  EtcdLayout layout("/c");
  std::vector<Task> upserts;
  std::vector<TaskEventRecord> events;
  for (int i = 0; i < 500; ++i) {
    upserts.push_back(etcd_task("t" + std::to_string(i)));
    events.push_back(etcd_event("t" + std::to_string(i), TaskState::Pending));
  }
  events.push_back(etcd_event("gone", TaskState::Failed));  // a task the batch does not upsert
  auto txns = build_log_txns(layout, upserts, events, 7, {});
  ASSERT_EQ(txns.size(), 1u);
  ASSERT_EQ(txns[0].success.size(), 1u);
  EXPECT_EQ(txns[0].success[0].key, "/c/log/00000000000000000007");
  auto [tasks, entries] = ids_in(txns[0].success[0]);
  EXPECT_EQ(tasks.size(), 500u);
  ASSERT_EQ(entries.size(), 501u);
  EXPECT_EQ(entries.back(), "gone");
  // The blobs decode to what was given.
  std::string buffer;
  auto record = parse_log_record(txns[0].success[0].value, buffer);
  Task decoded;
  ASSERT_TRUE(protocol::decode_task(record->tasks[3], decoded).is_ok());
  EXPECT_EQ(decoded, upserts[3]);
  TaskEvent decoded_event;
  ASSERT_TRUE(protocol::decode_task_event(record->events[3].second, decoded_event).is_ok());
  EXPECT_EQ(decoded_event, events[3].second);
}

TEST(EtcdLayout, ABatchOverTheRecordLimitIsSplitKeepingEachTaskWithItsHistory) {
  EtcdLayout layout("/c");
  std::vector<Task> upserts;
  std::vector<TaskEventRecord> events;
  for (int i = 0; i < 10; ++i) {
    upserts.push_back(etcd_task("t" + std::to_string(i)));
    upserts.back().env.push_back("BIG=" + std::string(3000, 'x'));
    events.push_back(etcd_event("t" + std::to_string(i), TaskState::Pending));
    events.push_back(etcd_event("t" + std::to_string(i), TaskState::Scheduled));
  }
  EtcdTxnLimits limits;
  limits.max_record_bytes = 10000;
  auto txns = build_log_txns(layout, upserts, events, 1, limits);
  ASSERT_EQ(txns.size(), 4u);  // 3 tasks of ~3 KB per record
  std::vector<std::string> all;
  for (size_t i = 0; i < txns.size(); ++i) {
    ASSERT_EQ(txns[i].success.size(), 1u);
    EXPECT_EQ(txns[i].success[0].key, layout.log_key(1 + i));  // consecutive seqs
    EXPECT_LE(txns[i].success[0].value.size(), 10000u);
    auto [tasks, entries] = ids_in(txns[i].success[0]);
    // Each task's two entries are in its record.
    std::vector<std::string> expected;
    for (const auto& id : tasks) {
      expected.push_back(id);
      expected.push_back(id);
      all.push_back(id);
    }
    EXPECT_EQ(entries, expected);
  }
  EXPECT_EQ(all.size(), 10u);
}

TEST(EtcdLayout, EveryTxnCarriesTheGuardCompares) {
  EtcdLayout layout("/c");
  std::vector<Task> upserts;
  for (int i = 0; i < 200; ++i) {
    upserts.push_back(etcd_task("t" + std::to_string(i)));
    upserts.back().env.push_back("BIG=" + std::string(100, 'x'));
  }
  std::vector<EtcdCompare> guard = {EtcdCompare::create_revision_is("/c/leader", 42)};
  EtcdTxnLimits limits;
  limits.max_record_bytes = 8000;
  auto txns = build_log_txns(layout, upserts, {}, 1, limits, guard);
  ASSERT_GT(txns.size(), 1u);
  for (const auto& txn : txns)
    EXPECT_EQ(txn.compares, guard);
  std::vector<LogKeyValue> records;
  for (size_t i = 0; i < txns.size(); ++i)
    records.push_back({1 + i, txns[i].success[0].value});
  auto fold = plan_fold(layout, records, EtcdTxnLimits{}, guard);
  ASSERT_TRUE(fold.is_ok()) << fold.status().to_string();
  for (const auto& txn : fold->puts)
    EXPECT_EQ(txn.compares, guard);
  EXPECT_EQ(fold->finish.compares, guard);
}

TEST(EtcdLayout, TheSameBatchAndFirstSeqGiveTheSameWrites) {
  EtcdLayout layout("/c");
  std::vector<Task> upserts = {etcd_task("a")};
  std::vector<TaskEventRecord> events = {etcd_event("a", TaskState::Pending)};
  auto first = build_log_txns(layout, upserts, events, 5, {});
  auto again = build_log_txns(layout, upserts, events, 5, {});
  ASSERT_EQ(first.size(), again.size());
  EXPECT_EQ(first[0].success, again[0].success);
}

// Three commits: a and b submitted, a placed, a completed and c submitted.
std::vector<std::string> three_records(const EtcdLayout& layout) {
  Task a = etcd_task("a"), b = etcd_task("b"), c = etcd_task("c");
  std::vector<std::string> values;
  auto add = [&](std::vector<Task> tasks, std::vector<TaskEventRecord> events) {
    auto txns = build_log_txns(layout, tasks, events, values.size() + 1, {});
    EXPECT_EQ(txns.size(), 1u);
    values.push_back(txns[0].success[0].value);
  };
  add({a, b}, {etcd_event("a", TaskState::Pending), etcd_event("b", TaskState::Pending)});
  a.state = TaskState::Scheduled;
  add({a}, {etcd_event("a", TaskState::Scheduled)});
  a.state = TaskState::Completed;
  add({a, c}, {etcd_event("a", TaskState::Completed), etcd_event("c", TaskState::Pending)});
  return values;
}

TEST(EtcdLayout, AFoldPutsEachTaskOnceAtItsNewestRecordThenDeletesTheFoldedLog) {
  EtcdLayout layout("/c");
  auto values = three_records(layout);
  std::vector<LogKeyValue> records = {{4, values[0]}, {5, values[1]}, {6, values[2]}};
  auto fold = plan_fold(layout, records, EtcdTxnLimits{});
  ASSERT_TRUE(fold.is_ok()) << fold.status().to_string();
  EXPECT_EQ(fold->first_seq, 4u);
  EXPECT_EQ(fold->last_seq, 6u);
  EXPECT_EQ(fold->records, 3u);
  EXPECT_EQ(fold->tasks, 2u);       // b and c, still Pending: a key each
  EXPECT_EQ(fold->done_tasks, 1u);  // a, Completed: into a done chunk
  EXPECT_EQ(fold->done_chunks, 1u);
  EXPECT_EQ(fold->history_chunks, 1u);
  ASSERT_EQ(fold->puts.size(), 1u);
  std::map<std::string, std::pair<uint64_t, TaskState>> tasks;
  std::string chunk;
  std::string done_buffer;
  for (const auto& op : fold->puts[0].success) {
    if (op.key.starts_with(layout.history_prefix())) {
      EXPECT_EQ(op.key, layout.history_key(4));
      chunk = op.value;
      continue;
    }
    if (op.key.starts_with(layout.done_prefix())) {
      EXPECT_EQ(op.key, layout.done_key(6, 0));
      EXPECT_EQ(op.key, "/c/done/00000000000000000006/000000");
      auto done = parse_done_chunk(op.value, done_buffer);
      ASSERT_TRUE(done.is_ok()) << done.status().to_string();
      ASSERT_EQ(done->size(), 1u);
      Task decoded;
      ASSERT_TRUE(protocol::decode_task((*done)[0].task, decoded).is_ok());
      EXPECT_TRUE(tasks.emplace(decoded.id, std::pair{(*done)[0].seq, decoded.state}).second);
      continue;
    }
    auto value = parse_task_value(op.value);
    ASSERT_TRUE(value.is_ok());
    Task decoded;
    ASSERT_TRUE(protocol::decode_task(value->task, decoded).is_ok());
    EXPECT_EQ(op.key, layout.task_key(decoded.id));
    EXPECT_TRUE(tasks.emplace(decoded.id, std::pair{value->seq, decoded.state}).second);
  }
  EXPECT_EQ(tasks, (std::map<std::string, std::pair<uint64_t, TaskState>>{
                       {"a", {6, TaskState::Completed}},
                       {"b", {4, TaskState::Pending}},
                       {"c", {6, TaskState::Pending}}}));
  std::string chunk_buffer;
  auto groups = parse_history_chunk(chunk, chunk_buffer);
  ASSERT_TRUE(groups.is_ok());
  ASSERT_EQ(groups->size(), 3u);
  EXPECT_EQ((*groups)[0].seq, 4u);
  EXPECT_EQ((*groups)[0].events.size(), 2u);
  EXPECT_EQ((*groups)[2].seq, 6u);
  EXPECT_EQ((*groups)[2].events[1].first, "c");
  // Then, and only then, the log up to 6 goes.
  ASSERT_EQ(fold->finish.success.size(), 2u);
  const EtcdOp& remove = fold->finish.success[0];
  EXPECT_EQ(remove.kind, EtcdOp::Kind::DeleteRange);
  EXPECT_EQ(remove.key, layout.log_prefix());
  EXPECT_EQ(remove.range_end, layout.log_key(7));
  EXPECT_EQ(fold->finish.success[1], EtcdOp::put(layout.folded_key(), "6"));
}

TEST(EtcdLayout, AFoldOfManyTasksIsSeveralTxnsUnderTheLimits) {
  EtcdLayout layout("/c");
  std::vector<Task> upserts;
  std::vector<TaskEventRecord> events;
  for (int i = 0; i < 1000; ++i) {
    upserts.push_back(etcd_task("t" + std::to_string(i)));
    events.push_back(etcd_event("t" + std::to_string(i), TaskState::Pending));
  }
  EtcdTxnLimits limits;
  limits.max_record_bytes = 4000;  // many records, several history chunks
  auto txns = build_log_txns(layout, upserts, events, 1, limits);
  ASSERT_GT(txns.size(), 10u);
  std::vector<LogKeyValue> records;
  for (size_t i = 0; i < txns.size(); ++i)
    records.push_back({1 + i, txns[i].success[0].value});
  auto fold = plan_fold(layout, records, limits);
  ASSERT_TRUE(fold.is_ok());
  EXPECT_EQ(fold->tasks, 1000u);  // Pending: a key each
  EXPECT_GT(fold->history_chunks, 1u);
  size_t puts = 0;
  for (const auto& txn : fold->puts) {
    EXPECT_LE(txn.success.size(), limits.max_ops);
    size_t bytes = 0;
    for (const auto& op : txn.success)
      bytes += op.payload_bytes();
    EXPECT_LE(bytes, limits.max_payload_bytes);
    puts += txn.success.size();
  }
  EXPECT_EQ(puts, 1000u + fold->history_chunks);
}

TEST(EtcdLayout, FinishedTasksGoIntoDoneChunksOfAtMostTheRecordSize) {
  EtcdLayout layout("/c");
  std::vector<Task> upserts;
  for (int i = 0; i < 1000; ++i)
    upserts.push_back(
        etcd_task("t" + std::to_string(i), i % 2 ? TaskState::Completed : TaskState::Failed));
  auto txns = build_log_txns(layout, upserts, {}, 1, EtcdTxnLimits{});
  ASSERT_EQ(txns.size(), 1u);
  std::vector<LogKeyValue> records = {{1, txns[0].success[0].value}};
  EtcdTxnLimits limits;
  limits.max_record_bytes = 8000;
  auto fold = plan_fold(layout, records, limits);
  ASSERT_TRUE(fold.is_ok());
  EXPECT_EQ(fold->tasks, 0u);
  EXPECT_EQ(fold->done_tasks, 1000u);
  EXPECT_GT(fold->done_chunks, 2u);
  std::set<std::string> keys;
  size_t read = 0;
  std::string buffer;
  for (const auto& txn : fold->puts) {
    for (const auto& op : txn.success) {
      ASSERT_TRUE(op.key.starts_with(layout.done_prefix())) << op.key;
      EXPECT_TRUE(keys.insert(op.key).second) << "written twice: " << op.key;
      auto done = parse_done_chunk(op.value, buffer);
      ASSERT_TRUE(done.is_ok());
      read += done->size();
    }
  }
  EXPECT_EQ(read, 1000u);
  EXPECT_EQ(keys.size(), fold->done_chunks);
}

TEST(EtcdLayout, AFoldOfARecordThatDoesNotParseNamesIt) {
  EtcdLayout layout("/c");
  std::vector<LogKeyValue> records = {{3, "garbage"}};
  auto fold = plan_fold(layout, records, EtcdTxnLimits{});
  ASSERT_FALSE(fold.is_ok());
  EXPECT_NE(fold.status().message().find("/c/log/00000000000000000003"), std::string::npos);
}

}  // namespace
}  // namespace cube::broker
