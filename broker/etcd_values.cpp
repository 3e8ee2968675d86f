#include "broker/etcd_values.h"

namespace cube::broker {
namespace {

// The first byte of a log record and of a history chunk: the framing's version, so that a later
// one (compressed, say) can be told apart.
constexpr char kFormat = 0x01;

void put_varint(uint64_t n, std::string& out) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

void put_string(std::string_view s, std::string& out) {
  put_varint(s.size(), out);
  out.append(s);
}

// Reads the framing from a value, front to back.
class Reader {
 public:
  explicit Reader(std::string_view value) : rest_(value) {}

  bool at_end() const { return rest_.empty(); }
  std::string_view rest() const { return rest_; }

  Result<uint64_t> varint(std::string_view what) {
    uint64_t n = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (rest_.empty())
        return Status::invalid("truncated " + std::string(what));
      auto byte = static_cast<unsigned char>(rest_.front());
      rest_.remove_prefix(1);
      n |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0)
        return n;
    }
    return Status::invalid("an overlong number in " + std::string(what));
  }

  Result<std::string_view> string(std::string_view what) {
    auto size = varint(what);
    if (!size.is_ok())
      return size.status();
    if (*size > rest_.size())
      return Status::invalid("truncated " + std::string(what));
    std::string_view out = rest_.substr(0, *size);
    rest_.remove_prefix(*size);
    return out;
  }

  // A count of items that each take at least one byte: bounded by what is left, so a corrupt
  // count cannot make the caller reserve gigabytes.
  Result<uint64_t> count(std::string_view what) {
    auto n = varint(what);
    if (n.is_ok() && *n > rest_.size())
      return Status::invalid("a count of " + std::string(what) + " larger than the value");
    return n;
  }

  Status format(std::string_view what) {
    if (rest_.empty() || rest_.front() != kFormat)
      return Status::invalid("not a " + std::string(what) + " of a known format");
    rest_.remove_prefix(1);
    return Status::ok();
  }

  Result<EventBlob> event() {
    auto id = string("history entry's task id");
    if (!id.is_ok())
      return id.status();
    auto blob = string("history entry");
    if (!blob.is_ok())
      return blob.status();
    return EventBlob{*id, *blob};
  }

  Status events(std::vector<EventBlob>& out) {
    auto n = count("history entries");
    if (!n.is_ok())
      return n.status();
    out.reserve(out.size() + *n);
    for (uint64_t i = 0; i < *n; ++i) {
      auto e = event();
      if (!e.is_ok())
        return e.status();
      out.push_back(*e);
    }
    return Status::ok();
  }

 private:
  std::string_view rest_;
};

}  // namespace

std::string encode_task_value(uint64_t seq, std::string_view task_blob) {
  std::string out;
  out.reserve(task_blob.size() + 10);
  put_varint(seq, out);
  out.append(task_blob);
  return out;
}

Result<TaskValue> parse_task_value(std::string_view value) {
  Reader reader(value);
  auto seq = reader.varint("task value");
  if (!seq.is_ok())
    return seq.status();
  if (reader.at_end())
    return Status::invalid("a task value without a task");
  return TaskValue{*seq, reader.rest()};
}

void LogRecordWriter::add_task(std::string_view blob) {
  put_string(blob, tasks_);
  ++task_count_;
}

void LogRecordWriter::add_event(std::string_view task_id, std::string_view blob) {
  put_string(task_id, events_);
  put_string(blob, events_);
  ++event_count_;
}

void LogRecordWriter::append(const LogRecordWriter& other) {
  tasks_.append(other.tasks_);
  events_.append(other.events_);
  task_count_ += other.task_count_;
  event_count_ += other.event_count_;
}

std::string LogRecordWriter::finish() const {
  std::string out;
  out.reserve(tasks_.size() + events_.size() + 21);
  out.push_back(kFormat);
  put_varint(task_count_, out);
  out.append(tasks_);
  put_varint(event_count_, out);
  out.append(events_);
  return out;
}

Result<LogRecord> parse_log_record(std::string_view value) {
  Reader reader(value);
  CUBE_RETURN_IF_ERROR(reader.format("log record"));
  LogRecord out;
  auto tasks = reader.count("tasks");
  if (!tasks.is_ok())
    return tasks.status();
  out.tasks.reserve(*tasks);
  for (uint64_t i = 0; i < *tasks; ++i) {
    auto blob = reader.string("task");
    if (!blob.is_ok())
      return blob.status();
    out.tasks.push_back(*blob);
  }
  CUBE_RETURN_IF_ERROR(reader.events(out.events));
  if (!reader.at_end())
    return Status::invalid("bytes after the end of a log record");
  return out;
}

HistoryChunkWriter::HistoryChunkWriter() {
  value_.push_back(kFormat);
}

void HistoryChunkWriter::add_group(uint64_t seq, const std::vector<EventBlob>& events) {
  put_varint(seq, value_);
  put_varint(events.size(), value_);
  for (const auto& [id, blob] : events) {
    put_string(id, value_);
    put_string(blob, value_);
  }
}

std::string HistoryChunkWriter::take() {
  std::string out = std::move(value_);
  value_.assign(1, kFormat);
  return out;
}

Result<std::vector<HistoryGroup>> parse_history_chunk(std::string_view value) {
  Reader reader(value);
  CUBE_RETURN_IF_ERROR(reader.format("history chunk"));
  std::vector<HistoryGroup> out;
  while (!reader.at_end()) {
    HistoryGroup group;
    auto seq = reader.varint("history group");
    if (!seq.is_ok())
      return seq.status();
    group.seq = *seq;
    CUBE_RETURN_IF_ERROR(reader.events(group.events));
    out.push_back(std::move(group));
  }
  return out;
}

}  // namespace cube::broker
