#include "broker/etcd_values.h"

#include <gtest/gtest.h>

#include <string>

namespace cube::broker {
namespace {

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
  auto parsed = parse_log_record(value);
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
    EXPECT_FALSE(parse_log_record(value.substr(0, cut)).is_ok()) << cut;
  EXPECT_FALSE(parse_log_record(value + "x").is_ok());
  std::string other_format = value;
  other_format[0] = 0x02;
  EXPECT_FALSE(parse_log_record(other_format).is_ok());
  // A count larger than the value is refused before anything is reserved.
  EXPECT_FALSE(parse_log_record(std::string("\x01\xff\xff\xff\xff\x0f", 6)).is_ok());
}

TEST(EtcdValues, AHistoryChunkRoundTripsItsGroups) {
  HistoryChunkWriter writer;
  EXPECT_TRUE(writer.empty());
  writer.add_group(4, {{"a", "e1"}, {"b", "e2"}});
  writer.add_group(9, {{"c", "e3"}});
  EXPECT_FALSE(writer.empty());
  std::string value = writer.take();
  EXPECT_TRUE(writer.empty());
  auto groups = parse_history_chunk(value);
  ASSERT_TRUE(groups.is_ok()) << groups.status().to_string();
  ASSERT_EQ(groups->size(), 2u);
  EXPECT_EQ((*groups)[0].seq, 4u);
  EXPECT_EQ((*groups)[0].events, (std::vector<EventBlob>{{"a", "e1"}, {"b", "e2"}}));
  EXPECT_EQ((*groups)[1].seq, 9u);
  for (size_t cut = 1; cut < value.size(); ++cut) {
    auto partial = parse_history_chunk(value.substr(0, cut));
    // A cut between two groups is a valid shorter chunk; anywhere else it is refused.
    if (partial.is_ok()) {
      EXPECT_EQ(partial->size(), 1u) << cut;
    }
  }
  EXPECT_FALSE(parse_history_chunk("").is_ok());
}

}  // namespace
}  // namespace cube::broker
