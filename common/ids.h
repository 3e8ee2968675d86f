// Task IDs. Cube generates UUIDv7 (time-ordered) when the user gives none: SQLite inserts
// time-ordered keys about five times faster than random ones (docs/durability.md, "The store").
#pragma once

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

}  // namespace cube
