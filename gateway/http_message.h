// HttpRequest and HttpResponse: the gateway's own view of one HTTP exchange, independent of the
// HTTP library. The REST handlers (gateway/rest_api.h) map one to the other as plain functions,
// so they are unit-tested without sockets; gateway/http_server.h converts to and from
// cpp-httplib.
//
// Thread-safety: values.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cube::gateway {

struct HttpRequest {
  std::string method;         // as sent, upper case: "GET", "POST", ...
  std::string path;           // percent-decoded, without the query string: "/tasks/ID"
  std::string body;           // at most the server's body limit
  std::string authorization;  // the Authorization header; "" when absent
  // The query string's parameters, decoded, in order ("?task=x&since=4": {task,x},{since,4}).
  std::vector<std::pair<std::string, std::string>> query{};
  std::string last_event_id{};  // the Last-Event-ID header (Server-Sent Events); "" when absent
  std::string if_none_match{};  // the If-None-Match header (a cached file's ETag); "" when absent

  // The first value of query parameter `name`; nullptr when absent.
  const std::string* query_value(std::string_view name) const {
    for (const auto& [k, v] : query) {
      if (k == name)
        return &v;
    }
    return nullptr;
  }
};

// Writes one piece of a streamed body; false once the peer is gone (stop streaming then).
using StreamWrite = std::function<bool(std::string_view)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra headers (Allow, Location, WWW-Authenticate), in order.
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is streamed instead of `body`: the server calls stream(write) on its
  // worker thread, sending each written piece at once (chunked), and ends the response when
  // stream returns. GET /events (gateway/event_stream.h).
  std::function<void(const StreamWrite& write)> stream{};

  // The value of header `name` (exact case as added); "" when absent. For tests and logs.
  std::string header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name)
        return v;
    }
    return "";
  }
};

}  // namespace cube::gateway
