#include "broker/memory_store.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/codec.h"

namespace cube::broker {
namespace {

void append_u32(std::string& log, uint32_t value) {
  log.append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Reads a u32 at `offset` and moves past it; false when the log is cut short.
bool read_u32(std::string_view log, size_t& offset, uint32_t& out) {
  if (log.size() - offset < sizeof out)
    return false;
  std::memcpy(&out, log.data() + offset, sizeof out);
  offset += sizeof out;
  return true;
}

// Moves `pos` past the MessagePack value that starts there; false if it is cut short or is not
// MessagePack. (Only our own encoder's output comes here: this is a bounds-checked walk.)
bool skip_value(std::string_view b, size_t& pos, int depth = 0) {
  if (pos >= b.size() || depth > 16)
    return false;
  auto type = static_cast<uint8_t>(b[pos++]);
  auto need = [&](uint64_t n) {
    if (b.size() - pos < n)
      return false;
    pos += n;
    return true;
  };
  auto big_endian = [&](size_t width, uint64_t& out) {
    if (b.size() - pos < width)
      return false;
    out = 0;
    for (size_t i = 0; i < width; ++i)
      out = (out << 8) | static_cast<uint8_t>(b[pos + i]);
    pos += width;
    return true;
  };
  auto skip_items = [&](uint64_t items) {
    for (uint64_t i = 0; i < items; ++i) {
      if (!skip_value(b, pos, depth + 1))
        return false;
    }
    return true;
  };
  if (type <= 0x7f || type >= 0xe0 || type == 0xc0 || type == 0xc2 || type == 0xc3)
    return true;  // fixint, nil, bool
  if ((type & 0xf0) == 0x80)
    return skip_items(2 * (type & 0x0fu));
  if ((type & 0xf0) == 0x90)
    return skip_items(type & 0x0fu);
  if ((type & 0xe0) == 0xa0)
    return need(type & 0x1fu);
  uint64_t n = 0;
  switch (type) {
    case 0xc4:
    case 0xd9:
      return big_endian(1, n) && need(n);
    case 0xc5:
    case 0xda:
      return big_endian(2, n) && need(n);
    case 0xc6:
    case 0xdb:
      return big_endian(4, n) && need(n);
    case 0xc7:
      return big_endian(1, n) && need(n + 1);
    case 0xc8:
      return big_endian(2, n) && need(n + 1);
    case 0xc9:
      return big_endian(4, n) && need(n + 1);
    case 0xcc:
    case 0xd0:
      return need(1);
    case 0xcd:
    case 0xd1:
      return need(2);
    case 0xca:
    case 0xce:
    case 0xd2:
      return need(4);
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return need(8);
    case 0xd4:
      return need(2);
    case 0xd5:
      return need(3);
    case 0xd6:
      return need(5);
    case 0xd7:
      return need(9);
    case 0xd8:
      return need(17);
    case 0xdc:
      return big_endian(2, n) && skip_items(n);
    case 0xdd:
      return big_endian(4, n) && skip_items(n);
    case 0xde:
      return big_endian(2, n) && skip_items(2 * n);
    case 0xdf:
      return big_endian(4, n) && skip_items(2 * n);
    default:
      return false;  // 0xc1 is never used
  }
}

// Reads the header of the map at `pos` (fixmap or map16: our encoders write fewer than 65,536
// keys) and moves past it; false if there is none.
bool map_header(std::string_view b, size_t& pos, uint64_t& count) {
  if (pos >= b.size())
    return false;
  auto type = static_cast<uint8_t>(b[pos]);
  if ((type & 0xf0) == 0x80) {
    count = type & 0x0fu;
    pos += 1;
    return true;
  }
  if (type == 0xde && b.size() - pos >= 3) {
    count = (uint64_t{static_cast<uint8_t>(b[pos + 1])} << 8) | static_cast<uint8_t>(b[pos + 2]);
    pos += 3;
    return true;
  }
  return false;
}

// The key/value pairs of the MessagePack map `map`, each as its bytes; nullopt if `map` is not
// one map with nothing after it.
std::optional<std::vector<std::string_view>> map_pairs(std::string_view map) {
  size_t pos = 0;
  uint64_t count = 0;
  if (!map_header(map, pos, count))
    return std::nullopt;
  std::vector<std::string_view> pairs;
  pairs.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    size_t start = pos;
    if (!skip_value(map, pos) || !skip_value(map, pos))
      return std::nullopt;
    pairs.push_back(map.substr(start, pos - start));
  }
  if (pos != map.size())
    return std::nullopt;
  return pairs;
}

// What `encode` writes for a default-constructed T, pair by pair.
template <typename T>
class DefaultPairs {
 public:
  explicit DefaultPairs(std::string (*encode)(const T&))
      : bytes_(encode(T{})), pairs_(map_pairs(bytes_).value_or(std::vector<std::string_view>{})) {}
  DefaultPairs(const DefaultPairs&) = delete;  // pairs_ views bytes_
  DefaultPairs& operator=(const DefaultPairs&) = delete;

  // `blob` without the pairs that hold the default value: the same encoder writes the same
  // keys in the same order, and the decoders leave a missing key's field at its default, so the
  // result decodes to what `blob` does, in about half the bytes for a typical task. `blob`
  // itself when it does not have the default's keys.
  std::string drop_defaults(std::string blob) const {
    std::string_view in = blob;
    size_t pos = 0;
    uint64_t count = 0;
    if (pairs_.empty() || !map_header(in, pos, count) || count != pairs_.size())
      return blob;
    // MessagePack values are self-delimiting, so when the bytes at `pos` start with the
    // default pair's bytes, that whole pair is the default one: one compare per key, and a walk
    // only over the values that are kept.
    thread_local std::string kept;
    kept.clear();
    size_t kept_count = 0;
    for (std::string_view pair : pairs_) {
      if (in.substr(pos, pair.size()) == pair) {
        pos += pair.size();
        continue;
      }
      size_t start = pos;
      if (!skip_value(in, pos) || !skip_value(in, pos))
        return blob;
      kept.append(in.substr(start, pos - start));
      ++kept_count;
    }
    if (pos != in.size())
      return blob;
    std::string out;
    out.reserve(3 + kept.size());  // exactly: the blob is kept for the life of the store
    if (kept_count <= 15) {
      out.push_back(static_cast<char>(0x80 | kept_count));
    } else {
      out.push_back(static_cast<char>(0xde));
      out.push_back(static_cast<char>(kept_count >> 8));
      out.push_back(static_cast<char>(kept_count & 0xff));
    }
    out.append(kept);
    if (kept.capacity() > 64 * 1024)
      kept = std::string();  // a huge task must not pin its size in the thread
    return out;
  }

 private:
  std::string bytes_;
  std::vector<std::string_view> pairs_;  // views into bytes_
};

const DefaultPairs<Task>& task_defaults() {
  static const DefaultPairs<Task> defaults(&protocol::encode_task);
  return defaults;
}

const DefaultPairs<TaskEvent>& event_defaults() {
  static const DefaultPairs<TaskEvent> defaults(&protocol::encode_task_event);
  return defaults;
}

}  // namespace

std::string_view MemoryStore::id_of(std::string_view blob) {
  size_t pos = 0;
  if (!blob.empty() && (static_cast<uint8_t>(blob[0]) & 0xf0) == 0x80)
    pos = 1;
  else if (!blob.empty() && static_cast<uint8_t>(blob[0]) == 0xde)
    pos = 3;
  else
    return {};
  constexpr std::string_view kIdKey = "\xa2id";
  if (blob.substr(pos, kIdKey.size()) != kIdKey)
    return {};  // no "id" first: the id was empty, and dropped as the default
  pos += kIdKey.size();
  if (pos >= blob.size())
    return {};
  auto type = static_cast<uint8_t>(blob[pos]);
  size_t size = 0;
  if ((type & 0xe0) == 0xa0) {
    size = type & 0x1fu;
    pos += 1;
  } else if (type == 0xd9 && blob.size() - pos >= 2) {
    size = static_cast<uint8_t>(blob[pos + 1]);
    pos += 2;
  } else if (type == 0xda && blob.size() - pos >= 3) {
    size = (size_t{static_cast<uint8_t>(blob[pos + 1])} << 8) | static_cast<uint8_t>(blob[pos + 2]);
    pos += 3;
  } else {
    return {};
  }
  if (blob.size() - pos < size)
    return {};
  return blob.substr(pos, size);
}

const MemoryStore::Entry& MemoryStore::entry(std::string_view id) {
  if (auto it = tasks_.find(id); it != tasks_.end())
    return *it;
  Task only_id;
  only_id.id = std::string(id);
  Entry added;
  added.blob = task_defaults().drop_defaults(protocol::encode_task(only_id));
  added.index = static_cast<uint32_t>(entries_.size());
  const Entry& stored = *tasks_.insert(std::move(added)).first;
  entries_.push_back(&stored);
  return stored;
}

Status MemoryStore::commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) {
  if (next_failure_) {
    Status failure = std::move(*next_failure_);
    next_failure_.reset();
    return failure;
  }
  for (const auto& task : upserts) {
    const Entry& stored = entry(task.id);
    stored.blob = task_defaults().drop_defaults(protocol::encode_task(task));  // the same id
    stored.stored = true;
  }
  for (const auto& [task_id, event] : events) {
    std::string blob = event_defaults().drop_defaults(protocol::encode_task_event(event));
    append_u32(event_log_, entry(task_id).index);
    append_u32(event_log_, static_cast<uint32_t>(blob.size()));
    event_log_.append(blob);
  }
  event_count_ += events.size();
  ++commit_count_;
  return Status::ok();
}

Result<std::vector<Task>> MemoryStore::load_all() {
  std::vector<Task> out;
  out.reserve(tasks_.size());
  std::vector<const Entry*> entries = entries_;
  std::sort(entries.begin(), entries.end(),
            [](const Entry* a, const Entry* b) { return id_of(a->blob) < id_of(b->blob); });
  for (const Entry* stored : entries) {
    if (!stored->stored)
      continue;  // only history names it
    const std::string& blob = stored->blob;
    std::string id(id_of(blob));
    Task task;
    Status decoded = protocol::decode_task(blob, task);
    if (!decoded.is_ok())
      return Status::internal("stored task " + id + " does not decode: " + decoded.message());
    out.push_back(std::move(task));
  }
  return out;
}

Result<std::vector<TaskEventRecord>> MemoryStore::load_events() {
  std::vector<TaskEventRecord> out;
  out.reserve(event_count_);
  std::string_view log = event_log_;
  size_t offset = 0;
  while (offset < log.size()) {
    uint32_t index = 0;
    uint32_t size = 0;
    if (!read_u32(log, offset, index) || !read_u32(log, offset, size) || index >= entries_.size() ||
        log.size() - offset < size) {
      return Status::internal("the in-memory history log is damaged");
    }
    std::string id(id_of(entries_[index]->blob));
    TaskEvent event;
    Status decoded = protocol::decode_task_event(log.substr(offset, size), event);
    offset += size;
    if (!decoded.is_ok()) {
      return Status::internal("stored history entry of task " + id +
                              " does not decode: " + decoded.message());
    }
    out.emplace_back(id, std::move(event));
  }
  return out;
}

}  // namespace cube::broker
