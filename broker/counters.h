// Counters: named event counts the broker keeps (malformed frames per socket and type, drops,
// placements...) and reports in STATUS replies. Keys are "socket.what[.type]", lower case.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace cube::broker {

using Counters = std::map<std::string, uint64_t, std::less<>>;

inline void bump(Counters& counters, std::string_view key, uint64_t n = 1) {
  auto it = counters.find(key);
  if (it == counters.end()) {
    counters.emplace(std::string(key), n);
  } else {
    it->second += n;
  }
}

}  // namespace cube::broker
