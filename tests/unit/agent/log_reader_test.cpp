// read_task_logs and tail_start: byte ranges and tails of a task's log through Driver::logs,
// against a driver that serves a fixed log in chunks of a chosen size (like the exec driver) or
// whole (like docker with max_bytes <= 0).
#include "agent/log_reader.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/messages.h"

namespace cube::agent {
namespace {

class LogDriver final : public Driver {
 public:
  std::string log;
  bool ended = false;
  int64_t chunk_cap = 0;  // > 0: never return more than this per call
  int calls = 0;

  std::string_view name() const override { return kDriverExec; }
  Result<AttemptStatus> start(const Task&) override { return Status::internal("unused"); }
  Status stop(const std::string&, Millis) override { return Status::ok(); }
  Result<AttemptStatus> inspect(const std::string&) override { return Status::not_found("unused"); }
  Result<LogChunk> logs(const std::string& task_id, int64_t offset, int64_t max_bytes) override {
    ++calls;
    if (task_id != "t1")
      return Status::not_found("no task " + task_id);
    if (offset < 0)
      return Status::invalid("negative offset");
    const int64_t size = static_cast<int64_t>(log.size());
    int64_t n = std::max<int64_t>(0, size - offset);
    if (max_bytes > 0)
      n = std::min(n, max_bytes);
    if (chunk_cap > 0)
      n = std::min(n, chunk_cap);
    LogChunk c;
    if (n > 0)
      c.data = log.substr(static_cast<size_t>(offset), static_cast<size_t>(n));
    c.next_offset = std::min(size, offset) + n;
    c.eof = ended && c.next_offset >= size;
    return c;
  }
  Result<std::vector<AttemptStatus>> list_owned() override { return std::vector<AttemptStatus>{}; }
  void set_exit_sink(ExitSink) override {}
};

TEST(TailStart, FindsTheStartOfTheLastLines) {
  struct Case {
    std::string text;
    int64_t lines;
    size_t want;
  };
  const Case cases[] = {
      {"", 3, 0},           {"a\nb\nc\n", 1, 4},  {"a\nb\nc\n", 2, 2}, {"a\nb\nc\n", 3, 0},
      {"a\nb\nc\n", 10, 0}, {"a\nb\nc", 1, 4},     // an unfinished last line is a line
      {"a\nb\nc", 2, 2},    {"a\n\n\nb\n", 2, 3},  // empty lines count
      {"abc", 1, 0},        {"abc\n", 1, 0},      {"a\nb\n", 0, 4},  // no lines: from the end
      {"\n", 1, 0},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(tail_start(c.text, c.lines), c.want)
        << "text \"" << c.text << "\", " << c.lines << " lines";
  }
}

TEST(ReadTaskLogs, ReturnsTheRangeAskedFor) {
  LogDriver d;
  d.log = "hello\nworld\n";
  auto r = read_task_logs(d, "t1", 6, 100, 0);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->data, "world\n");
  EXPECT_EQ(r->next_offset, 12);
  EXPECT_FALSE(r->eof);

  d.ended = true;
  r = read_task_logs(d, "t1", 12, 100, 0);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->data, "");
  EXPECT_TRUE(r->eof);
}

TEST(ReadTaskLogs, NeverReturnsMoreThanOneLogsDataCarries) {
  LogDriver d;
  d.log = std::string(static_cast<size_t>(protocol::kMaxLogChunkBytes) * 2 + 10, 'x');
  d.ended = true;
  for (int64_t asked : {int64_t{0}, int64_t{-1}, protocol::kMaxLogChunkBytes * 4}) {
    auto r = read_task_logs(d, "t1", 0, asked, 0);
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(static_cast<int64_t>(r->data.size()), protocol::kMaxLogChunkBytes) << asked;
    EXPECT_EQ(r->next_offset, protocol::kMaxLogChunkBytes);
    EXPECT_FALSE(r->eof);
  }
}

TEST(ReadTaskLogs, TailReturnsTheLastLinesAndAnOffsetToFollowFrom) {
  LogDriver d;
  for (int i = 1; i <= 10; ++i)
    d.log += "line " + std::to_string(i) + "\n";
  auto r = read_task_logs(d, "t1", 0, 0, 3);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->data, "line 8\nline 9\nline 10\n");
  EXPECT_EQ(r->next_offset, static_cast<int64_t>(d.log.size()));
  EXPECT_FALSE(r->eof);
  EXPECT_EQ(d.calls, 2) << "a small log: one read, and an empty one that shows the end";

  // A follower continues from next_offset and sees only what came after.
  d.log += "line 11\n";
  d.ended = true;
  r = read_task_logs(d, "t1", r->next_offset, 0, 0);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->data, "line 11\n");
  EXPECT_TRUE(r->eof);
}

TEST(ReadTaskLogs, TailAcrossManyChunksKeepsOnlyTheLastLines) {
  LogDriver d;
  for (int i = 1; i <= 5000; ++i)
    d.log += "line " + std::to_string(i) + "\n";
  // A driver that returns less than asked before the end: lines split across calls.
  d.chunk_cap = 1000;
  auto r = read_task_logs(d, "t1", 0, 0, 2);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->data, "line 4999\nline 5000\n");
  EXPECT_EQ(r->next_offset, static_cast<int64_t>(d.log.size()));
  EXPECT_EQ(d.calls, static_cast<int>((d.log.size() + 999) / 1000) + 1);

  // Larger than one scan chunk, ended: the scan stops at eof.
  d.chunk_cap = 0;
  d.calls = 0;
  d.ended = true;
  while (static_cast<int64_t>(d.log.size()) < kTailScanChunkBytes * 2 + 100)
    d.log += "some output line " + std::to_string(d.log.size()) + "\n";
  d.log += "second to last\nlast\n";
  r = read_task_logs(d, "t1", 0, 0, 2);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->data, "second to last\nlast\n");
  EXPECT_EQ(r->next_offset, static_cast<int64_t>(d.log.size()));
  EXPECT_TRUE(r->eof);
  EXPECT_EQ(d.calls, 3);
}

TEST(ReadTaskLogs, TailOfALogWithFewerLinesIsTheWholeLog) {
  LogDriver d;
  d.log = "only\n";
  auto r = read_task_logs(d, "t1", 0, 0, 50);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->data, "only\n");
  EXPECT_EQ(r->next_offset, 5);
}

TEST(ReadTaskLogs, DriverErrorsComeBackUnchanged) {
  LogDriver d;
  auto r = read_task_logs(d, "nope", 0, 0, 0);
  EXPECT_EQ(r.status().code(), ErrorCode::NotFound);
  r = read_task_logs(d, "nope", 0, 0, 5);
  EXPECT_EQ(r.status().code(), ErrorCode::NotFound);
  r = read_task_logs(d, "t1", -1, 0, 0);
  EXPECT_EQ(r.status().code(), ErrorCode::Invalid);
}

}  // namespace
}  // namespace cube::agent
