// GET /events: the broker's event feed (docs/events.md) as Server-Sent Events. Each event is
//
//   id: 42
//   event: task                 (node, service)
//   data: {"Index":42,"Type":"task",...}     (protocol/event_json.h)
//
// followed by a blank line. Query parameters filter as `cube-client events --filter` does
// (task=ID, node=NAME, type=task|node|service, service=NAME); since=INDEX, or a Last-Event-ID
// header (which wins: a browser's EventSource sends it when it reconnects), starts after that
// event, else the stream starts from now. When that index is gone from the broker's buffer (or
// the broker restarted) the stream sends `event: reset` with data {"NextIndex":N} (and id N)
// and goes on from there: a page reloads its snapshot (GET /tasks, /nodes) on it. A comment
// line ": keepalive" goes out after kKeepalive without an event.
//
// Each stream holds one HTTP worker thread and long-polls the broker (EVENTS, at most
// `poll` per request, so it notices stop() and a gone peer within that). At most
// `max_streams` run at once: one more is answered 503 with a JSON error. A broker that fails
// (unreachable, an error) ends the stream; EventSource reconnects with Last-Event-ID.
//
// Thread-safety: open() and stop() from any thread; the returned response's stream runs on the
// HTTP worker thread that sends it. The EventStreams must outlive every stream it opened
// (stop(), then stop the HTTP server, which waits for them).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "gateway/broker_api.h"
#include "gateway/http_message.h"

namespace cube::gateway {

struct EventStreamOptions {
  // 4 of the HTTP server's 8 workers: the others stay free for the REST calls.
  int max_streams = 4;
  Millis poll{2000};
  Millis keepalive{15000};
};

// What a GET /events asks for.
struct EventQuery {
  protocol::EventFilter filter;
  uint64_t since = 0;  // 0: from now
};

// The filter and start of `request` (query parameters and Last-Event-ID). Invalid naming the
// parameter for an unknown one, an empty value or an index that is not a whole number.
Result<EventQuery> parse_event_query(const HttpRequest& request);

// One event as the SSE lines above (with the blank line that ends it).
std::string sse_event(const protocol::FeedEvent& event);
// The reset event: the events after the index asked for are gone; continue from `next_index`.
std::string sse_reset(uint64_t next_index);

class EventStreams {
 public:
  // `broker` and `clock` must outlive this object.
  EventStreams(BrokerApi& broker, const Clock& clock, EventStreamOptions options = {});

  // The response to GET /events: 400 for a bad query or filter (the broker's message), 503 when
  // max_streams streams run or the broker does not answer (or after stop()), else 200
  // text/event-stream with a stream that runs until the peer goes, the broker fails or stop().
  // Asks the broker once (it checks the filter) before answering.
  HttpResponse open(const HttpRequest& request);

  // Ends every stream within `poll` and refuses new ones. Idempotent.
  void stop() { stopping_->store(true); }

  // Streams running now.
  int active() const { return active_->load(); }

 private:
  BrokerApi& broker_;
  const Clock& clock_;
  const EventStreamOptions options_;
  // Shared with the streams, which may outlive a moved-from owner for a moment.
  std::shared_ptr<std::atomic<int>> active_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<bool>> stopping_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace cube::gateway
