// Test-side MessagePack tools, written independently of protocol/codec.cpp so that the tests do
// not trust the code they test: a writer for hand-made (often malformed) bodies, and a walker
// that finds where each key and value of a map lies in an encoded body, so a test can remove,
// add or replace one key of a golden body and keep the rest byte for byte.
//
// The walker expects well-formed input (golden bodies); on malformed input it reports a gtest
// failure and returns the end of the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cube::test {

// Appends MessagePack items in the smallest encoding, or exactly the header asked for.
class MsgpackWriter {
 public:
  MsgpackWriter& map(uint32_t count);
  MsgpackWriter& array(uint32_t count);
  MsgpackWriter& str(std::string_view s);
  MsgpackWriter& bin(std::string_view b);
  MsgpackWriter& uint(uint64_t v);
  MsgpackWriter& sint(int64_t v);  // negative values use the negative encodings
  MsgpackWriter& f64(double v);
  MsgpackWriter& boolean(bool v);
  MsgpackWriter& nil();
  // Raw bytes, for headers that lie about their size and other malformed input.
  MsgpackWriter& raw(std::string_view bytes);
  MsgpackWriter& byte(uint8_t b);

  const std::string& bytes() const { return out_; }

 private:
  void be(uint64_t v, int width);
  std::string out_;
};

// Shorthand for one encoded item: mp().str("x").bytes().
inline MsgpackWriter mp() {
  return MsgpackWriter();
}

// What starts at `offset`: a container (its header size and element count) or a scalar.
struct ObjectInfo {
  enum Kind { Scalar, Array, Map } kind = Scalar;
  size_t header_end = 0;  // first byte after the header (containers)
  uint64_t count = 0;     // entries of a map, elements of an array
};
ObjectInfo inspect(std::string_view bytes, size_t offset);

// "81 a1 6b" for messages.
std::string to_hex(std::string_view bytes);

// Offset just past the object that starts at `offset`.
size_t skip_object(std::string_view bytes, size_t offset);

struct MapEntryLayout {
  std::string key;   // the key as text (keys in Cube bodies are strings)
  size_t begin = 0;  // first byte of the key
  size_t value = 0;  // first byte of the value
  size_t end = 0;    // one past the value
};

struct MapLayout {
  size_t begin = 0;       // the map header
  size_t header_end = 0;  // first byte of the first key
  std::vector<MapEntryLayout> entries;
  size_t end = 0;
};

// Layout of the map at `offset`; a gtest failure when it is not a map.
MapLayout map_layout(std::string_view bytes, size_t offset);

// A path from the body's root map to a nested object: map keys and array indices.
using PathItem = std::variant<std::string, size_t>;
using Path = std::vector<PathItem>;

// "task.port_bindings.8080/tcp[0]" for messages.
std::string path_to_string(const Path& path);

// Offset of the object at `path`; a gtest failure (and bytes.size()) when it does not exist.
size_t locate(std::string_view bytes, const Path& path);

// The smallest map header for `count` entries.
std::string map_header(uint32_t count);

// Body with `key` removed from the map at `map_path` (header count decremented).
std::string remove_key(std::string_view bytes, const Path& map_path, std::string_view key);

// Body with `key: value_bytes` appended to the map at `map_path` (header count incremented).
std::string append_key(std::string_view bytes, const Path& map_path, std::string_view key,
                       std::string_view value_bytes);

// Body with the value of `key` in the map at `map_path` replaced by `value_bytes`.
std::string replace_value(std::string_view bytes, const Path& map_path, std::string_view key,
                          std::string_view value_bytes);

// Every key of the map at `map_path`, in body order.
std::vector<std::string> keys_of(std::string_view bytes, const Path& map_path);

}  // namespace cube::test
