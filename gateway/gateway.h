// Gateway: the HTTP gateway as one object, for cube-broker's main. It is a client of the
// broker's client port (cube::Client over TCP, normally loopback): a pool of clients
// (gateway/client_pool.h) behind the REST handlers (gateway/rest_api.h) behind the HTTP listener
// (gateway/http_server.h). It never touches broker state directly, so every request goes
// through the same validation, idempotency and group commit as cube-client's.
//
// Lifecycle: start() binds and serves on its own threads; stop() (or the destructor) stops
// accepting, waits for requests in progress and joins. Stop the gateway before the broker loop
// so that requests in progress still get their answer.
//
// Thread-safety: start(), port() and stop() from one thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "client/client.h"
#include "common/clock.h"
#include "common/status.h"
#include "gateway/client_pool.h"
#include "gateway/http_server.h"
#include "gateway/rest_api.h"

namespace cube::gateway {

struct GatewayOptions {
  HttpServerOptions http;  // where to listen, body limit, timeouts
  // The broker's client port: "tcp://127.0.0.1:7100" (see broker_connect_endpoint()).
  std::string broker_endpoint;
  // When set, every request but GET /healthz and the dashboard's static files (/ui) needs
  // "Authorization: Bearer <token>".
  std::optional<std::string> bearer_token;
};

// Where a process in the broker's host reaches a broker bound to bind_host:port: a wildcard
// bind ("0.0.0.0", "*", "::") is reached over loopback; any other host as it is.
// "tcp://127.0.0.1:7100". Pure.
std::string broker_connect_endpoint(std::string_view bind_host, int port);

class Gateway {
 public:
  // Builds the gateway; nothing listens until start(). `clock` must outlive the gateway (it
  // bounds the broker calls' tries and stamps generated task IDs).
  explicit Gateway(GatewayOptions options, const Clock& clock = system_clock());
  // Calls stop().
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Starts listening and serving on the gateway's own threads. Call once.
  //   Unavailable  the HTTP address cannot be bound (see HttpServer::start).
  Status start() { return server_.start(); }

  // The bound HTTP port (the real one when the options asked for port 0).
  int port() const { return server_.port(); }

  // See the file comment. Idempotent; blocks until requests in progress are answered.
  void stop() {
    api_.stop_streams();  // the server waits for its streams: end them first
    server_.stop();
  }

 private:
  ClientPool pool_;
  RestApi api_;
  HttpServer server_;  // last: stopped first, while the pool and the API still exist
};

}  // namespace cube::gateway
