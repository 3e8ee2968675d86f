// The broker's version string (the project version from CMake), for --version, WELCOME-side
// logs and STATUS replies.
#pragma once

#include <string_view>

namespace cube::broker {

// "0.1.0". Thread-safe.
std::string_view broker_version();

}  // namespace cube::broker
