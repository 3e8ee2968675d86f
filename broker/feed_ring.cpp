#include "broker/feed_ring.h"

#include <algorithm>
#include <array>
#include <optional>
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

void FeedRing::store_id(Entry& entry, std::string id) {
  if (id.empty()) {
    entry.id_form = IdForm::None;
  } else if (std::optional<UuidBytes> bytes = parse_lowercase_uuid(id)) {
    entry.id = *bytes;
    entry.id_form = IdForm::Bytes;
  } else {
    spelled_ids_.emplace(entry.index, std::move(id));
    entry.id_form = IdForm::Spelled;
  }
}

void FeedRing::forget_id(const Entry& entry) {
  if (entry.id_form == IdForm::Spelled)
    spelled_ids_.erase(entry.index);
}

std::string_view FeedRing::id_of(const Entry& entry, std::array<char, kUuidTextSize>& text) const {
  switch (entry.id_form) {
    case IdForm::None:
      return {};
    case IdForm::Bytes:
      format_uuid(entry.id, text);
      return {text.data(), text.size()};
    case IdForm::Spelled:
      return spelled_ids_.at(entry.index);
  }
  return {};
}

void FeedRing::push(protocol::FeedEvent event) {
  Entry stored{.index = event.index,
               .time_ms = event.time_ms,
               .version = event.version,
               .slot = event.slot,
               .type = intern(event.type, last_type_),
               .state = intern(event.state, last_state_),
               .previous_state = intern(event.previous_state, last_previous_),
               .node = intern(event.node, last_node_),
               .service = intern(event.service, last_service_),
               .reason = intern(event.reason, last_reason_),
               .name = std::move(event.name)};
  if (entries_.size() < capacity_) {
    CUBE_CHECK(event.index == entries_.size() + 1) << "events are pushed in index order";
    // Grow by doubling up to the capacity, not past it (a vector's own growth would reserve
    // up to twice the capacity the operator set).
    if (entries_.size() == entries_.capacity())
      entries_.reserve(std::min(capacity_, std::max<size_t>(2 * entries_.capacity(), 64)));
    store_id(stored, std::move(event.id));
    entries_.push_back(std::move(stored));
  } else {
    Entry& oldest = entries_[(event.index - 1) % capacity_];
    CUBE_CHECK(event.index == oldest.index + capacity_) << "events are pushed in index order";
    forget_id(oldest);
    store_id(stored, std::move(event.id));
    oldest = std::move(stored);
  }
}

protocol::FeedEvent FeedRing::at(uint64_t index) const {
  const Entry& e = entry(index);
  std::array<char, kUuidTextSize> id_text;
  protocol::FeedEvent event;
  event.index = e.index;
  event.type = strings_.at(e.type);
  event.time_ms = e.time_ms;
  event.id = id_of(e, id_text);
  event.name = e.name;
  event.state = strings_.at(e.state);
  event.previous_state = strings_.at(e.previous_state);
  event.node = strings_.at(e.node);
  event.reason = strings_.at(e.reason);
  event.service = strings_.at(e.service);
  event.slot = e.slot;
  event.version = e.version;
  return event;
}

bool FeedRing::matches(uint64_t index, const protocol::EventFilter& filter) const {
  const Entry& e = entry(index);
  std::array<char, kUuidTextSize> id_text;
  return event_matches(filter, EventKeys{.type = strings_.at(e.type),
                                         .id = id_of(e, id_text),
                                         .name = e.name,
                                         .node = strings_.at(e.node),
                                         .service = strings_.at(e.service)});
}

}  // namespace cube::broker
