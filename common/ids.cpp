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

std::array<uint8_t, 16> random_bytes() {
  static SharedRng rng;
  std::array<uint8_t, 16> out{};
  MutexLock lock(rng.mu);
  for (size_t i = 0; i < out.size(); i += 8) {
    uint64_t r = rng.engine();
    for (size_t j = 0; j < 8; ++j)
      out[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  return out;
}

std::string format_uuid(const std::array<uint8_t, 16>& b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 0xf]);
  }
  return s;
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
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-')
        return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

bool is_uuid_v7(std::string_view s) {
  return is_uuid(s) && s[14] == '7';
}

}  // namespace cube
