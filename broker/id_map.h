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
#include <unordered_set>

namespace cube::broker {

struct IdHash {
  using is_transparent = void;
  size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
};

template <typename V>
using IdMap = std::unordered_map<std::string, V, IdHash, std::equal_to<>>;

// IdSet: values that carry their own ID (`IdOf(value)`), found by that ID with no copy of it
// kept as a key: a 36-character ID does not fit a std::string's inline buffer, so a map keyed by
// a copy costs about 80 bytes per entry. A value's ID must not change while it is in the set.
template <typename T, std::string_view (*IdOf)(const T&)>
struct IdOfHash {
  using is_transparent = void;
  size_t operator()(std::string_view id) const { return IdHash{}(id); }
  size_t operator()(const T& value) const { return IdHash{}(IdOf(value)); }
};
template <typename T, std::string_view (*IdOf)(const T&)>
struct IdOfEqual {
  using is_transparent = void;
  static std::string_view id(std::string_view id) { return id; }
  static std::string_view id(const T& value) { return IdOf(value); }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return id(a) == id(b);
  }
};
template <typename T, std::string_view (*IdOf)(const T&)>
using IdSet = std::unordered_set<T, IdOfHash<T, IdOf>, IdOfEqual<T, IdOf>>;

}  // namespace cube::broker
