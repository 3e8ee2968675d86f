// The values of the etcd store's log-structured layout (broker/etcd_layout.h), as bytes: what a
// task key, a log record and a history chunk hold. Tasks and history entries inside them are the
// compact MessagePack blobs of protocol/codec.h (encode_task_compact,
// encode_task_event_compact); the framing around them is a format byte and varint-prefixed
// strings, so that a fold (etcd_layout.h) moves blobs from log records to task keys and history
// chunks without decoding them.
//
//   task value     varint seq, then the task blob (the rest of the value). `seq` is the log
//                  record the blob comes from: replay skips log records at or below it.
//   log record     0x01, varint task count, (varint size, task blob)*,
//                  varint entry count, (varint size, task id, varint size, event blob)*
//   history chunk  0x01, then until the end: varint seq, varint entry count,
//                  (varint size, task id, varint size, event blob)*  -- one group per log
//                  record whose history entries the chunk holds.
//   done chunk     0x01, then until the end: varint seq, varint size, task blob -- tasks in a
//                  final state (Completed, Failed), each with the seq of its record.
//   compressed     a log record, history chunk or done chunk of 512 bytes or more is stored as
//   0x02,
//                  varint size, then what follows its 0x01 deflated (zlib, level 1), when that
//                  is smaller. A batch's tasks repeat their field names and most values
//                  (image, command, node ids): measured with cube-bench, records shrink about
//                  5 times, and etcd here takes only about 5-6 MB/s of values.
//
// Parsing never throws and never reads past the value: Invalid saying what is wrong. The parsed
// forms point into the value they were parsed from, or into the `buffer` given to hold it
// inflated (string_views); both must outlive them.
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace cube::broker {

// A history entry as stored: the task's id and its event blob.
using EventBlob = std::pair<std::string_view, std::string_view>;

struct TaskValue {
  uint64_t seq = 0;
  std::string_view task;  // the blob
};
std::string encode_task_value(uint64_t seq, std::string_view task_blob);
Result<TaskValue> parse_task_value(std::string_view value);

// One log record: what one group commit (or one part of a large one) changed.
struct LogRecord {
  std::vector<std::string_view> tasks;  // task blobs, each task at most once
  std::vector<EventBlob> events;        // in append order
};
// Builds a log record's value piece by piece (the commit's packer adds groups until a record is
// full, etcd_layout.cpp).
class LogRecordWriter {
 public:
  void add_task(std::string_view blob);
  void add_event(std::string_view task_id, std::string_view blob);
  // Adds everything `other` holds, after what this one holds.
  void append(const LogRecordWriter& other);
  // The value's size so far, a few bytes short of finish()'s (the counts).
  size_t bytes() const { return tasks_.size() + events_.size(); }
  bool empty() const { return task_count_ == 0 && event_count_ == 0; }
  std::string finish() const;

 private:
  std::string tasks_;
  std::string events_;
  uint64_t task_count_ = 0;
  uint64_t event_count_ = 0;
};
Result<LogRecord> parse_log_record(std::string_view value, std::string& buffer);

// The history entries of one log record, inside a history chunk.
struct HistoryGroup {
  uint64_t seq = 0;
  std::vector<EventBlob> events;
};
// What the chunk writers share: the value built so far, and take().
class ChunkWriter {
 public:
  size_t bytes() const { return value_.size(); }
  bool empty() const { return value_.size() <= 1; }
  // The value (compressed when that makes it smaller); the writer is empty again.
  std::string take();

 protected:
  ChunkWriter();
  std::string value_;
};

class HistoryChunkWriter : public ChunkWriter {
 public:
  void add_group(uint64_t seq, const std::vector<EventBlob>& events);
};
Result<std::vector<HistoryGroup>> parse_history_chunk(std::string_view value, std::string& buffer);

// Tasks in a final state, each with the seq of the log record it comes from.
class DoneChunkWriter : public ChunkWriter {
 public:
  void add_task(uint64_t seq, std::string_view blob);
};
Result<std::vector<TaskValue>> parse_done_chunk(std::string_view value, std::string& buffer);

}  // namespace cube::broker
