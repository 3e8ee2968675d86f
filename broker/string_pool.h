// StringPool: each distinct string stored once, named by a 4-byte index. A task's history repeats
// the same few reasons ("submitted", "placed", "completed"...) and node names millions of times;
// stored as indexes they cost 8 bytes per entry instead of two std::strings (64 bytes plus a heap
// block for a long name). Strings are never removed: the pool grows with the distinct strings
// seen, never with how often they are used.
//
// Thread-safety: a value type; one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cube::broker {

class StringPool {
 public:
  // The index of `text`, adding it on first sight.
  uint32_t intern(std::string_view text);
  // The string at `index` (from intern on this pool). The view lives as long as the pool.
  std::string_view at(uint32_t index) const { return strings_[index]; }
  size_t size() const { return strings_.size(); }

 private:
  std::deque<std::string> strings_;  // a deque never moves its elements: the views stay valid
  std::unordered_map<std::string_view, uint32_t> index_;
};

}  // namespace cube::broker
