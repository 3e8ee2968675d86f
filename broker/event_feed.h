// EventFeed: the broker's recent events (a bounded ring) and the EVENTS long polls waiting for
// them (docs/events.md). Events enter only once the change they report is committed: the
// broker queues them in the outbox (broker/outbox.h) and publishes them from there, so the
// feed never shows a change a restarted broker would not know.
//
// Indexes start at 1 per broker start and grow by one per event. A subscriber asks for the
// events after the index it has; one whose index fell out of the ring (or is ahead of the
// newest, which means the broker restarted) is told too_old with the newest index, and
// resynchronises from a snapshot (LIST, NODES).
//
// A request with nothing to answer yet is parked (at most max_parked) until an event matching
// its filter is published or its deadline passes. Nothing is queued per subscriber: a reply
// carries at most `max` events read from the ring when it is sent, so a subscriber that stops
// asking costs nothing and one that reads slowly falls behind into too_old.
//
// A reply leaves no sooner than `gather` after its request arrived (unless it fills a page):
// on a busy feed a subscriber is answered once per window with everything the window
// gathered, instead of once per loop iteration with a few events each. A subscriber that waited
// longer than the window is answered as soon as a matching event is published.
//
// Thread-safety: none; the broker loop thread. Nothing blocks.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/feed_ring.h"
#include "common/clock.h"
#include "common/status.h"
#include "protocol/messages.h"

namespace cube::broker {

inline constexpr size_t kDefaultEventBuffer = 65536;
inline constexpr size_t kDefaultMaxEventSubscribers = 4096;
inline constexpr Millis kDefaultEventGather{5};

// Invalid naming the field when the filter cannot match anything by construction ("filter
// type: \"x\" is not task, node or service"). Names that match nothing are fine (documented).
Status validate_event_filter(const protocol::EventFilter& filter);
// The fields of an event that a filter looks at.
struct EventKeys {
  std::string_view type;
  std::string_view id;
  std::string_view name;
  std::string_view node;
  std::string_view service;
};
// True when the event passes every non-empty field of `filter` (protocol/messages.h
// EventFilter).
bool event_matches(const protocol::EventFilter& filter, const EventKeys& event);
bool event_matches(const protocol::EventFilter& filter, const protocol::FeedEvent& event);
// The most events a reply to a request for `max` carries: `max`, or kMaxEventsPerReply when
// `max` is 0 or above it.
inline uint32_t events_page(uint32_t max) {
  return max == 0 || max > protocol::kMaxEventsPerReply ? protocol::kMaxEventsPerReply : max;
}

// An EVENTS request waiting for an event.
struct ParkedEvents {
  std::vector<std::string> routing;  // the client's ROUTER envelope frames
  uint64_t request_id = 0;
  uint64_t since = 0;  // resolved: 0 ("from now") became the newest index; read with read_after
  protocol::EventFilter filter;
  uint32_t max = 0;
  SteadyTime deadline{};      // answered (maybe with nothing) at this time
  SteadyTime answer_after{};  // the request's arrival + the gather window
  bool has_match = false;     // an event after `since` matches: answered at answer_after
};

class EventFeed {
 public:
  // `capacity` >= 1 events are kept; at most `max_parked` requests wait at once; a reply
  // gathers events for `gather` after its request arrived.
  EventFeed(size_t capacity, size_t max_parked, Millis gather = kDefaultEventGather);

  Millis gather() const { return gather_; }

  // Gives `event` the next index and appends it, dropping the oldest when full.
  void publish(protocol::FeedEvent event);

  // The newest index (0 before the first event) and the oldest one kept (newest + 1 when the
  // ring is empty).
  uint64_t newest() const { return next_index_ - 1; }
  uint64_t oldest() const { return next_index_ - ring_.size(); }
  size_t size() const { return ring_.size(); }

  // The answer to a request for the events after `since` (0: from now) matching `filter`, at
  // most `max` (0 or above kMaxEventsPerReply: that limit): OK with the events (maybe none) and
  // next_index, or TooOld (reply.next_index = newest()) when events after `since` were dropped
  // or `since` is ahead of the newest index. reply.request_id is left 0.
  protocol::Reply read(uint64_t since, const protocol::EventFilter& filter, uint32_t max) const {
    return read_after(since == 0 ? newest() : since, filter, max);
  }
  // The same for the events after `after`, where 0 is before the first event (not "from now"):
  // a request parked while the feed was empty gets the first event.
  protocol::Reply read_after(uint64_t after, const protocol::EventFilter& filter,
                             uint32_t max) const;

  // Parks a request that read() answered with no events, or with fewer than a page while its
  // gather window is open (has_match set). Unavailable, naming the limit, when max_parked
  // requests already wait.
  Status park(ParkedEvents parked);
  size_t parked() const { return parked_.size() + matched_.size(); }

  // The parked requests that a published event matches and whose gather window ended by `now`,
  // removed; the caller answers each with read(). Scans only events newer than the last call.
  std::vector<ParkedEvents> take_matched(SteadyTime now);
  // The parked requests whose deadline is at or before `now`, removed (answered with nothing).
  std::vector<ParkedEvents> take_expired(SteadyTime now);
  // The earliest time a parked request is due (its deadline, or the end of its gather window
  // once an event matches it); nullopt when none waits.
  std::optional<SteadyTime> next_deadline() const;

 private:
  size_t max_parked_;
  Millis gather_;
  FeedRing ring_;
  uint64_t next_index_ = 1;
  uint64_t matched_through_ = 0;     // take_matched() looked at every event up to this index
  std::list<ParkedEvents> parked_;   // waiting for a matching event
  std::list<ParkedEvents> matched_;  // has_match: waiting for the end of their gather window
};

}  // namespace cube::broker
