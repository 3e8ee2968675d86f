#include "broker/etcd_values.h"

#include <zlib.h>

namespace cube::broker {
namespace {

// The first byte of a log record and of a history chunk: the framing as it is, or compressed.
constexpr char kFormat = 0x01;
constexpr char kCompressed = 0x02;
// Smaller values are left as they are: deflate gains little on a few hundred bytes.
constexpr size_t kCompressFrom = 512;
// The largest body a compressed value may claim: far above any record (max_record_bytes), so
// that a corrupt size cannot make the reader allocate without bound.
constexpr uint64_t kMaxBody = uint64_t{64} << 20;

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

// `raw` (kFormat, then the framing) compressed when that makes it smaller: kCompressed, varint
// size of the framing, the framing deflated (zlib's format, level 1: records are written at
// thousands of tasks per second, and level 1 already takes the repeated field names and values
// of a batch's tasks).
std::string pack(std::string raw) {
  if (raw.size() < kCompressFrom)
    return raw;
  const auto* body = reinterpret_cast<const Bytef*>(raw.data() + 1);
  const uLong body_size = raw.size() - 1;
  std::string out;
  out.push_back(kCompressed);
  put_varint(body_size, out);
  const size_t header = out.size();
  uLongf packed = compressBound(body_size);
  out.resize(header + packed);
  if (compress2(reinterpret_cast<Bytef*>(out.data() + header), &packed, body, body_size, 1) !=
          Z_OK ||
      header + packed >= raw.size())
    return raw;
  out.resize(header + packed);
  return out;
}

// The framing of `value` (after its format byte): in the value itself, or inflated into
// `buffer`. Invalid when the format is unknown or the compressed body is corrupt.
Result<std::string_view> unpack(std::string_view value, std::string& buffer,
                                std::string_view what) {
  if (!value.empty() && value.front() == kFormat)
    return value.substr(1);
  if (value.empty() || value.front() != kCompressed)
    return Status::invalid("not a " + std::string(what) + " of a known format");
  Reader reader(value.substr(1));
  auto size = reader.varint(what);
  if (!size.is_ok())
    return size.status();
  if (*size > kMaxBody)
    return Status::invalid("a " + std::string(what) + " claiming " + std::to_string(*size) +
                           " bytes");
  buffer.resize(*size);
  uLongf inflated = *size;
  std::string_view packed = reader.rest();
  if (uncompress(reinterpret_cast<Bytef*>(buffer.data()), &inflated,
                 reinterpret_cast<const Bytef*>(packed.data()), packed.size()) != Z_OK ||
      inflated != *size)
    return Status::invalid("a corrupt compressed " + std::string(what));
  return std::string_view(buffer);
}

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
  return pack(std::move(out));
}

Result<LogRecord> parse_log_record(std::string_view value, std::string& buffer) {
  auto body = unpack(value, buffer, "log record");
  if (!body.is_ok())
    return body.status();
  Reader reader(*body);
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

ChunkWriter::ChunkWriter() {
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

std::string ChunkWriter::take() {
  std::string out = std::move(value_);
  value_.assign(1, kFormat);
  return pack(std::move(out));
}

Result<std::vector<HistoryGroup>> parse_history_chunk(std::string_view value, std::string& buffer) {
  auto body = unpack(value, buffer, "history chunk");
  if (!body.is_ok())
    return body.status();
  Reader reader(*body);
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

void DoneChunkWriter::add_task(uint64_t seq, std::string_view blob) {
  put_varint(seq, value_);
  put_string(blob, value_);
}

Result<std::vector<TaskValue>> parse_done_chunk(std::string_view value, std::string& buffer) {
  auto body = unpack(value, buffer, "done chunk");
  if (!body.is_ok())
    return body.status();
  Reader reader(*body);
  std::vector<TaskValue> out;
  while (!reader.at_end()) {
    auto seq = reader.varint("done chunk");
    if (!seq.is_ok())
      return seq.status();
    auto blob = reader.string("task");
    if (!blob.is_ok())
      return blob.status();
    if (blob->empty())
      return Status::invalid("an empty task in a done chunk");
    out.push_back(TaskValue{*seq, *blob});
  }
  return out;
}

}  // namespace cube::broker
