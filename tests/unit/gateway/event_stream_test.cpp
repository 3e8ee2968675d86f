// GET /events without sockets (gateway/event_stream.h): the query, the SSE framing, the bound on
// open streams and stop(), over a FakeBrokerApi (whose feed has no events).
#include "gateway/event_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway/rest_api.h"
#include "gateway/router.h"
#include "tests/unit/gateway/fake_broker_api.h"

namespace cube::gateway {
namespace {

using testing::FakeBrokerApi;
using ::testing::HasSubstr;

HttpRequest events_request(std::vector<std::pair<std::string, std::string>> query,
                           std::string last_event_id = "") {
  HttpRequest r;
  r.method = "GET";
  r.path = "/events";
  r.query = std::move(query);
  r.last_event_id = std::move(last_event_id);
  return r;
}

TEST(EventQuery, FiltersAndSinceComeFromTheQueryAndLastEventIdWins) {
  auto q = parse_event_query(events_request(
      {{"task", "t1"}, {"node", "a"}, {"type", "task"}, {"service", "web"}, {"since", "7"}}));
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  EXPECT_EQ(q->filter.task, "t1");
  EXPECT_EQ(q->filter.node, "a");
  EXPECT_EQ(q->filter.type, "task");
  EXPECT_EQ(q->filter.service, "web");
  EXPECT_EQ(q->since, 7u);
  auto resumed = parse_event_query(events_request({{"since", "7"}}, "42"));
  ASSERT_TRUE(resumed.is_ok());
  EXPECT_EQ(resumed->since, 42u);
  EXPECT_EQ(parse_event_query(events_request({}))->since, 0u) << "from now";
}

TEST(EventQuery, BadParametersAreInvalidNamingThem) {
  struct Case {
    HttpRequest request;
    std::string names;
  };
  std::vector<Case> cases = {
      {events_request({{"colour", "red"}}), "colour"},
      {events_request({{"node", ""}}), "node"},
      {events_request({{"since", "-1"}}), "since"},
      {events_request({{"since", "12x"}}), "since"},
      {events_request({}, "abc"), "Last-Event-ID"},
  };
  for (const auto& c : cases) {
    auto q = parse_event_query(c.request);
    EXPECT_TRUE(q.status().is_invalid()) << c.names;
    EXPECT_THAT(q.status().message(), HasSubstr(c.names));
  }
}

TEST(Sse, AnEventIsIdEventAndDataLinesThenABlankLine) {
  protocol::FeedEvent e;
  e.index = 42;
  e.type = "node";
  e.name = "node-a";
  e.state = "lost";
  e.previous_state = "suspect";
  std::string text = sse_event(e);
  EXPECT_TRUE(text.starts_with("id: 42\nevent: node\ndata: {")) << text;
  EXPECT_TRUE(text.ends_with("}\n\n")) << text;
  auto data = nlohmann::json::parse(text.substr(text.find("data: ") + 6));
  EXPECT_EQ(data["Node"]["State"], "lost");
  EXPECT_EQ(data["Index"], 42);
  EXPECT_EQ(sse_reset(57), "id: 57\nevent: reset\ndata: {\"NextIndex\":57}\n\n");
}

TEST(EventStreams, ABadFilterIs400BeforeAnyStream) {
  FakeBrokerApi broker;
  EventStreams streams(broker, system_clock());
  HttpResponse r = streams.open(events_request({{"type", "pod"}}));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("filter type"));
  EXPECT_FALSE(r.stream);
  broker.set_unavailable(true);
  EXPECT_EQ(streams.open(events_request({})).status, 503);
  EXPECT_EQ(streams.active(), 0);
}

TEST(EventStreams, OpenStreamsAreBoundedAndAClosedOneFreesItsPlace) {
  FakeBrokerApi broker;
  EventStreams streams(broker, system_clock(), EventStreamOptions{.max_streams = 1});
  std::optional<HttpResponse> first = streams.open(events_request({}));
  ASSERT_EQ(first->status, 200);
  EXPECT_EQ(first->content_type, "text/event-stream");
  EXPECT_EQ(first->header("Cache-Control"), "no-cache");
  ASSERT_TRUE(first->stream);
  HttpResponse second = streams.open(events_request({}));
  EXPECT_EQ(second.status, 503) << second.body;
  EXPECT_THAT(second.body, HasSubstr("too many event streams"));
  first.reset();  // the server dropped the response (the peer left)
  EXPECT_EQ(streams.active(), 0);
  EXPECT_EQ(streams.open(events_request({})).status, 200);
}

TEST(EventStreams, StopEndsAStreamAndRefusesNewOnes) {
  FakeBrokerApi broker;
  EventStreams streams(broker, system_clock());
  HttpResponse r = streams.open(events_request({}));
  ASSERT_TRUE(r.stream);
  streams.stop();
  std::string written;
  r.stream([&](std::string_view piece) {
    written += piece;
    return true;
  });  // returns: stopped
  EXPECT_EQ(written, "") << "no event happened";
  EXPECT_EQ(streams.open(events_request({})).status, 503);
}

TEST(EventStreams, TheRouteIsGetEventsBehindTheBearerToken) {
  EXPECT_EQ(match_route("GET", "/events").route, Route::Events);
  EXPECT_EQ(match_route("POST", "/events").kind, RouteMatch::Kind::MethodNotAllowed);
  FakeBrokerApi broker;
  RestApi api(broker, RestApiOptions{std::string("secret")});
  EXPECT_EQ(api.handle(events_request({})).status, 401);
  HttpRequest with_token = events_request({});
  with_token.authorization = "Bearer secret";
  EXPECT_EQ(api.handle(with_token).status, 200);
}

}  // namespace
}  // namespace cube::gateway
