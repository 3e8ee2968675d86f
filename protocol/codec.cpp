#include "protocol/codec.h"

#include "protocol/wire_fields.h"

#include <msgpack.hpp>

#include <tuple>

#include <algorithm>
#include <array>
#include <bit>
#include <concepts>
#include <exception>
#include <limits>
#include <type_traits>
#include <utility>

namespace cube::protocol {
namespace {

// ---------------------------------------------------------------- encoding

// msgpack-c's packer writes into any stream with write(data, size). encode_with packs into a
// per-thread scratch string that keeps its capacity, then returns an exact-size copy: one
// allocation per message instead of an sbuffer's (grown by doubling) plus the copy (cube-bench
// profile of the broker loop), and callers that keep the bytes keep no slack.
struct StringSink {
  std::string& bytes;
  void write(const char* data, size_t size) { bytes.append(data, size); }
};
using Packer = msgpack::packer<StringSink>;

void pack_str(Packer& p, std::string_view s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void put(Packer& p, const std::string& s) {
  pack_str(p, s);
}
// Always a float64 (0xcb). msgpack-c 4's pack_double writes integral doubles as integers, which
// ties the bytes to the library version, turns -0.0 into 0, and converts 2^64 to uint64_t
// (undefined behaviour, reported by UBSan). Decoders accept integers and floats for CPU alike.
void put(Packer& p, double v) {
  auto bits = std::bit_cast<uint64_t>(v);
  char buf[9];
  buf[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i)
    buf[1 + i] = static_cast<char>((bits >> (56 - 8 * i)) & 0xff);
  // The packer has no raw write; pack_str_body appends bytes without a header.
  p.pack_str_body(buf, sizeof buf);
}
void put(Packer& p, uint64_t v) {
  p.pack_uint64(v);
}
void put(Packer& p, uint32_t v) {
  p.pack_uint64(v);
}
void put(Packer& p, int64_t v) {
  p.pack_int64(v);
}
void put(Packer& p, int32_t v) {
  p.pack_int64(v);
}
void put(Packer& p, TaskState v) {
  p.pack_uint64(static_cast<uint64_t>(v));
}
void put(Packer& p, ErrorCode v) {
  p.pack_uint64(static_cast<uint64_t>(v));
}
// Exactly bool: a plain overload would also take pointers (a string literal would become true).
template <typename B>
requires std::same_as<B, bool>
void put(Packer& p, B v) {
  if (v) {
    p.pack_true();
  } else {
    p.pack_false();
  }
}
// Bytes that need not be UTF-8 (log data) travel as MessagePack bin.
struct Bin {
  std::string_view bytes;
};
void put(Packer& p, Bin b) {
  p.pack_bin(static_cast<uint32_t>(b.bytes.size()));
  p.pack_bin_body(b.bytes.data(), static_cast<uint32_t>(b.bytes.size()));
}

// Templates over containers and structs are declared first so that each finds the others.
template <typename T>
void put(Packer& p, const std::optional<T>& v);
template <typename T>
void put(Packer& p, const std::vector<T>& v);
template <typename V>
void put(Packer& p, const std::map<std::string, V>& m);
template <HasWireFields S>
void put(Packer& p, const S& s);

template <typename T>
void put(Packer& p, const std::optional<T>& v) {
  if (v) {
    put(p, *v);
  } else {
    p.pack_nil();
  }
}

template <typename T>
void put(Packer& p, const std::vector<T>& v) {
  p.pack_array(static_cast<uint32_t>(v.size()));
  for (const auto& item : v)
    put(p, item);
}

template <typename V>
void put(Packer& p, const std::map<std::string, V>& m) {
  p.pack_map(static_cast<uint32_t>(m.size()));
  for (const auto& [k, v] : m) {
    pack_str(p, k);
    put(p, v);
  }
}

// One `key: value` pair from a field descriptor (protocol/wire_fields.h).
template <typename S, typename F>
void put_field(Packer& p, const S& s, const F& f) {
  pack_str(p, f.key);
  put(p, s.*f.member);
}
template <typename S>
void put_field(Packer& p, const S& s, const BinField<S>& f) {
  pack_str(p, f.key);
  put(p, Bin{s.*f.member});
}

// Whether `f` is written for `s`: always, but for a later field that holds its default.
template <typename S, typename F>
bool is_written(const S& s, const F& f) {
  if constexpr (requires { f.omitted_when_default; }) {
    static const S kDefault{};
    return !f.omitted_when_default || !(s.*f.member == kDefault.*f.member);
  } else {
    return true;
  }
}

// How many fields of `s` put_fields() writes.
template <HasWireFields S>
uint32_t written_count(const S& s) {
  uint32_t n = 0;
  for_each_field<S>([&](const auto& f) { n += is_written(s, f); });
  return n;
}

template <HasWireFields S>
void put_fields(Packer& p, const S& s) {
  for_each_field<S>([&](const auto& f) {
    if (is_written(s, f))
      put_field(p, s, f);
  });
}

// A struct: a map with the fields of its table, in table order.
template <HasWireFields S>
void put(Packer& p, const S& s) {
  p.pack_map(written_count(s));
  put_fields(p, s);
}

// A struct without the fields that hold their default value: decoding leaves a missing key's
// field at its default, so the result decodes to the same struct, in fewer bytes.
template <HasWireFields S>
void put_compact(Packer& p, const S& s) {
  static const S kDefault{};
  uint32_t kept = 0;
  for_each_field<S>([&](const auto& f) { kept += !(s.*f.member == kDefault.*f.member); });
  p.pack_map(kept);
  for_each_field<S>([&](const auto& f) {
    if (!(s.*f.member == kDefault.*f.member))
      put_field(p, s, f);
  });
}

template <typename Fn>
std::string encode_with(Fn&& fn) {
  // A big reply (a LIST of every task) must not pin its size in every thread that sent one.
  constexpr size_t kScratchKept = 64 * 1024;
  thread_local std::string scratch;  // encode_with never nests: fn only packs
  scratch.clear();
  StringSink sink{scratch};
  Packer packer(sink);
  fn(packer);
  std::string out = scratch;
  if (scratch.capacity() > kScratchKept)
    scratch = std::string();
  return out;
}

// ---------------------------------------------------------------- decoding

// Generous for real use, small enough that a hostile 1 MiB frame cannot explode in memory:
// msgpack-c allocates per declared element, so these bound the work per frame.
const msgpack::unpack_limit kLimits(/*array=*/100000, /*map=*/10000, /*str=*/1 << 20,
                                    /*bin=*/1 << 20, /*ext=*/0, /*depth=*/16);

const char* type_name(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return "nil";
    case msgpack::type::BOOLEAN:
      return "a boolean";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER:
      return "an integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return "a float";
    case msgpack::type::STR:
      return "a string";
    case msgpack::type::BIN:
      return "binary";
    case msgpack::type::ARRAY:
      return "an array";
    case msgpack::type::MAP:
      return "a map";
    case msgpack::type::EXT:
      return "an extension";
  }
  return "unknown";
}

// Records the first error met while reading; later reads become no-ops.
class Reader {
 public:
  bool failed() const { return !status_.is_ok(); }
  Status status() const { return status_; }

  void fail(std::string_view path, const std::string& message) {
    if (!failed())
      status_ = Status::invalid("field \"" + std::string(path) + "\": " + message);
  }
  void expected(std::string_view path, const char* what, const msgpack::object& o) {
    fail(path, std::string("expected ") + what + ", got " + type_name(o));
  }

  void read(std::string_view path, const msgpack::object& o, std::string& out) {
    if (o.type != msgpack::type::STR)
      return expected(path, "a string", o);
    out.assign(o.via.str.ptr, o.via.str.size);
  }
  // Bytes that need not be UTF-8 (log data): MessagePack bin.
  void read_bytes(std::string_view path, const msgpack::object& o, std::string& out) {
    if (o.type != msgpack::type::BIN)
      return expected(path, "binary", o);
    out.assign(o.via.bin.ptr, o.via.bin.size);
  }
  void read(std::string_view path, const msgpack::object& o, bool& out) {
    if (o.type != msgpack::type::BOOLEAN)
      return expected(path, "a boolean", o);
    out = o.via.boolean;
  }
  void read(std::string_view path, const msgpack::object& o, double& out) {
    if (o.type == msgpack::type::FLOAT32 || o.type == msgpack::type::FLOAT64) {
      out = o.via.f64;
    } else if (o.type == msgpack::type::POSITIVE_INTEGER) {
      out = static_cast<double>(o.via.u64);
    } else if (o.type == msgpack::type::NEGATIVE_INTEGER) {
      out = static_cast<double>(o.via.i64);
    } else {
      expected(path, "a number", o);
    }
  }
  template <typename Int>
  requires std::is_integral_v<Int>
  void read(std::string_view path, const msgpack::object& o, Int& out) {
    if (o.type == msgpack::type::POSITIVE_INTEGER) {
      if (o.via.u64 > static_cast<uint64_t>(std::numeric_limits<Int>::max())) {
        return fail(path, "integer out of range");
      }
      out = static_cast<Int>(o.via.u64);
    } else if (o.type == msgpack::type::NEGATIVE_INTEGER) {
      if constexpr (std::is_unsigned_v<Int>) {
        return fail(path, "expected an unsigned integer, got a negative one");
      } else {
        if (o.via.i64 < static_cast<int64_t>(std::numeric_limits<Int>::min())) {
          return fail(path, "integer out of range");
        }
        out = static_cast<Int>(o.via.i64);
      }
    } else {
      expected(path, "an integer", o);
    }
  }
  void read(std::string_view path, const msgpack::object& o, TaskState& out) {
    int64_t v = -1;
    read(path, o, v);
    if (failed())
      return;
    auto state = task_state_from_int(v);
    if (!state)
      return fail(path, "unknown task state " + std::to_string(v));
    out = *state;
  }
  void read(std::string_view path, const msgpack::object& o, ErrorCode& out) {
    int64_t v = 0;
    read(path, o, v);
    if (!failed())
      out = error_code_from_int(v);
  }
  template <typename T>
  void read(std::string_view path, const msgpack::object& o, std::optional<T>& out) {
    if (o.type == msgpack::type::NIL) {
      out.reset();
      return;
    }
    T value{};
    read(path, o, value);
    if (!failed())
      out = std::move(value);
  }
  template <typename T>
  void read(std::string_view path, const msgpack::object& o, std::vector<T>& out) {
    if (o.type != msgpack::type::ARRAY)
      return expected(path, "an array", o);
    out.clear();
    out.resize(o.via.array.size);
    for (uint32_t i = 0; i < o.via.array.size && !failed(); ++i) {
      read(path, o.via.array.ptr[i], out[i]);
    }
  }
  template <typename V>
  void read(std::string_view path, const msgpack::object& o, std::map<std::string, V>& out) {
    if (o.type != msgpack::type::MAP)
      return expected(path, "a map", o);
    out.clear();
    for (uint32_t i = 0; i < o.via.map.size && !failed(); ++i) {
      const auto& kv = o.via.map.ptr[i];
      std::string key;
      read(path, kv.key, key);
      V value{};
      read(path, kv.val, value);
      if (!failed())
        out.emplace(std::move(key), std::move(value));
    }
  }
  // Structs: each has a field visitor below.
  template <typename T>
  requires HasWireFields<T>
  void read(std::string_view path, const msgpack::object& o, T& out) { read_map(path, o, out); }

  // Walks a map once, handing each known key to the struct's visitor. Unknown keys are
  // ignored (messages only grow); missing keys keep their defaults. `next` is where the
  // visitor expects the following key in its field table (encoders write the table's order).
  template <typename T>
  void read_map(std::string_view path, const msgpack::object& o, T& out) {
    if (o.type != msgpack::type::MAP)
      return expected(path.empty() ? "body" : path, "a map", o);
    size_t next = 0;
    for (uint32_t i = 0; i < o.via.map.size && !failed(); ++i) {
      const auto& kv = o.via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR) {
        return fail(path.empty() ? "body" : path, "map key is not a string");
      }
      std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
      visit_fields(*this, out, key, kv.val, next);
    }
  }

 private:
  Status status_;
};

// One field from a field descriptor (protocol/wire_fields.h).
template <typename S, typename F>
void read_field(Reader& r, S& out, const F& f, const msgpack::object& value) {
  r.read(f.key, value, out.*f.member);
}
template <typename S>
void read_field(Reader& r, S& out, const BinField<S>& f, const msgpack::object& value) {
  r.read_bytes(f.key, value, out.*f.member);
}

// S's field table as an array of (key, reader), so that a key can be looked up by position.
template <HasWireFields S>
struct FieldReaders {
  using ReadFn = void (*)(Reader&, S&, const msgpack::object&);
  struct Entry {
    std::string_view key;
    ReadFn read;
  };
  template <size_t... I>
  static constexpr auto make(std::index_sequence<I...>) {
    return std::array<Entry, sizeof...(I)>{
        Entry{std::get<I>(kWireFields<S>).key, [](Reader& r, S& out, const msgpack::object& value) {
                read_field(r, out, std::get<I>(kWireFields<S>), value);
              }}...};
  }
  static constexpr auto kTable =
      make(std::make_index_sequence<std::tuple_size_v<std::decay_t<decltype(kWireFields<S>)>>>{});
};

// Reads `value` into the field of S whose key is `key`; an unknown key is ignored (messages
// only grow). Tries the field at `next` first: an encoder writes the table's order, so a whole
// map costs one key compare per key instead of a search of the table for each (the search was
// a third of decoding a batched SUBMIT, codec_bench). `next` becomes the position after the
// field found.
template <HasWireFields S>
void visit_fields(Reader& r, S& out, std::string_view key, const msgpack::object& value,
                  size_t& next) {
  const auto& table = FieldReaders<S>::kTable;
  size_t found = next;
  if (found >= table.size() || table[found].key != key) {
    auto it = std::ranges::find(table, key, &FieldReaders<S>::Entry::key);
    if (it == table.end())
      return;
    found = static_cast<size_t>(it - table.begin());
  }
  table[found].read(r, out, value);
  next = found + 1;
}

// The reply's error travels as two keys so that a successful reply stays small.
struct ReplyWire {
  Reply& reply;
  ErrorCode code = ErrorCode::Ok;
  std::string message;
};

void visit_fields(Reader& r, ReplyWire& wire, std::string_view key, const msgpack::object& value,
                  size_t& next) {
  if (key == "request_id")
    return r.read("request_id", value, wire.reply.request_id);
  if (key == "error_code")
    return r.read("error_code", value, wire.code);
  if (key == "error_message")
    return r.read("error_message", value, wire.message);
  visit_fields(r, wire.reply, key, value, next);
}

// The unpacked tree's strings point into the body instead of copies in the tree's zone: the
// body outlives every read of the tree, and the copies were a quarter of decoding a SUBMIT.
bool reference_the_body(msgpack::type::object_type, size_t, void*) {
  return true;
}

// The zone the unpacked tree lives in, one per thread and emptied after each decode (decodes
// do not nest): a batched SUBMIT's tree is about 80 KiB, which a fresh zone allocated chunk by
// chunk (and glibc mapped and unmapped) on every message. Keeps kKept bytes between messages.
class DecodeZone {
 public:
  static constexpr size_t kKept = 64 * 1024;
  DecodeZone() : zone_(thread_zone()) {}
  ~DecodeZone() { zone_.clear(); }
  DecodeZone(const DecodeZone&) = delete;
  DecodeZone& operator=(const DecodeZone&) = delete;
  // The object at body[offset...], its strings pointing into `body`; offset moves past it.
  // Throws msgpack's errors (unpack_error, and bad_alloc for lying sizes).
  msgpack::object unpack(std::string_view body, size_t& offset) {
    return msgpack::unpack(zone_, body.data(), body.size(), offset, reference_the_body, nullptr,
                           kLimits);
  }

 private:
  static msgpack::zone& thread_zone() {
    thread_local msgpack::zone zone(kKept);
    return zone;
  }
  msgpack::zone& zone_;
};

template <typename T>
Status decode_struct(std::string_view body, T& out) {
  try {
    size_t offset = 0;
    DecodeZone zone;
    msgpack::object tree = zone.unpack(body, offset);
    if (offset != body.size())
      return Status::invalid("trailing bytes after the message body");
    Reader reader;
    reader.read_map("", tree, out);
    return reader.status();
  } catch (const msgpack::unpack_error& e) {
    return Status::invalid(std::string("malformed MessagePack: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Status::invalid("malformed MessagePack: declared sizes too large");
  } catch (const std::exception& e) {
    return Status::invalid(std::string("malformed MessagePack: ") + e.what());
  }
}

}  // namespace

// ---------------------------------------------------------------- public entry points

#define CUBE_DEFINE_CODEC(Struct)                          \
  std::string encode_body(const Struct& m) {               \
    return encode_with([&](Packer& p) { put(p, m); });     \
  }                                                        \
  Status decode_body(std::string_view body, Struct& out) { \
    return decode_struct(body, out);                       \
  }

CUBE_DEFINE_CODEC(Hello)
CUBE_DEFINE_CODEC(Welcome)
CUBE_DEFINE_CODEC(Credit)
CUBE_DEFINE_CODEC(Assign)
CUBE_DEFINE_CODEC(Accept)
CUBE_DEFINE_CODEC(Reject)
CUBE_DEFINE_CODEC(Stop)
CUBE_DEFINE_CODEC(Sync)
CUBE_DEFINE_CODEC(Snapshot)
CUBE_DEFINE_CODEC(ErrorMessage)
CUBE_DEFINE_CODEC(LogsFetch)
CUBE_DEFINE_CODEC(LogsData)
CUBE_DEFINE_CODEC(AssignBatch)
CUBE_DEFINE_CODEC(AcceptBatch)
CUBE_DEFINE_CODEC(AgentHeartbeat)
CUBE_DEFINE_CODEC(TaskStateEvent)
CUBE_DEFINE_CODEC(NodeStats)
CUBE_DEFINE_CODEC(TaskStateBatch)
CUBE_DEFINE_CODEC(Beacon)
CUBE_DEFINE_CODEC(SubmitRequest)
CUBE_DEFINE_CODEC(ListRequest)
CUBE_DEFINE_CODEC(GetRequest)
CUBE_DEFINE_CODEC(StopRequest)
CUBE_DEFINE_CODEC(NodesRequest)
CUBE_DEFINE_CODEC(StatusRequest)
CUBE_DEFINE_CODEC(LogsRequest)
CUBE_DEFINE_CODEC(SubmitBatchRequest)
CUBE_DEFINE_CODEC(ServiceCreateRequest)
CUBE_DEFINE_CODEC(ServiceListRequest)
CUBE_DEFINE_CODEC(ServiceInspectRequest)
CUBE_DEFINE_CODEC(ServiceScaleRequest)
CUBE_DEFINE_CODEC(ServiceRemoveRequest)
CUBE_DEFINE_CODEC(ServiceUpdateRequest)
CUBE_DEFINE_CODEC(ServiceRollbackRequest)
CUBE_DEFINE_CODEC(ServiceRestartRequest)
CUBE_DEFINE_CODEC(EventsRequest)
#undef CUBE_DEFINE_CODEC

std::string encode_body(const Reply& m) {
  return encode_with([&](Packer& p) {
    p.pack_map(3 + written_count(m));
    pack_str(p, "request_id");
    put(p, m.request_id);
    pack_str(p, "error_code");
    put(p, m.status.code());
    pack_str(p, "error_message");
    put(p, m.status.message());
    put_fields(p, m);
  });
}
Status decode_body(std::string_view body, Reply& out) {
  ReplyWire wire{out, ErrorCode::Ok, {}};
  Status s = decode_struct(body, wire);
  if (!s.is_ok())
    return s;
  if (wire.code == ErrorCode::Ok) {
    out.status = Status::ok();
  } else {
    out.status = Status(wire.code, std::move(wire.message));
  }
  return Status::ok();
}

uint64_t peek_request_id(std::string_view body) {
  uint64_t request_id = 0;
  try {
    size_t offset = 0;
    DecodeZone zone;
    msgpack::object o = zone.unpack(body, offset);
    if (o.type != msgpack::type::MAP)
      return 0;
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      const auto& kv = o.via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR &&
          std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == "request_id" &&
          kv.val.type == msgpack::type::POSITIVE_INTEGER) {
        request_id = kv.val.via.u64;
      }
    }
  } catch (const std::exception&) {
    return 0;
  }
  return request_id;
}

std::string encode_service(const Service& service) {
  return encode_with([&](Packer& p) { put(p, service); });
}

Status decode_service(std::string_view bytes, Service& out) {
  return decode_struct(bytes, out);
}

std::string encode_task(const Task& task) {
  return encode_with([&](Packer& p) { put(p, task); });
}
Status decode_task(std::string_view bytes, Task& out) {
  return decode_struct(bytes, out);
}

std::string encode_task_event(const TaskEvent& event) {
  return encode_with([&](Packer& p) { put(p, event); });
}
Status decode_task_event(std::string_view bytes, TaskEvent& out) {
  return decode_struct(bytes, out);
}

std::string encode_task_compact(const Task& task) {
  return encode_with([&](Packer& p) { put_compact(p, task); });
}

std::string encode_task_event_compact(const TaskEvent& event) {
  return encode_with([&](Packer& p) { put_compact(p, event); });
}

void append_task_event_compact(const TaskEvent& event, std::string& out) {
  StringSink sink{out};
  Packer packer(sink);
  put_compact(packer, event);
}

std::string_view peek_task_id(std::string_view blob) {
  // Our own encoders' output only: a fixmap or map16 header, then "id" first (wire_fields.h
  // lists it first, and the compact form drops it only when empty), a str8/str16/fixstr value.
  auto byte = [&](size_t i) { return static_cast<uint8_t>(blob[i]); };
  size_t pos = 0;
  if (!blob.empty() && (byte(0) & 0xf0) == 0x80) {
    pos = 1;
  } else if (!blob.empty() && byte(0) == 0xde) {
    pos = 3;
  } else {
    return {};
  }
  constexpr std::string_view kIdKey = "\xa2id";
  if (blob.substr(pos, kIdKey.size()) != kIdKey)
    return {};
  pos += kIdKey.size();
  if (pos >= blob.size())
    return {};
  size_t size = 0;
  if ((byte(pos) & 0xe0) == 0xa0) {
    size = byte(pos) & 0x1fu;
    pos += 1;
  } else if (byte(pos) == 0xd9 && blob.size() - pos >= 2) {
    size = byte(pos + 1);
    pos += 2;
  } else if (byte(pos) == 0xda && blob.size() - pos >= 3) {
    size = (size_t{byte(pos + 1)} << 8) | byte(pos + 2);
    pos += 3;
  } else {
    return {};
  }
  if (blob.size() - pos < size)
    return {};
  return blob.substr(pos, size);
}

const char* message_type_name(uint8_t type) {
  switch (static_cast<MessageType>(type)) {
    case MessageType::Hello:
      return "HELLO";
    case MessageType::Welcome:
      return "WELCOME";
    case MessageType::Credit:
      return "CREDIT";
    case MessageType::Assign:
      return "ASSIGN";
    case MessageType::Accept:
      return "ACCEPT";
    case MessageType::Reject:
      return "REJECT";
    case MessageType::Stop:
      return "STOP";
    case MessageType::Sync:
      return "SYNC";
    case MessageType::Snapshot:
      return "SNAPSHOT";
    case MessageType::Error:
      return "ERROR";
    case MessageType::LogsFetch:
      return "LOGS_FETCH";
    case MessageType::LogsData:
      return "LOGS_DATA";
    case MessageType::AssignBatch:
      return "ASSIGN_BATCH";
    case MessageType::AcceptBatch:
      return "ACCEPT_BATCH";
    case MessageType::NodeStats:
      return "NODE_STATS";
    case MessageType::TaskStateBatch:
      return "TASK_STATE_BATCH";
    case MessageType::LogsRequest:
      return "LOGS";
    case MessageType::SubmitBatchRequest:
      return "SUBMIT_BATCH";
    case MessageType::ServiceCreateRequest:
      return "SERVICE_CREATE";
    case MessageType::ServiceListRequest:
      return "SERVICE_LIST";
    case MessageType::ServiceInspectRequest:
      return "SERVICE_INSPECT";
    case MessageType::ServiceScaleRequest:
      return "SERVICE_SCALE";
    case MessageType::ServiceRemoveRequest:
      return "SERVICE_REMOVE";
    case MessageType::ServiceUpdateRequest:
      return "SERVICE_UPDATE";
    case MessageType::ServiceRollbackRequest:
      return "SERVICE_ROLLBACK";
    case MessageType::ServiceRestartRequest:
      return "SERVICE_RESTART";
    case MessageType::EventsRequest:
      return "EVENTS";
    case MessageType::AgentHeartbeat:
      return "AGENT_HEARTBEAT";
    case MessageType::TaskStateEvent:
      return "TASK_STATE";
    case MessageType::Beacon:
      return "BEACON";
    case MessageType::SubmitRequest:
      return "SUBMIT";
    case MessageType::ListRequest:
      return "LIST";
    case MessageType::GetRequest:
      return "GET";
    case MessageType::StopRequest:
      return "STOP_TASK";
    case MessageType::NodesRequest:
      return "NODES";
    case MessageType::StatusRequest:
      return "STATUS";
    case MessageType::Reply:
      return "REPLY";
  }
  return "UNKNOWN";
}

}  // namespace cube::protocol
