// Human units on the command line and in tables: sizes ("512MiB", "1GiB", "64m"), durations
// ("500ms", "5s", "2m") and ages ("3m", "2h").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace cube {

// Bytes from "1073741824", "512MiB", "1GiB", "64M" (M = MiB, as docker does), "1.5GiB", "10kB".
// Invalid (with the text quoted) for anything else, negative or above 2^62.
Result<int64_t> parse_size(std::string_view text);

// "512 MiB", "1.5 GiB", "900 B": the largest binary unit with at most one decimal.
std::string format_size(int64_t bytes);

// Milliseconds from "250ms", "5s", "2m", "1h" or a bare number of seconds ("5").
Result<Millis> parse_duration(std::string_view text);

// "12s", "5m", "3h", "2d": how long ago something happened, for tables.
std::string format_age(Millis age);

}  // namespace cube
