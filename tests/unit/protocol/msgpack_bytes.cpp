#include "tests/unit/protocol/msgpack_bytes.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>

namespace cube::test {

void MsgpackWriter::be(uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i)
    out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

MsgpackWriter& MsgpackWriter::byte(uint8_t b) {
  out_.push_back(static_cast<char>(b));
  return *this;
}

MsgpackWriter& MsgpackWriter::map(uint32_t count) {
  if (count < 16) {
    byte(static_cast<uint8_t>(0x80 | count));
  } else if (count <= 0xffff) {
    byte(0xde);
    be(count, 2);
  } else {
    byte(0xdf);
    be(count, 4);
  }
  return *this;
}

MsgpackWriter& MsgpackWriter::array(uint32_t count) {
  if (count < 16) {
    byte(static_cast<uint8_t>(0x90 | count));
  } else if (count <= 0xffff) {
    byte(0xdc);
    be(count, 2);
  } else {
    byte(0xdd);
    be(count, 4);
  }
  return *this;
}

MsgpackWriter& MsgpackWriter::str(std::string_view s) {
  if (s.size() < 32) {
    byte(static_cast<uint8_t>(0xa0 | s.size()));
  } else if (s.size() <= 0xff) {
    byte(0xd9);
    be(s.size(), 1);
  } else if (s.size() <= 0xffff) {
    byte(0xda);
    be(s.size(), 2);
  } else {
    byte(0xdb);
    be(s.size(), 4);
  }
  out_.append(s);
  return *this;
}

MsgpackWriter& MsgpackWriter::bin(std::string_view b) {
  if (b.size() <= 0xff) {
    byte(0xc4);
    be(b.size(), 1);
  } else if (b.size() <= 0xffff) {
    byte(0xc5);
    be(b.size(), 2);
  } else {
    byte(0xc6);
    be(b.size(), 4);
  }
  out_.append(b);
  return *this;
}

MsgpackWriter& MsgpackWriter::uint(uint64_t v) {
  if (v < 128) {
    byte(static_cast<uint8_t>(v));
  } else if (v <= 0xff) {
    byte(0xcc);
    be(v, 1);
  } else if (v <= 0xffff) {
    byte(0xcd);
    be(v, 2);
  } else if (v <= 0xffffffff) {
    byte(0xce);
    be(v, 4);
  } else {
    byte(0xcf);
    be(v, 8);
  }
  return *this;
}

MsgpackWriter& MsgpackWriter::sint(int64_t v) {
  if (v >= 0)
    return uint(static_cast<uint64_t>(v));
  auto u = static_cast<uint64_t>(v);
  if (v >= -32) {
    byte(static_cast<uint8_t>(u & 0xff));
  } else if (v >= INT8_MIN) {
    byte(0xd0);
    be(u, 1);
  } else if (v >= INT16_MIN) {
    byte(0xd1);
    be(u, 2);
  } else if (v >= INT32_MIN) {
    byte(0xd2);
    be(u, 4);
  } else {
    byte(0xd3);
    be(u, 8);
  }
  return *this;
}

MsgpackWriter& MsgpackWriter::f64(double v) {
  byte(0xcb);
  be(std::bit_cast<uint64_t>(v), 8);
  return *this;
}

MsgpackWriter& MsgpackWriter::boolean(bool v) {
  return byte(v ? 0xc3 : 0xc2);
}

MsgpackWriter& MsgpackWriter::nil() {
  return byte(0xc0);
}

MsgpackWriter& MsgpackWriter::raw(std::string_view bytes) {
  out_.append(bytes);
  return *this;
}

namespace {

// Big-endian unsigned of `width` bytes at `at`; 0 (with a failure) past the end.
uint64_t read_be(std::string_view bytes, size_t at, int width) {
  if (at + static_cast<size_t>(width) > bytes.size()) {
    ADD_FAILURE() << "msgpack walker: header runs past the end at " << at;
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < width; ++i)
    v = (v << 8) | static_cast<uint8_t>(bytes[at + static_cast<size_t>(i)]);
  return v;
}

struct Header {
  enum Kind { Scalar, Array, Map } kind = Scalar;
  size_t header_size = 1;
  uint64_t payload = 0;  // bytes after the header (scalars) or element count (containers)
};

Header read_header(std::string_view bytes, size_t at) {
  auto b = static_cast<uint8_t>(bytes[at]);
  Header h;
  if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
    return h;
  if ((b & 0xf0) == 0x80)
    return {Header::Map, 1, b & 0x0fu};
  if ((b & 0xf0) == 0x90)
    return {Header::Array, 1, b & 0x0fu};
  if ((b & 0xe0) == 0xa0)
    return {Header::Scalar, 1, b & 0x1fu};
  switch (b) {
    case 0xc4:
      return {Header::Scalar, 2, read_be(bytes, at + 1, 1)};
    case 0xc5:
      return {Header::Scalar, 3, read_be(bytes, at + 1, 2)};
    case 0xc6:
      return {Header::Scalar, 5, read_be(bytes, at + 1, 4)};
    case 0xc7:
      return {Header::Scalar, 3, read_be(bytes, at + 1, 1)};
    case 0xc8:
      return {Header::Scalar, 4, read_be(bytes, at + 1, 2)};
    case 0xc9:
      return {Header::Scalar, 6, read_be(bytes, at + 1, 4)};
    case 0xca:
      return {Header::Scalar, 1, 4};
    case 0xcb:
      return {Header::Scalar, 1, 8};
    case 0xcc:
    case 0xd0:
      return {Header::Scalar, 1, 1};
    case 0xcd:
    case 0xd1:
      return {Header::Scalar, 1, 2};
    case 0xce:
    case 0xd2:
      return {Header::Scalar, 1, 4};
    case 0xcf:
    case 0xd3:
      return {Header::Scalar, 1, 8};
    case 0xd4:
      return {Header::Scalar, 2, 1};
    case 0xd5:
      return {Header::Scalar, 2, 2};
    case 0xd6:
      return {Header::Scalar, 2, 4};
    case 0xd7:
      return {Header::Scalar, 2, 8};
    case 0xd8:
      return {Header::Scalar, 2, 16};
    case 0xd9:
      return {Header::Scalar, 2, read_be(bytes, at + 1, 1)};
    case 0xda:
      return {Header::Scalar, 3, read_be(bytes, at + 1, 2)};
    case 0xdb:
      return {Header::Scalar, 5, read_be(bytes, at + 1, 4)};
    case 0xdc:
      return {Header::Array, 3, read_be(bytes, at + 1, 2)};
    case 0xdd:
      return {Header::Array, 5, read_be(bytes, at + 1, 4)};
    case 0xde:
      return {Header::Map, 3, read_be(bytes, at + 1, 2)};
    case 0xdf:
      return {Header::Map, 5, read_be(bytes, at + 1, 4)};
    default:
      ADD_FAILURE() << "msgpack walker: byte 0xc1 (never used) at " << at;
      return h;
  }
}

std::string key_text(std::string_view bytes, size_t at, size_t end) {
  Header h = read_header(bytes, at);
  if (h.kind != Header::Scalar)
    return "<container key>";
  size_t start = at + h.header_size;
  auto b = static_cast<uint8_t>(bytes[at]);
  bool is_str = (b & 0xe0) == 0xa0 || b == 0xd9 || b == 0xda || b == 0xdb;
  if (!is_str || start > end)
    return "<non-string key>";
  return std::string(bytes.substr(start, end - start));
}

}  // namespace

ObjectInfo inspect(std::string_view bytes, size_t offset) {
  if (offset >= bytes.size()) {
    ADD_FAILURE() << "msgpack walker: no object at " << offset;
    return {};
  }
  Header h = read_header(bytes, offset);
  ObjectInfo info;
  info.header_end = offset + h.header_size;
  if (h.kind == Header::Map) {
    info.kind = ObjectInfo::Map;
    info.count = h.payload;
  } else if (h.kind == Header::Array) {
    info.kind = ObjectInfo::Array;
    info.count = h.payload;
  }
  return info;
}

size_t skip_object(std::string_view bytes, size_t offset) {
  // Iterative, so the walker itself survives deeply nested test input.
  uint64_t pending = 1;
  size_t at = offset;
  while (pending > 0) {
    if (at >= bytes.size()) {
      ADD_FAILURE() << "msgpack walker: object at " << offset << " runs past the end";
      return bytes.size();
    }
    Header h = read_header(bytes, at);
    --pending;
    at += h.header_size;
    if (h.kind == Header::Scalar) {
      at += h.payload;
    } else {
      pending += h.kind == Header::Map ? 2 * h.payload : h.payload;
    }
  }
  if (at > bytes.size()) {
    ADD_FAILURE() << "msgpack walker: object at " << offset << " runs past the end";
    return bytes.size();
  }
  return at;
}

MapLayout map_layout(std::string_view bytes, size_t offset) {
  MapLayout layout;
  layout.begin = offset;
  layout.end = bytes.size();
  if (offset >= bytes.size()) {
    ADD_FAILURE() << "msgpack walker: no map at " << offset;
    return layout;
  }
  Header h = read_header(bytes, offset);
  if (h.kind != Header::Map) {
    ADD_FAILURE() << "msgpack walker: object at " << offset << " is not a map";
    return layout;
  }
  layout.header_end = offset + h.header_size;
  size_t at = layout.header_end;
  for (uint64_t i = 0; i < h.payload; ++i) {
    MapEntryLayout entry;
    entry.begin = at;
    entry.value = skip_object(bytes, at);
    entry.key = key_text(bytes, at, entry.value);
    entry.end = skip_object(bytes, entry.value);
    at = entry.end;
    layout.entries.push_back(std::move(entry));
  }
  layout.end = at;
  return layout;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    if (!out.empty())
      out += ' ';
    out += kHex[static_cast<uint8_t>(c) >> 4];
    out += kHex[static_cast<uint8_t>(c) & 0xf];
  }
  return out;
}

std::string path_to_string(const Path& path) {
  std::string out;
  for (const auto& item : path) {
    if (const auto* key = std::get_if<std::string>(&item)) {
      if (!out.empty())
        out += '.';
      out += *key;
    } else {
      out += "[" + std::to_string(std::get<size_t>(item)) + "]";
    }
  }
  return out.empty() ? "<body>" : out;
}

size_t locate(std::string_view bytes, const Path& path) {
  size_t at = 0;
  for (const auto& item : path) {
    if (at >= bytes.size()) {
      ADD_FAILURE() << "msgpack walker: path " << path_to_string(path) << " not found";
      return bytes.size();
    }
    if (const auto* key = std::get_if<std::string>(&item)) {
      MapLayout layout = map_layout(bytes, at);
      size_t found = bytes.size();
      for (const auto& e : layout.entries) {
        if (e.key == *key)
          found = e.value;
      }
      if (found == bytes.size()) {
        ADD_FAILURE() << "msgpack walker: key " << *key << " of " << path_to_string(path)
                      << " not found";
        return bytes.size();
      }
      at = found;
    } else {
      size_t index = std::get<size_t>(item);
      Header h = read_header(bytes, at);
      if (h.kind != Header::Array || index >= h.payload) {
        ADD_FAILURE() << "msgpack walker: index " << index << " of " << path_to_string(path)
                      << " not found";
        return bytes.size();
      }
      at += h.header_size;
      for (size_t i = 0; i < index; ++i)
        at = skip_object(bytes, at);
    }
  }
  return at;
}

std::string map_header(uint32_t count) {
  return MsgpackWriter().map(count).bytes();
}

namespace {

// Rebuilds the map at `map_path` from its entries through `edit`, which returns the new
// entries' bytes and count.
template <typename Edit>
std::string rebuild_map(std::string_view bytes, const Path& map_path, Edit&& edit) {
  size_t at = locate(bytes, map_path);
  MapLayout layout = map_layout(bytes, at);
  std::string entries;
  uint32_t count = 0;
  edit(layout, entries, count);
  std::string out(bytes.substr(0, layout.begin));
  out += map_header(count);
  out += entries;
  out += bytes.substr(layout.end);
  return out;
}

}  // namespace

std::string remove_key(std::string_view bytes, const Path& map_path, std::string_view key) {
  bool removed = false;
  std::string out =
      rebuild_map(bytes, map_path, [&](const MapLayout& layout, std::string& entries, uint32_t& n) {
        for (const auto& e : layout.entries) {
          if (e.key == key) {
            removed = true;
            continue;
          }
          entries += bytes.substr(e.begin, e.end - e.begin);
          ++n;
        }
      });
  if (!removed) {
    ADD_FAILURE() << "remove_key: no key " << key << " in " << path_to_string(map_path);
  }
  return out;
}

std::string append_key(std::string_view bytes, const Path& map_path, std::string_view key,
                       std::string_view value_bytes) {
  return rebuild_map(bytes, map_path,
                     [&](const MapLayout& layout, std::string& entries, uint32_t& n) {
                       for (const auto& e : layout.entries) {
                         entries += bytes.substr(e.begin, e.end - e.begin);
                         ++n;
                       }
                       entries += MsgpackWriter().str(key).bytes();
                       entries += value_bytes;
                       ++n;
                     });
}

std::string replace_value(std::string_view bytes, const Path& map_path, std::string_view key,
                          std::string_view value_bytes) {
  bool replaced = false;
  std::string out =
      rebuild_map(bytes, map_path, [&](const MapLayout& layout, std::string& entries, uint32_t& n) {
        for (const auto& e : layout.entries) {
          if (e.key == key) {
            replaced = true;
            entries += bytes.substr(e.begin, e.value - e.begin);
            entries += value_bytes;
          } else {
            entries += bytes.substr(e.begin, e.end - e.begin);
          }
          ++n;
        }
      });
  if (!replaced) {
    ADD_FAILURE() << "replace_value: no key " << key << " in " << path_to_string(map_path);
  }
  return out;
}

std::vector<std::string> keys_of(std::string_view bytes, const Path& map_path) {
  std::vector<std::string> keys;
  size_t at = locate(bytes, map_path);
  if (at >= bytes.size())
    return keys;
  for (const auto& e : map_layout(bytes, at).entries)
    keys.push_back(e.key);
  return keys;
}

}  // namespace cube::test
