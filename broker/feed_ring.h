// FeedRing: the event feed's last `capacity` events (broker/event_feed.h), held compactly. A
// FeedEvent is nine strings, about 300 bytes plus its ID's heap block; the feed keeps 65,536 of
// them by default, which was a fifth of the broker's memory growth per task held (cube-bench
// with a separate broker, 100,000 tasks). Here the fields that take few distinct values (the
// type, both states, the node's and the service's names) are indexes into a StringPool; the
// ID, name and reason stay strings. An entry is about half the size.
//
// Indexes are the feed's: 1, 2, ... in publish order; event `index` lives in slot
// (index - 1) % capacity, overwritten once `capacity` newer events came.
//
// Thread-safety: a value type; the broker loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/string_pool.h"
#include "protocol/messages.h"

namespace cube::broker {

class FeedRing {
 public:
  explicit FeedRing(size_t capacity);

  // Stores `event` (its index must be the newest + 1), overwriting the oldest when full.
  void push(protocol::FeedEvent event);

  size_t size() const { return entries_.size(); }
  // Event `index`, which must be among the last size() pushed.
  protocol::FeedEvent at(uint64_t index) const;
  // Whether event `index` passes `filter` (event_matches), without making its FeedEvent.
  bool matches(uint64_t index, const protocol::EventFilter& filter) const;

 private:
  struct Entry {
    uint64_t index = 0;
    int64_t time_ms = 0;
    uint64_t version = 0;
    uint32_t slot = 0;
    // StringPool indexes.
    uint32_t type = 0;
    uint32_t state = 0;
    uint32_t previous_state = 0;
    uint32_t node = 0;
    uint32_t service = 0;
    std::string id;
    std::string name;
    std::string reason;
  };
  const Entry& entry(uint64_t index) const { return entries_[(index - 1) % capacity_]; }
  // strings_.intern(text), skipping the hash when `text` is the string `last` names (consecutive
  // events mostly share their type, service and often node); `last` becomes its index.
  uint32_t intern(std::string_view text, uint32_t& last);

  size_t capacity_;
  std::vector<Entry> entries_;  // grows to capacity_, then wraps
  // Few distinct strings: the types, the state names, node and service names. Never shrinks.
  StringPool strings_;
  // The last index interned for each pooled field, in Entry's order (intern's `last`).
  uint32_t last_type_ = 0, last_state_ = 0, last_previous_ = 0, last_node_ = 0, last_service_ = 0;
};

}  // namespace cube::broker
