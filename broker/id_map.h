// IdMap: a hash map keyed by task, node or agent IDs (UUID strings). Transparent, so a
// string_view finds a std::string key without a copy. What the broker looks up per message
// (an agent's session, liveness and event sequence on every heartbeat) is in these: an ordered
// std::map of 5,000 agents costs ~13 string compares per lookup, each a cache miss away (the
// 36-character keys live on the heap), which was most of the loop thread's time with idle
// agents (perf, cube-bench --idle, 5,000 agents).
//
// Thread-safety: a value type; as std::unordered_map.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cube::broker {

struct IdHash {
  using is_transparent = void;
  size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
};

template <typename V>
using IdMap = std::unordered_map<std::string, V, IdHash, std::equal_to<>>;

}  // namespace cube::broker
