#include "gateway/event_stream.h"

#include <cerrno>
#include <cstdlib>
#include <utility>

#include "gateway/json_error.h"
#include "protocol/event_json.h"

namespace cube::gateway {
namespace {

Result<uint64_t> parse_index(std::string_view what, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] == '-' || end != text.c_str() + text.size() || errno != 0)
    return Status::invalid(std::string(what) + ": \"" + text + "\" is not an event index");
  return static_cast<uint64_t>(n);
}

// Gives back the stream's place under max_streams when the response (and its stream) is gone,
// also when the server never ran the stream (a peer that left before the headers went out).
class StreamSlot {
 public:
  explicit StreamSlot(std::shared_ptr<std::atomic<int>> active) : active_(std::move(active)) {}
  ~StreamSlot() { active_->fetch_sub(1); }
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;

 private:
  std::shared_ptr<std::atomic<int>> active_;
};

}  // namespace

Result<EventQuery> parse_event_query(const HttpRequest& request) {
  EventQuery q;
  for (const auto& [key, value] : request.query) {
    std::string* field = key == "task"      ? &q.filter.task
                         : key == "node"    ? &q.filter.node
                         : key == "type"    ? &q.filter.type
                         : key == "service" ? &q.filter.service
                                            : nullptr;
    if (key == "since") {
      auto since = parse_index("since", value);
      if (!since)
        return since.status();
      q.since = *since;
      continue;
    }
    if (field == nullptr) {
      return Status::invalid("unknown query parameter \"" + key +
                             "\" (use task, node, type, service or since)");
    }
    if (value.empty())
      return Status::invalid("query parameter \"" + key + "\" is empty");
    *field = value;
  }
  if (!request.last_event_id.empty()) {
    auto since = parse_index("Last-Event-ID", request.last_event_id);
    if (!since)
      return since.status();
    q.since = *since;
  }
  return q;
}

std::string sse_event(const protocol::FeedEvent& event) {
  return "id: " + std::to_string(event.index) + "\nevent: " + event.type +
         "\ndata: " + feed_event_to_json(event).dump() + "\n\n";
}

std::string sse_reset(uint64_t next_index) {
  return "id: " + std::to_string(next_index) +
         "\nevent: reset\ndata: " + nlohmann::json{{"NextIndex", next_index}}.dump() + "\n\n";
}

EventStreams::EventStreams(BrokerApi& broker, const Clock& clock, EventStreamOptions options)
    : broker_(broker), clock_(clock), options_(options) {}

HttpResponse EventStreams::open(const HttpRequest& request) {
  auto query = parse_event_query(request);
  if (!query)
    return error_response(query.status());
  if (stopping_->load())
    return error_response(503, ErrorCode::Unavailable, "the gateway is stopping");
  // The first answer, at once: a bad filter is a 400 and a broker that is down a 503, before
  // a stream is counted or the 200 goes out.
  auto first = broker_.events(query->since, query->filter, Millis(0));
  if (!first)
    return error_response(first.status());
  if (active_->fetch_add(1) >= options_.max_streams) {
    active_->fetch_sub(1);
    return error_response(503, ErrorCode::Unavailable,
                          "too many event streams open (" + std::to_string(options_.max_streams) +
                              "): close one or retry later");
  }
  auto slot = std::make_shared<StreamSlot>(active_);

  HttpResponse r;
  r.content_type = "text/event-stream";
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Accel-Buffering", "no");  // a proxy in front must not buffer it
  if (request.method == "HEAD")
    return r;
  r.stream = [this, slot, filter = query->filter, first = std::move(*first),
              stopping = stopping_](const StreamWrite& write) {
    EventsPage page = first;
    SteadyTime last_write = clock_.now();
    while (true) {
      std::string out;
      if (page.too_old)
        out += sse_reset(page.next_index);
      for (const auto& event : page.events)
        out += sse_event(event);
      SteadyTime now = clock_.now();
      if (out.empty() && now - last_write >= options_.keepalive)
        out = ": keepalive\n\n";
      if (!out.empty()) {
        if (!write(out))
          return;  // the peer is gone
        last_write = now;
      }
      if (stopping->load())
        return;
      auto next = broker_.events(page.next_index, filter, options_.poll);
      if (!next)
        return;  // the broker failed: EventSource reconnects with Last-Event-ID
      page = std::move(*next);
    }
  };
  return r;
}

}  // namespace cube::gateway
