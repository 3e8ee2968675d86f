// Logging setup shared by the mains. Code logs through spdlog's default logger.
#pragma once

#include <string_view>

#include "common/status.h"

namespace cube {

// Sets the default logger to stderr with `program` as its name, at `level` (trace, debug, info,
// warn, error, off). Invalid for an unknown level, naming the accepted ones.
Status init_logging(std::string_view program, std::string_view level);

}  // namespace cube
