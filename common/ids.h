// Task IDs. Cube generates UUIDv7 (time-ordered) when the user gives none: SQLite inserts
// time-ordered keys about five times faster than random ones (docs/durability.md, "The store").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace cube {

// A new UUIDv7 string ("0190a3c4-...") from `now` and 74 random bits. Thread-safe.
std::string new_uuid_v7(SystemTime now);

// A random UUIDv4-shaped string, for agent and session IDs. Thread-safe.
std::string new_random_id();

// True for the 8-4-4-4-12 hex form (any version); the form task IDs must have.
bool is_uuid(std::string_view s);

// True for a UUID whose version nibble is 7 (what new_uuid_v7 makes).
bool is_uuid_v7(std::string_view s);

// A UUID's 16 bytes: how a structure holding many IDs keeps them (a 36-character string is a
// 32-byte std::string plus a 48-byte heap block).
using UuidBytes = std::array<uint8_t, 16>;
inline constexpr size_t kUuidTextSize = 36;

// The bytes of `text` when it is a UUID spelled in lowercase, as Cube makes them; nullopt for
// anything else (a UUID in uppercase would not come back as it was written).
std::optional<UuidBytes> parse_lowercase_uuid(std::string_view text);

// The 8-4-4-4-12 lowercase spelling of `bytes`, into `out` (no allocation) or as a string.
void format_uuid(const UuidBytes& bytes, std::array<char, kUuidTextSize>& out);
std::string format_uuid(const UuidBytes& bytes);

}  // namespace cube
