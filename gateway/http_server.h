// HttpServer: the gateway's HTTP listener, a thin adapter over cpp-httplib. It owns the
// listening socket, one thread that accepts, and cpp-httplib's worker pool (8 threads, or one
// less than the cores on larger machines) that runs the handler; it converts requests and responses
// to gateway/http_message.h and nothing else, so all behaviour lives in the handler
// (gateway/rest_api.h).
//
// Limits, so that one client cannot hold the gateway:
//   - a body above max_body_bytes is refused with 413 and a JSON error;
//   - read_timeout bounds each wait for request bytes, write_timeout each wait to send;
//   - an idle keep-alive connection is closed after keep_alive_timeout.
// Errors cpp-httplib answers itself (400 for an unparsable request line, 413, 414 for a huge
// URI, 500 for an exception in the handler) get the same JSON error body as the handler's.
//
// Thread-safety: construct, start() and stop() from one thread. The handler is called from the
// worker threads concurrently and must be thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "gateway/http_message.h"

namespace cube::gateway {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (read it back with port())
  // 1 MiB: a task is a few hundred bytes; the broker's own frame limit is 1 MiB too.
  size_t max_body_bytes = 1 << 20;
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{10};
  std::chrono::seconds keep_alive_timeout{5};
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  HttpServer(HttpServerOptions options, Handler handler);
  // Calls stop().
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port and starts serving on a new thread. Call once.
  //   Unavailable  the address cannot be bound ("cannot listen on 127.0.0.1:8080: address in
  //                use or not available"); nothing is running then.
  // Does not block beyond bind().
  Status start();

  // The bound port; 0 before start() succeeded.
  int port() const { return port_; }

  // Stops accepting, lets requests in progress finish, and joins the threads. Idempotent. Blocks
  // until in-flight handlers return.
  void stop();

 private:
  struct Impl;
  HttpServerOptions options_;
  Handler handler_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace cube::gateway
