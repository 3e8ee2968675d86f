#include "broker/event_feed.h"

#include <algorithm>
#include <iterator>

namespace cube::broker {

Status validate_event_filter(const protocol::EventFilter& filter) {
  if (!filter.type.empty() && filter.type != "task" && filter.type != "node" &&
      filter.type != "service") {
    return Status::invalid("filter type: \"" + filter.type + "\" is not task, node or service");
  }
  return Status::ok();
}

bool event_matches(const protocol::EventFilter& filter, const protocol::FeedEvent& event) {
  return event_matches(filter, EventKeys{.type = event.type,
                                         .id = event.id,
                                         .name = event.name,
                                         .node = event.node,
                                         .service = event.service});
}

bool event_matches(const protocol::EventFilter& filter, const EventKeys& event) {
  bool is_task = event.type == "task";
  if (!filter.type.empty() && event.type != filter.type)
    return false;
  if (!filter.task.empty() && !(is_task && event.id == filter.task))
    return false;
  if (!filter.node.empty()) {
    std::string_view node = is_task ? event.node : event.name;
    if (event.type == "service" || node != filter.node)
      return false;
  }
  if (!filter.service.empty()) {
    std::string_view service = is_task ? event.service : event.name;
    if (event.type == "node" || service != filter.service)
      return false;
  }
  return true;
}

EventFeed::EventFeed(size_t capacity, size_t max_parked, Millis gather)
    : max_parked_(max_parked), gather_(gather), ring_(capacity) {}

void EventFeed::publish(protocol::FeedEvent event) {
  event.index = next_index_++;
  ring_.push(std::move(event));
}

protocol::Reply EventFeed::read_after(uint64_t since, const protocol::EventFilter& filter,
                                      uint32_t max) const {
  protocol::Reply reply;
  // Events after `since` were dropped (since + 1 < oldest), or `since` was never given out.
  if (since + 1 < oldest() || since > newest()) {
    reply.status = Status::too_old(
        "event index " + std::to_string(since) + " is not in the broker's event buffer (it " +
        (since > newest() ? "is ahead of the newest, " + std::to_string(newest()) +
                                ": the broker restarted since"
                          : "keeps " + std::to_string(oldest()) + ".." + std::to_string(newest())) +
        "): reload the tasks and nodes, then follow from next_index");
    reply.next_index = newest();
    return reply;
  }
  max = events_page(max);
  reply.feed.reserve(std::min<uint64_t>(max, newest() - since));
  uint64_t index = since + 1;
  for (; index <= newest() && reply.feed.size() < max; ++index) {
    if (ring_.matches(index, filter))
      reply.feed.push_back(ring_.at(index));
  }
  reply.next_index = index - 1;
  return reply;
}

Status EventFeed::park(ParkedEvents parked) {
  if (this->parked() >= max_parked_) {
    return Status::unavailable("too many event subscribers waiting (" +
                               std::to_string(max_parked_) + ", --event-subscribers): retry later");
  }
  (parked.has_match ? matched_ : parked_).push_back(std::move(parked));
  return Status::ok();
}

namespace {

// Moves the requests of `from` for which `due` holds to the end of `out`, in order.
template <typename Due>
void take_due(std::list<ParkedEvents>& from, Due due, std::vector<ParkedEvents>& out) {
  for (auto it = from.begin(); it != from.end();) {
    if (due(*it)) {
      out.push_back(std::move(*it));
      it = from.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace

std::vector<ParkedEvents> EventFeed::take_matched(SteadyTime now) {
  uint64_t from = std::max(matched_through_ + 1, oldest());
  if (from <= newest()) {
    for (auto it = parked_.begin(); it != parked_.end();) {
      auto next = std::next(it);
      for (uint64_t index = std::max(from, it->since + 1); index <= newest() && !it->has_match;
           ++index)
        it->has_match = ring_.matches(index, it->filter);
      if (it->has_match)
        matched_.splice(matched_.end(), parked_, it);
      it = next;
    }
  }
  matched_through_ = newest();
  std::vector<ParkedEvents> due;
  take_due(
      matched_, [&](const ParkedEvents& p) { return p.answer_after <= now; }, due);
  return due;
}

std::vector<ParkedEvents> EventFeed::take_expired(SteadyTime now) {
  std::vector<ParkedEvents> expired;
  auto past_deadline = [&](const ParkedEvents& p) { return p.deadline <= now; };
  take_due(parked_, past_deadline, expired);
  take_due(matched_, past_deadline, expired);
  return expired;
}

std::optional<SteadyTime> EventFeed::next_deadline() const {
  std::optional<SteadyTime> earliest;
  auto consider = [&](SteadyTime due) {
    if (!earliest || due < *earliest)
      earliest = due;
  };
  for (const auto& p : parked_)
    consider(p.deadline);
  for (const auto& p : matched_)
    consider(std::min(p.deadline, p.answer_after));
  return earliest;
}

}  // namespace cube::broker
