// FeedRing: the event feed's last `capacity` events (broker/event_feed.h), held compactly. A
// FeedEvent is nine strings, about 300 bytes plus its ID's heap block; the feed keeps 65,536 of
// them by default, which was a fifth of the broker's memory growth per task held (cube-bench
// with a separate broker, 100,000 tasks). Here the fields that take few distinct values (the
// type, both states, the reason, the node's and the service's names) are indexes into a
// StringPool, and a task's ID is its 16 bytes (common/ids.h UuidBytes); only the name stays a
// string. An entry is 104 bytes with no heap block of its own, a third of the event's size.
// An ID that does not come back from its bytes as written (not a lowercase UUID: tests use
// such IDs) is kept spelled out beside the entries, for as long as its entry.
//
// Indexes are the feed's: 1, 2, ... in publish order; event `index` lives in slot
// (index - 1) % capacity, overwritten once `capacity` newer events came.
//
// Thread-safety: a value type; the broker loop thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/string_pool.h"
#include "common/ids.h"
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
  // How an entry's ID is held.
  enum class IdForm : uint8_t {
    None,     // no ID (node and service events)
    Bytes,    // Entry::id holds a lowercase UUID's bytes
    Spelled,  // spelled_ids_ holds it, under the entry's index
  };
  struct Entry {
    uint64_t index = 0;
    int64_t time_ms = 0;
    uint64_t version = 0;
    UuidBytes id{};
    uint32_t slot = 0;
    // StringPool indexes.
    uint32_t type = 0;
    uint32_t state = 0;
    uint32_t previous_state = 0;
    uint32_t node = 0;
    uint32_t service = 0;
    uint32_t reason = 0;
    IdForm id_form = IdForm::None;
    std::string name;
  };
  static_assert(sizeof(Entry) <= 104, "the header comment gives an entry's size");
  const Entry& entry(uint64_t index) const { return entries_[(index - 1) % capacity_]; }
  // strings_.intern(text), skipping the hash when `text` is the string `last` names (consecutive
  // events mostly share their type, service and often node); `last` becomes its index.
  uint32_t intern(std::string_view text, uint32_t& last);
  // Sets `entry`'s ID from `id` (its index must be set); forget_id() drops what it kept.
  void store_id(Entry& entry, std::string id);
  void forget_id(const Entry& entry);
  // `entry`'s ID, spelled into `text` when it is held as bytes.
  std::string_view id_of(const Entry& entry, std::array<char, kUuidTextSize>& text) const;

  size_t capacity_;
  std::vector<Entry> entries_;  // grows to capacity_, then wraps
  // Few distinct strings: the types, the state names, reasons, node and service names. Never
  // shrinks.
  StringPool strings_;
  // The last index interned for each pooled field, in Entry's order (intern's `last`).
  uint32_t last_type_ = 0, last_state_ = 0, last_previous_ = 0, last_node_ = 0, last_service_ = 0,
           last_reason_ = 0;
  // The IDs of the entries whose id_form is Spelled, by the entry's index.
  std::unordered_map<uint64_t, std::string> spelled_ids_;
};

}  // namespace cube::broker
