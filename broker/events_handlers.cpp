// EVENTS on the client ROUTER: the event feed's long poll (broker/event_feed.h,
// docs/events.md). Answered at once when the feed has a full page of matching events after
// `since` (or `since` is too old, or the request does not wait); otherwise parked until its
// gather window ends with a matching event published (BrokerState::flush_outbox) or wait_ms
// passes (a loop timer). Reads no store and changes nothing, so it bypasses the outbox like the
// other reads.
#include <algorithm>

#include "broker/handlers.h"

namespace cube::broker {
namespace {

void on_events(BrokerState& state, Inbound& in, protocol::EventsRequest& req) {
  bump(state.counters, "feed.requests");
  if (Status s = validate_event_filter(req.filter); !s.is_ok())
    return state.reply_error(in.routing(), req.request_id, s);
  if (req.wait_ms < 0) {
    return state.reply_error(
        in.routing(), req.request_id,
        Status::invalid("wait_ms: " + std::to_string(req.wait_ms) + " is negative"));
  }
  uint64_t after = req.since == 0 ? state.feed.newest() : req.since;  // 0: from now
  protocol::Reply found = state.feed.read_after(after, req.filter, req.max);
  if (!found.status.is_ok() || found.feed.size() >= events_page(req.max) || req.wait_ms == 0)
    return state.answer_events(in.routing(), req.request_id, after, req.filter, req.max);
  ParkedEvents parked;
  parked.routing.reserve(in.routing().size());
  for (const auto& frame : in.routing())
    parked.routing.emplace_back(static_cast<const char*>(frame.data()), frame.size());
  parked.request_id = req.request_id;
  // With events found they are read again when answered; else the next read starts after what
  // this one looked at.
  parked.has_match = !found.feed.empty();
  parked.since = parked.has_match ? after : found.next_index;
  parked.filter = std::move(req.filter);
  parked.max = req.max;
  SteadyTime now = state.clock.now();
  parked.deadline = now + Millis(std::min(req.wait_ms, protocol::kMaxEventWaitMs));
  parked.answer_after = now + state.feed.gather();
  if (Status s = state.feed.park(std::move(parked)); !s.is_ok()) {
    bump(state.counters, "feed.subscribers_refused");
    return state.reply_error(in.routing(), req.request_id, s);
  }
  state.counters["feed.subscribers"] = state.feed.parked();
}

}  // namespace

void add_events_handlers(MessageTable& table) {
  table.add<protocol::EventsRequest, on_events>(BrokerSocket::Client);
}

}  // namespace cube::broker
