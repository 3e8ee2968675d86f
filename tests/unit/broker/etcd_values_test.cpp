#include "broker/etcd_values.h"

#include <gtest/gtest.h>

#include <string>

namespace cube::broker {
namespace {

// The parsers with a buffer of their own (kept for the views' lifetime: one per test).
std::string buffer;
Result<LogRecord> parse_record(std::string_view value) {
  return parse_log_record(value, buffer);
}
Result<std::vector<HistoryGroup>> parse_chunk(std::string_view value) {
  return parse_history_chunk(value, buffer);
}

TEST(EtcdValues, ATaskValueCarriesItsSeqBeforeTheBlob) {
  for (uint64_t seq :
       {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300000}, UINT64_MAX}) {
    std::string value = encode_task_value(seq, "\x81\xa2id\xa1x");
    auto parsed = parse_task_value(value);
    ASSERT_TRUE(parsed.is_ok()) << seq;
    EXPECT_EQ(parsed->seq, seq);
    EXPECT_EQ(parsed->task, "\x81\xa2id\xa1x");
  }
  EXPECT_FALSE(parse_task_value("").is_ok());
  EXPECT_FALSE(parse_task_value("\x05").is_ok());  // a seq and no task
  EXPECT_FALSE(parse_task_value("\xff\xff").is_ok());
}

TEST(EtcdValues, ALogRecordRoundTripsItsTasksAndEntriesInOrder) {
  LogRecordWriter writer;
  EXPECT_TRUE(writer.empty());
  writer.add_task("task-a");
  writer.add_event("a", "ev-1");
  LogRecordWriter more;
  more.add_task(std::string(200, 'b'));  // a size over one varint byte
  more.add_event("b", "ev-2");
  more.add_event("a", "");
  writer.append(more);
  EXPECT_FALSE(writer.empty());
  std::string value = writer.finish();
  EXPECT_LE(writer.bytes(), value.size());
  auto parsed = parse_record(value);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  ASSERT_EQ(parsed->tasks.size(), 2u);
  EXPECT_EQ(parsed->tasks[0], "task-a");
  EXPECT_EQ(parsed->tasks[1], std::string(200, 'b'));
  ASSERT_EQ(parsed->events.size(), 3u);
  EXPECT_EQ(parsed->events[0], (EventBlob{"a", "ev-1"}));
  EXPECT_EQ(parsed->events[1], (EventBlob{"b", "ev-2"}));
  EXPECT_EQ(parsed->events[2], (EventBlob{"a", ""}));
}

TEST(EtcdValues, ACorruptLogRecordIsRefusedNeverReadPastItsEnd) {
  LogRecordWriter writer;
  writer.add_task("task-a");
  writer.add_event("a", "ev-1");
  std::string value = writer.finish();
  for (size_t cut = 0; cut < value.size(); ++cut)
    EXPECT_FALSE(parse_record(value.substr(0, cut)).is_ok()) << cut;
  EXPECT_FALSE(parse_record(value + "x").is_ok());
  std::string other_format = value;
  other_format[0] = 0x03;
  EXPECT_FALSE(parse_record(other_format).is_ok());
  // A count larger than the value is refused before anything is reserved.
  EXPECT_FALSE(parse_record(std::string("\x01\xff\xff\xff\xff\x0f", 6)).is_ok());
}

TEST(EtcdValues, ALargeRecordIsStoredCompressedAndReadBack) {
  LogRecordWriter writer;
  std::vector<std::string> tasks;
  for (int i = 0; i < 200; ++i) {
    tasks.push_back("task " + std::to_string(i) + " image busybox cmd sh -c 'sleep 1' node 0190");
    writer.add_task(tasks.back());
    writer.add_event("id-" + std::to_string(i), "Pending at 1700000000000");
  }
  std::string value = writer.finish();
  EXPECT_EQ(value[0], 0x02);
  EXPECT_LT(value.size(), writer.bytes() / 3);
  auto parsed = parse_record(value);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  ASSERT_EQ(parsed->tasks.size(), 200u);
  EXPECT_EQ(parsed->tasks[199], tasks[199]);
  EXPECT_EQ(parsed->events[7].first, "id-7");
  // A corrupt compressed body, or a size that lies, is refused.
  std::string flipped = value;
  flipped[value.size() / 2] ^= 0x55;
  EXPECT_FALSE(parse_record(flipped).is_ok());
  EXPECT_FALSE(parse_record(value.substr(0, value.size() - 3)).is_ok());
  EXPECT_FALSE(parse_record(std::string("\x02\xff\xff\xff\xff\x0f", 6)).is_ok());
  // History chunks are compressed the same way.
  HistoryChunkWriter chunk;
  for (int i = 0; i < 100; ++i)
    chunk.add_group(i + 1, {{"id-" + std::to_string(i), "Pending at 1700000000000"}});
  const std::string chunk_value = chunk.take();
  EXPECT_EQ(chunk_value[0], 0x02);
  auto groups = parse_chunk(chunk_value);
  ASSERT_TRUE(groups.is_ok()) << groups.status().to_string();
  EXPECT_EQ(groups->size(), 100u);
}

TEST(EtcdValues, AHistoryChunkRoundTripsItsGroups) {
  HistoryChunkWriter writer;
  EXPECT_TRUE(writer.empty());
  writer.add_group(4, {{"a", "e1"}, {"b", "e2"}});
  writer.add_group(9, {{"c", "e3"}});
  EXPECT_FALSE(writer.empty());
  std::string value = writer.take();
  EXPECT_TRUE(writer.empty());
  auto groups = parse_chunk(value);
  ASSERT_TRUE(groups.is_ok()) << groups.status().to_string();
  ASSERT_EQ(groups->size(), 2u);
  EXPECT_EQ((*groups)[0].seq, 4u);
  EXPECT_EQ((*groups)[0].events, (std::vector<EventBlob>{{"a", "e1"}, {"b", "e2"}}));
  EXPECT_EQ((*groups)[1].seq, 9u);
  for (size_t cut = 1; cut < value.size(); ++cut) {
    auto partial = parse_chunk(value.substr(0, cut));
    // A cut between two groups is a valid shorter chunk; anywhere else it is refused.
    if (partial.is_ok()) {
      EXPECT_LT(partial->size(), 2u) << cut;
    }
  }
  EXPECT_FALSE(parse_chunk("").is_ok());
}

TEST(EtcdValues, ADoneChunkRoundTripsItsTasksWithTheirSeqs) {
  DoneChunkWriter writer;
  EXPECT_TRUE(writer.empty());
  writer.add_task(7, "task-a");
  writer.add_task(3, std::string(300, 'b'));
  const std::string value = writer.take();
  EXPECT_TRUE(writer.empty());
  std::string done_buffer;
  auto tasks = parse_done_chunk(value, done_buffer);
  ASSERT_TRUE(tasks.is_ok()) << tasks.status().to_string();
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ((*tasks)[0].seq, 7u);
  EXPECT_EQ((*tasks)[0].task, "task-a");
  EXPECT_EQ((*tasks)[1].seq, 3u);
  EXPECT_EQ((*tasks)[1].task, std::string(300, 'b'));
  EXPECT_FALSE(parse_done_chunk(std::string("\x01\x07\x00", 3), done_buffer).is_ok());
  EXPECT_FALSE(parse_done_chunk(value.substr(0, value.size() - 1), done_buffer).is_ok());
}

}  // namespace
}  // namespace cube::broker
