#include "broker/feed_ring.h"

#include <algorithm>
#include <utility>

#include "broker/event_feed.h"
#include "common/check.h"

namespace cube::broker {

FeedRing::FeedRing(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {
  strings_.intern("");  // index 0, which every `last_` starts at
}

uint32_t FeedRing::intern(std::string_view text, uint32_t& last) {
  if (strings_.at(last) != text)
    last = strings_.intern(text);
  return last;
}

void FeedRing::push(protocol::FeedEvent event) {
  Entry stored{event.index,
               event.time_ms,
               event.version,
               event.slot,
               intern(event.type, last_type_),
               intern(event.state, last_state_),
               intern(event.previous_state, last_previous_),
               intern(event.node, last_node_),
               intern(event.service, last_service_),
               std::move(event.id),
               std::move(event.name),
               std::move(event.reason)};
  if (entries_.size() < capacity_) {
    CUBE_CHECK(event.index == entries_.size() + 1) << "events are pushed in index order";
    // Grow by doubling up to the capacity, not past it (a vector's own growth would reserve
    // up to twice the capacity the operator set).
    if (entries_.size() == entries_.capacity())
      entries_.reserve(std::min(capacity_, std::max<size_t>(2 * entries_.capacity(), 64)));
    entries_.push_back(std::move(stored));
  } else {
    Entry& oldest = entries_[(event.index - 1) % capacity_];
    CUBE_CHECK(event.index == oldest.index + capacity_) << "events are pushed in index order";
    oldest = std::move(stored);
  }
}

protocol::FeedEvent FeedRing::at(uint64_t index) const {
  const Entry& e = entry(index);
  protocol::FeedEvent event;
  event.index = e.index;
  event.type = strings_.at(e.type);
  event.time_ms = e.time_ms;
  event.id = e.id;
  event.name = e.name;
  event.state = strings_.at(e.state);
  event.previous_state = strings_.at(e.previous_state);
  event.node = strings_.at(e.node);
  event.reason = e.reason;
  event.service = strings_.at(e.service);
  event.slot = e.slot;
  event.version = e.version;
  return event;
}

bool FeedRing::matches(uint64_t index, const protocol::EventFilter& filter) const {
  const Entry& e = entry(index);
  return event_matches(filter, EventKeys{.type = strings_.at(e.type),
                                         .id = e.id,
                                         .name = e.name,
                                         .node = strings_.at(e.node),
                                         .service = strings_.at(e.service)});
}

}  // namespace cube::broker
