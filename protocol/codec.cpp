#include "protocol/codec.h"

#include <msgpack.hpp>

#include <bit>
#include <concepts>
#include <exception>
#include <limits>
#include <type_traits>

namespace cube::protocol {
namespace {

// ---------------------------------------------------------------- encoding

// msgpack-c's packer writes into any stream with write(data, size). encode_with packs into a
// per-thread scratch string that keeps its capacity, then returns an exact-size copy: one
// allocation per message instead of an sbuffer's (grown by doubling) plus the copy (cube-bench
// profile of the broker loop), and callers that keep the bytes keep no slack.
struct StringSink {
  std::string bytes;
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

// Struct overloads are declared first so the templates below find them.
void put(Packer& p, const PortBinding& b);
void put(Packer& p, const TaskEvent& e);
void put(Packer& p, const Capacity& c);
void put(Packer& p, const Task& t);
void put(Packer& p, const TaskStatus& s);
void put(Packer& p, const NodeUsage& u);
void put(Packer& p, const TaskStats& t);
void put(Packer& p, const NodeInfo& n);
void put(Packer& p, const BrokerStatus& b);
void put(Packer& p, const LogsChunk& c);

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

// Writes `key: value` pairs after a map header with the right count.
class MapWriter {
 public:
  MapWriter(Packer& p, uint32_t count) : p_(p), remaining_(count) { p_.pack_map(count); }
  ~MapWriter() { CUBE_CHECK(remaining_ == 0) << "map header count differs from keys written"; }
  template <typename T>
  MapWriter& operator()(std::string_view key, const T& value) {
    CUBE_CHECK(remaining_ > 0) << "more keys than the map header declared, at " << key;
    --remaining_;
    pack_str(p_, key);
    put(p_, value);
    return *this;
  }

 private:
  Packer& p_;
  uint32_t remaining_;
};

void put(Packer& p, const PortBinding& b) {
  MapWriter(p, 2)("host_ip", b.host_ip)("host_port", b.host_port);
}

void put(Packer& p, const TaskEvent& e) {
  MapWriter(p, 4)("state", e.state)("timestamp_ms", e.timestamp_ms)("reason", e.reason)("node",
                                                                                        e.node);
}

void put(Packer& p, const Capacity& c) {
  MapWriter(p, 4)("cpu", c.cpu)("memory_bytes", c.memory_bytes)("disk_bytes", c.disk_bytes)(
      "slots", c.slots);
}

void put(Packer& p, const Task& t) {
  MapWriter(p, 32)("id", t.id)("name", t.name)("image", t.image)("cmd", t.cmd)("env", t.env)(
      "cpu", t.cpu)("memory_bytes", t.memory_bytes)("disk_bytes", t.disk_bytes)(
      "exposed_ports", t.exposed_ports)("restart_policy", t.restart_policy)(
      "health_check", t.health_check)("driver", t.driver)("constraints", t.constraints)(
      "labels", t.labels)("duration_ms", t.duration_ms)("state", t.state)(
      "desired_state", t.desired_state)("attempt", t.attempt)("restart_count", t.restart_count)(
      "node_id", t.node_id)("node", t.node)("reason", t.reason)("exit_code", t.exit_code)(
      "container_id", t.container_id)("port_bindings", t.port_bindings)(
      "start_time_ms", t.start_time_ms)("finish_time_ms", t.finish_time_ms)(
      "created_ms", t.created_ms)("updated_ms", t.updated_ms)(
      "health_interval_ms", t.health_interval_ms)("health_timeout_ms", t.health_timeout_ms)(
      "health_retries", t.health_retries);
}

void put(Packer& p, const TaskStatus& s) {
  MapWriter(p, 9)("task_id", s.task_id)("attempt", s.attempt)("state", s.state)(
      "exit_code", s.exit_code)("reason", s.reason)("container_id", s.container_id)(
      "port_bindings", s.port_bindings)("start_time_ms", s.start_time_ms)("finish_time_ms",
                                                                          s.finish_time_ms);
}

void put(Packer& p, const NodeUsage& u) {
  MapWriter(p, 11)("sampled_ms", u.sampled_ms)("cpu_used", u.cpu_used)("cpu_total", u.cpu_total)(
      "memory_used_bytes", u.memory_used_bytes)("memory_total_bytes", u.memory_total_bytes)(
      "disk_used_bytes", u.disk_used_bytes)("disk_total_bytes", u.disk_total_bytes)(
      "load_1", u.load_1)("load_5", u.load_5)("load_15", u.load_15)("running", u.running);
}

void put(Packer& p, const TaskStats& t) {
  MapWriter(p, 5)("task_id", t.task_id)("attempt", t.attempt)("sampled_ms", t.sampled_ms)(
      "cpu_used", t.cpu_used)("memory_bytes", t.memory_bytes);
}

void put(Packer& p, const NodeInfo& n) {
  MapWriter(p, 12)("id", n.id)("name", n.name)("state", n.state)("version", n.version)(
      "drivers", n.drivers)("capacity", n.capacity)("labels", n.labels)("running", n.running)(
      "free_slots", n.free_slots)("last_seen_ms", n.last_seen_ms)("allocated", n.allocated)(
      "usage", n.usage);
}

void put(Packer& p, const BrokerStatus& b) {
  MapWriter(p, 8)("version", b.version)("epoch", b.epoch)("started_ms", b.started_ms)(
      "tasks_by_state", b.tasks_by_state)("nodes_ready", b.nodes_ready)(
      "nodes_total", b.nodes_total)("counters", b.counters)("scheduler", b.scheduler);
}

void put(Packer& p, const LogsChunk& c) {
  MapWriter(p, 3)("data", Bin{c.data})("next_offset", c.next_offset)("eof", c.eof);
}

template <typename Fn>
std::string encode_with(Fn&& fn) {
  // A big reply (a LIST of every task) must not pin its size in every thread that sent one.
  constexpr size_t kScratchKept = 64 * 1024;
  thread_local StringSink sink;  // encode_with never nests: fn only packs
  sink.bytes.clear();
  Packer packer(sink);
  fn(packer);
  std::string out = sink.bytes;
  if (sink.bytes.capacity() > kScratchKept)
    sink.bytes = std::string();
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
  requires std::is_class_v<T> && requires(Reader& r, T& t) { visit_fields(r, t, "", nullptr); }
  void read(std::string_view path, const msgpack::object& o, T& out) { read_map(path, o, out); }

  // Walks a map once, handing each known key to the struct's visitor. Unknown keys are
  // ignored (messages only grow); missing keys keep their defaults.
  template <typename T>
  void read_map(std::string_view path, const msgpack::object& o, T& out) {
    if (o.type != msgpack::type::MAP)
      return expected(path.empty() ? "body" : path, "a map", o);
    for (uint32_t i = 0; i < o.via.map.size && !failed(); ++i) {
      const auto& kv = o.via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR) {
        return fail(path.empty() ? "body" : path, "map key is not a string");
      }
      std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
      visit_fields(*this, out, key, &kv.val);
    }
  }

 private:
  Status status_;
};

// A visitor binds each wire key to a member: F(key, member) reads `value` into `member` when
// `key` matches. Writing the keys once here keeps decode in step with the encoders above.
#define CUBE_FIELD(name, member)      \
  if (key == name) {                  \
    r.read(name, *value, out.member); \
    return;                           \
  }

void visit_fields(Reader& r, PortBinding& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("host_ip", host_ip)
  CUBE_FIELD("host_port", host_port)
}

void visit_fields(Reader& r, TaskEvent& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("state", state)
  CUBE_FIELD("timestamp_ms", timestamp_ms)
  CUBE_FIELD("reason", reason)
  CUBE_FIELD("node", node)
}

void visit_fields(Reader& r, Capacity& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("cpu", cpu)
  CUBE_FIELD("memory_bytes", memory_bytes)
  CUBE_FIELD("disk_bytes", disk_bytes)
  CUBE_FIELD("slots", slots)
}

void visit_fields(Reader& r, Task& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("id", id)
  CUBE_FIELD("name", name)
  CUBE_FIELD("image", image)
  CUBE_FIELD("cmd", cmd)
  CUBE_FIELD("env", env)
  CUBE_FIELD("cpu", cpu)
  CUBE_FIELD("memory_bytes", memory_bytes)
  CUBE_FIELD("disk_bytes", disk_bytes)
  CUBE_FIELD("exposed_ports", exposed_ports)
  CUBE_FIELD("restart_policy", restart_policy)
  CUBE_FIELD("health_check", health_check)
  CUBE_FIELD("driver", driver)
  CUBE_FIELD("constraints", constraints)
  CUBE_FIELD("labels", labels)
  CUBE_FIELD("duration_ms", duration_ms)
  CUBE_FIELD("state", state)
  CUBE_FIELD("desired_state", desired_state)
  CUBE_FIELD("attempt", attempt)
  CUBE_FIELD("restart_count", restart_count)
  CUBE_FIELD("node_id", node_id)
  CUBE_FIELD("node", node)
  CUBE_FIELD("reason", reason)
  CUBE_FIELD("exit_code", exit_code)
  CUBE_FIELD("container_id", container_id)
  CUBE_FIELD("port_bindings", port_bindings)
  CUBE_FIELD("start_time_ms", start_time_ms)
  CUBE_FIELD("finish_time_ms", finish_time_ms)
  CUBE_FIELD("created_ms", created_ms)
  CUBE_FIELD("updated_ms", updated_ms)
  CUBE_FIELD("health_interval_ms", health_interval_ms)
  CUBE_FIELD("health_timeout_ms", health_timeout_ms)
  CUBE_FIELD("health_retries", health_retries)
}

void visit_fields(Reader& r, TaskStatus& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("task_id", task_id)
  CUBE_FIELD("attempt", attempt)
  CUBE_FIELD("state", state)
  CUBE_FIELD("exit_code", exit_code)
  CUBE_FIELD("reason", reason)
  CUBE_FIELD("container_id", container_id)
  CUBE_FIELD("port_bindings", port_bindings)
  CUBE_FIELD("start_time_ms", start_time_ms)
  CUBE_FIELD("finish_time_ms", finish_time_ms)
}

void visit_fields(Reader& r, NodeInfo& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("id", id)
  CUBE_FIELD("name", name)
  CUBE_FIELD("state", state)
  CUBE_FIELD("version", version)
  CUBE_FIELD("drivers", drivers)
  CUBE_FIELD("capacity", capacity)
  CUBE_FIELD("labels", labels)
  CUBE_FIELD("running", running)
  CUBE_FIELD("free_slots", free_slots)
  CUBE_FIELD("last_seen_ms", last_seen_ms)
  CUBE_FIELD("allocated", allocated)
  CUBE_FIELD("usage", usage)
}

void visit_fields(Reader& r, NodeUsage& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("sampled_ms", sampled_ms)
  CUBE_FIELD("cpu_used", cpu_used)
  CUBE_FIELD("cpu_total", cpu_total)
  CUBE_FIELD("memory_used_bytes", memory_used_bytes)
  CUBE_FIELD("memory_total_bytes", memory_total_bytes)
  CUBE_FIELD("disk_used_bytes", disk_used_bytes)
  CUBE_FIELD("disk_total_bytes", disk_total_bytes)
  CUBE_FIELD("load_1", load_1)
  CUBE_FIELD("load_5", load_5)
  CUBE_FIELD("load_15", load_15)
  CUBE_FIELD("running", running)
}

void visit_fields(Reader& r, TaskStats& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("task_id", task_id)
  CUBE_FIELD("attempt", attempt)
  CUBE_FIELD("sampled_ms", sampled_ms)
  CUBE_FIELD("cpu_used", cpu_used)
  CUBE_FIELD("memory_bytes", memory_bytes)
}

void visit_fields(Reader& r, NodeStats& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("agent_id", agent_id)
  CUBE_FIELD("session_id", session_id)
  CUBE_FIELD("seq", seq)
  CUBE_FIELD("usage", usage)
  CUBE_FIELD("tasks", tasks)
}

void visit_fields(Reader& r, BrokerStatus& out, std::string_view key,
                  const msgpack::object* value) {
  CUBE_FIELD("version", version)
  CUBE_FIELD("epoch", epoch)
  CUBE_FIELD("started_ms", started_ms)
  CUBE_FIELD("tasks_by_state", tasks_by_state)
  CUBE_FIELD("nodes_ready", nodes_ready)
  CUBE_FIELD("nodes_total", nodes_total)
  CUBE_FIELD("counters", counters)
  CUBE_FIELD("scheduler", scheduler)
}

void visit_fields(Reader& r, LogsChunk& out, std::string_view key, const msgpack::object* value) {
  if (key == "data")
    return r.read_bytes("data", *value, out.data);
  CUBE_FIELD("next_offset", next_offset)
  CUBE_FIELD("eof", eof)
}

void visit_fields(Reader& r, Hello& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("agent_id", agent_id)
  CUBE_FIELD("name", name)
  CUBE_FIELD("version", version)
  CUBE_FIELD("drivers", drivers)
  CUBE_FIELD("capacity", capacity)
  CUBE_FIELD("labels", labels)
  CUBE_FIELD("seq", seq)
  CUBE_FIELD("tasks", tasks)
}

void visit_fields(Reader& r, Welcome& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("session_id", session_id)
  CUBE_FIELD("broker_epoch", broker_epoch)
  CUBE_FIELD("heartbeat_ms", heartbeat_ms)
}

void visit_fields(Reader& r, Credit& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("session_id", session_id)
  CUBE_FIELD("free_slots", free_slots)
}

void visit_fields(Reader& r, Assign& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("task", task)
}

void visit_fields(Reader& r, Accept& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("session_id", session_id)
  CUBE_FIELD("task_id", task_id)
  CUBE_FIELD("attempt", attempt)
}

void visit_fields(Reader& r, Reject& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("session_id", session_id)
  CUBE_FIELD("task_id", task_id)
  CUBE_FIELD("attempt", attempt)
  CUBE_FIELD("reason", reason)
}

void visit_fields(Reader& r, Stop& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("task_id", task_id)
  CUBE_FIELD("attempt", attempt)
  CUBE_FIELD("grace_ms", grace_ms)
  CUBE_FIELD("reason", reason)
}

void visit_fields(Reader& r, Sync& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("reason", reason)
}

void visit_fields(Reader& r, Snapshot& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("session_id", session_id)
  CUBE_FIELD("seq", seq)
  CUBE_FIELD("tasks", tasks)
}

void visit_fields(Reader& r, ErrorMessage& out, std::string_view key,
                  const msgpack::object* value) {
  CUBE_FIELD("code", code)
  CUBE_FIELD("message", message)
}

void visit_fields(Reader& r, LogsFetch& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("fetch_id", fetch_id)
  CUBE_FIELD("task_id", task_id)
  CUBE_FIELD("attempt", attempt)
  CUBE_FIELD("offset", offset)
  CUBE_FIELD("max_bytes", max_bytes)
  CUBE_FIELD("tail_lines", tail_lines)
}

void visit_fields(Reader& r, LogsData& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("fetch_id", fetch_id)
  if (key == "data")
    return r.read_bytes("data", *value, out.data);
  CUBE_FIELD("next_offset", next_offset)
  CUBE_FIELD("eof", eof)
  CUBE_FIELD("error_code", error_code)
  CUBE_FIELD("error_message", error_message)
}

void visit_fields(Reader& r, AgentHeartbeat& out, std::string_view key,
                  const msgpack::object* value) {
  CUBE_FIELD("agent_id", agent_id)
  CUBE_FIELD("session_id", session_id)
  CUBE_FIELD("seq", seq)
  CUBE_FIELD("running", running)
  CUBE_FIELD("free_slots", free_slots)
}

void visit_fields(Reader& r, TaskStateEvent& out, std::string_view key,
                  const msgpack::object* value) {
  CUBE_FIELD("agent_id", agent_id)
  CUBE_FIELD("session_id", session_id)
  CUBE_FIELD("seq", seq)
  CUBE_FIELD("status", status)
}

void visit_fields(Reader& r, Beacon& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("broker_epoch", broker_epoch)
  CUBE_FIELD("heartbeat_ms", heartbeat_ms)
}

void visit_fields(Reader& r, SubmitRequest& out, std::string_view key,
                  const msgpack::object* value) {
  CUBE_FIELD("request_id", request_id)
  CUBE_FIELD("task", task)
}

void visit_fields(Reader& r, ListRequest& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("request_id", request_id)
}

void visit_fields(Reader& r, GetRequest& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("request_id", request_id)
  CUBE_FIELD("task_id", task_id)
}

void visit_fields(Reader& r, StopRequest& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("request_id", request_id)
  CUBE_FIELD("task_id", task_id)
}

void visit_fields(Reader& r, NodesRequest& out, std::string_view key,
                  const msgpack::object* value) {
  CUBE_FIELD("request_id", request_id)
}

void visit_fields(Reader& r, StatusRequest& out, std::string_view key,
                  const msgpack::object* value) {
  CUBE_FIELD("request_id", request_id)
}

void visit_fields(Reader& r, LogsRequest& out, std::string_view key, const msgpack::object* value) {
  CUBE_FIELD("request_id", request_id)
  CUBE_FIELD("task_id", task_id)
  CUBE_FIELD("offset", offset)
  CUBE_FIELD("max_bytes", max_bytes)
  CUBE_FIELD("tail_lines", tail_lines)
}

// The reply's error travels as two keys so that a successful reply stays small.
struct ReplyWire {
  Reply& reply;
  ErrorCode code = ErrorCode::Ok;
  std::string message;
};

void visit_fields(Reader& r, ReplyWire& wire, std::string_view key, const msgpack::object* value) {
  Reply& out = wire.reply;
  CUBE_FIELD("request_id", request_id)
  CUBE_FIELD("task", task)
  CUBE_FIELD("events", events)
  CUBE_FIELD("tasks", tasks)
  CUBE_FIELD("nodes", nodes)
  CUBE_FIELD("broker", broker)
  CUBE_FIELD("logs", logs)
  CUBE_FIELD("task_stats", task_stats)
  if (key == "error_code")
    return r.read("error_code", *value, wire.code);
  if (key == "error_message")
    return r.read("error_message", *value, wire.message);
}

#undef CUBE_FIELD

template <typename T>
Status decode_struct(std::string_view body, T& out) {
  try {
    size_t offset = 0;
    msgpack::object_handle handle =
        msgpack::unpack(body.data(), body.size(), offset, nullptr, nullptr, kLimits);
    if (offset != body.size())
      return Status::invalid("trailing bytes after the message body");
    Reader reader;
    reader.read_map("", handle.get(), out);
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

std::string encode_body(const Hello& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 8)("agent_id", m.agent_id)("name", m.name)("version", m.version)(
        "drivers", m.drivers)("capacity", m.capacity)("labels", m.labels)("seq", m.seq)("tasks",
                                                                                        m.tasks);
  });
}
Status decode_body(std::string_view body, Hello& out) {
  return decode_struct(body, out);
}

std::string encode_body(const Welcome& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 3)("session_id", m.session_id)("broker_epoch", m.broker_epoch)("heartbeat_ms",
                                                                                m.heartbeat_ms);
  });
}
Status decode_body(std::string_view body, Welcome& out) {
  return decode_struct(body, out);
}

std::string encode_body(const Credit& m) {
  return encode_with(
      [&](Packer& p) { MapWriter(p, 2)("session_id", m.session_id)("free_slots", m.free_slots); });
}
Status decode_body(std::string_view body, Credit& out) {
  return decode_struct(body, out);
}

std::string encode_body(const Assign& m) {
  return encode_with([&](Packer& p) { MapWriter(p, 1)("task", m.task); });
}
Status decode_body(std::string_view body, Assign& out) {
  return decode_struct(body, out);
}

std::string encode_body(const Accept& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 3)("session_id", m.session_id)("task_id", m.task_id)("attempt", m.attempt);
  });
}
Status decode_body(std::string_view body, Accept& out) {
  return decode_struct(body, out);
}

std::string encode_body(const Reject& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 4)("session_id", m.session_id)("task_id", m.task_id)("attempt", m.attempt)(
        "reason", m.reason);
  });
}
Status decode_body(std::string_view body, Reject& out) {
  return decode_struct(body, out);
}

std::string encode_body(const Stop& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 4)("task_id", m.task_id)("attempt", m.attempt)("grace_ms", m.grace_ms)("reason",
                                                                                        m.reason);
  });
}
Status decode_body(std::string_view body, Stop& out) {
  return decode_struct(body, out);
}

std::string encode_body(const Sync& m) {
  return encode_with([&](Packer& p) { MapWriter(p, 1)("reason", m.reason); });
}
Status decode_body(std::string_view body, Sync& out) {
  return decode_struct(body, out);
}

std::string encode_body(const Snapshot& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 3)("session_id", m.session_id)("seq", m.seq)("tasks", m.tasks);
  });
}
Status decode_body(std::string_view body, Snapshot& out) {
  return decode_struct(body, out);
}

std::string encode_body(const ErrorMessage& m) {
  return encode_with([&](Packer& p) { MapWriter(p, 2)("code", m.code)("message", m.message); });
}
Status decode_body(std::string_view body, ErrorMessage& out) {
  return decode_struct(body, out);
}

std::string encode_body(const LogsFetch& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 6)("fetch_id", m.fetch_id)("task_id", m.task_id)("attempt", m.attempt)(
        "offset", m.offset)("max_bytes", m.max_bytes)("tail_lines", m.tail_lines);
  });
}
Status decode_body(std::string_view body, LogsFetch& out) {
  return decode_struct(body, out);
}

std::string encode_body(const LogsData& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 6)("fetch_id", m.fetch_id)("data", Bin{m.data})("next_offset", m.next_offset)(
        "eof", m.eof)("error_code", m.error_code)("error_message", m.error_message);
  });
}
Status decode_body(std::string_view body, LogsData& out) {
  return decode_struct(body, out);
}

std::string encode_body(const AgentHeartbeat& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 5)("agent_id", m.agent_id)("session_id", m.session_id)("seq", m.seq)(
        "running", m.running)("free_slots", m.free_slots);
  });
}
Status decode_body(std::string_view body, AgentHeartbeat& out) {
  return decode_struct(body, out);
}

std::string encode_body(const TaskStateEvent& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 4)("agent_id", m.agent_id)("session_id", m.session_id)("seq", m.seq)("status",
                                                                                      m.status);
  });
}
Status decode_body(std::string_view body, TaskStateEvent& out) {
  return decode_struct(body, out);
}

std::string encode_body(const NodeStats& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 5)("agent_id", m.agent_id)("session_id", m.session_id)("seq", m.seq)(
        "usage", m.usage)("tasks", m.tasks);
  });
}
Status decode_body(std::string_view body, NodeStats& out) {
  return decode_struct(body, out);
}

std::string encode_body(const Beacon& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 2)("broker_epoch", m.broker_epoch)("heartbeat_ms", m.heartbeat_ms);
  });
}
Status decode_body(std::string_view body, Beacon& out) {
  return decode_struct(body, out);
}

std::string encode_body(const SubmitRequest& m) {
  return encode_with(
      [&](Packer& p) { MapWriter(p, 2)("request_id", m.request_id)("task", m.task); });
}
Status decode_body(std::string_view body, SubmitRequest& out) {
  return decode_struct(body, out);
}

std::string encode_body(const ListRequest& m) {
  return encode_with([&](Packer& p) { MapWriter(p, 1)("request_id", m.request_id); });
}
Status decode_body(std::string_view body, ListRequest& out) {
  return decode_struct(body, out);
}

std::string encode_body(const GetRequest& m) {
  return encode_with(
      [&](Packer& p) { MapWriter(p, 2)("request_id", m.request_id)("task_id", m.task_id); });
}
Status decode_body(std::string_view body, GetRequest& out) {
  return decode_struct(body, out);
}

std::string encode_body(const StopRequest& m) {
  return encode_with(
      [&](Packer& p) { MapWriter(p, 2)("request_id", m.request_id)("task_id", m.task_id); });
}
Status decode_body(std::string_view body, StopRequest& out) {
  return decode_struct(body, out);
}

std::string encode_body(const NodesRequest& m) {
  return encode_with([&](Packer& p) { MapWriter(p, 1)("request_id", m.request_id); });
}
Status decode_body(std::string_view body, NodesRequest& out) {
  return decode_struct(body, out);
}

std::string encode_body(const StatusRequest& m) {
  return encode_with([&](Packer& p) { MapWriter(p, 1)("request_id", m.request_id); });
}
Status decode_body(std::string_view body, StatusRequest& out) {
  return decode_struct(body, out);
}

std::string encode_body(const LogsRequest& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 5)("request_id", m.request_id)("task_id", m.task_id)("offset", m.offset)(
        "max_bytes", m.max_bytes)("tail_lines", m.tail_lines);
  });
}
Status decode_body(std::string_view body, LogsRequest& out) {
  return decode_struct(body, out);
}

std::string encode_body(const Reply& m) {
  return encode_with([&](Packer& p) {
    MapWriter(p, 10)("request_id", m.request_id)("error_code", m.status.code())(
        "error_message", m.status.message())("task", m.task)("events", m.events)("tasks", m.tasks)(
        "nodes", m.nodes)("broker", m.broker)("logs", m.logs)("task_stats", m.task_stats);
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
    auto handle = msgpack::unpack(body.data(), body.size(), offset, nullptr, nullptr, kLimits);
    const auto& o = handle.get();
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
    case MessageType::NodeStats:
      return "NODE_STATS";
    case MessageType::LogsRequest:
      return "LOGS";
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
