#include "common/ids.h"

#include <array>
#include <cstdint>
#include <random>

#include "common/mutex.h"

namespace cube {
namespace {

// The process's one generator, seeded once from the OS; ids are made on several threads.
struct SharedRng {
  Mutex mu;
  std::mt19937_64 engine CUBE_GUARDED_BY(mu) = std::mt19937_64(std::random_device{}());
};

UuidBytes random_bytes() {
  static SharedRng rng;
  UuidBytes out{};
  MutexLock lock(rng.mu);
  for (size_t i = 0; i < out.size(); i += 8) {
    uint64_t r = rng.engine();
    for (size_t j = 0; j < 8; ++j)
      out[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  return out;
}

// Where the dashes are in a UUID's text.
constexpr bool is_dash_position(size_t i) {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

}  // namespace

std::string new_uuid_v7(SystemTime now) {
  auto b = random_bytes();
  auto ms = static_cast<uint64_t>(to_unix_ms(now));
  for (int i = 0; i < 6; ++i)
    b[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  b[6] = static_cast<uint8_t>(0x70 | (b[6] & 0x0f));  // version 7
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));  // RFC 4122 variant
  return format_uuid(b);
}

std::string new_random_id() {
  auto b = random_bytes();
  b[6] = static_cast<uint8_t>(0x40 | (b[6] & 0x0f));
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));
  return format_uuid(b);
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36)
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (is_dash_position(i)) {
      if (c != '-')
        return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::optional<UuidBytes> parse_lowercase_uuid(std::string_view text) {
  if (text.size() != kUuidTextSize)
    return std::nullopt;
  UuidBytes out{};
  size_t nibble = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (is_dash_position(i)) {
      if (c != '-')
        return std::nullopt;
      continue;
    }
    uint8_t value;
    if (c >= '0' && c <= '9')
      value = static_cast<uint8_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      value = static_cast<uint8_t>(c - 'a' + 10);
    else
      return std::nullopt;
    out[nibble / 2] =
        static_cast<uint8_t>(out[nibble / 2] | (nibble % 2 == 0 ? value << 4 : value));
    ++nibble;
  }
  return out;
}

void format_uuid(const UuidBytes& bytes, std::array<char, kUuidTextSize>& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t at = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (is_dash_position(at))
      out[at++] = '-';
    out[at++] = kHex[bytes[i] >> 4];
    out[at++] = kHex[bytes[i] & 0xf];
  }
}

std::string format_uuid(const UuidBytes& bytes) {
  std::array<char, kUuidTextSize> text;
  format_uuid(bytes, text);
  return std::string(text.data(), text.size());
}

bool is_uuid_v7(std::string_view s) {
  return is_uuid(s) && s[14] == '7';
}

}  // namespace cube
