#include "gateway/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <exception>
#include <future>
#include <thread>
#include <utility>

#include "common/units.h"
#include "gateway/json_error.h"

namespace cube::gateway {
namespace {

// How often stop() repeats httplib's stop() while waiting for the listen thread: httplib's stop
// is a no-op until its listen loop has started, so a stop() right after start() must repeat it.
constexpr std::chrono::milliseconds kStopRetry{20};

HttpRequest to_request(const httplib::Request& req) {
  HttpRequest r;
  r.method = req.method;
  r.path = req.path;
  r.body = req.body;
  r.authorization = req.get_header_value("Authorization");
  r.last_event_id = req.get_header_value("Last-Event-ID");
  for (const auto& [key, value] : req.params)
    r.query.emplace_back(key, value);
  r.if_none_match = req.get_header_value("If-None-Match");
  return r;
}

// True when the request announces a body (httplib reads it, within the limit, before routing).
bool has_body(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding"))
    return true;
  std::string length = req.get_header_value("Content-Length");
  return !length.empty() && length != "0";
}

void write_response(const HttpResponse& from, httplib::Response& to) {
  to.status = from.status;
  for (const auto& [name, value] : from.headers)
    to.set_header(name, value);
  if (from.stream) {
    // One call of the provider runs the whole stream on this worker thread.
    to.set_chunked_content_provider(
        from.content_type, [stream = from.stream](size_t, httplib::DataSink& sink) {
          stream([&sink](std::string_view piece) {
            return sink.is_writable() && sink.write(piece.data(), piece.size());
          });
          sink.done();
          return true;
        });
    return;
  }
  if (!from.body.empty() || !from.content_type.empty())
    to.set_content(from.body, from.content_type);
}

// The JSON error for a status httplib set by itself (the handler never ran, or threw).
HttpResponse builtin_error(int status, const HttpServerOptions& options) {
  switch (status) {
    case 413:
      return error_response(413, ErrorCode::Invalid,
                            "the request body is larger than the limit of " +
                                format_size(static_cast<int64_t>(options.max_body_bytes)));
    case 414:
      return error_response(414, ErrorCode::Invalid, "the request URI is too long");
    case 404:
      return error_response(404, ErrorCode::NotFound, "no such endpoint");
    case 400:
      return error_response(400, ErrorCode::Invalid,
                            "malformed HTTP request (request line, headers or body encoding)");
    default:
      if (status >= 500)
        return error_response(status, ErrorCode::Internal, "internal error in the gateway");
      return error_response(status, ErrorCode::Invalid,
                            "the request was refused (HTTP " + std::to_string(status) + ")");
  }
}

}  // namespace

struct HttpServer::Impl {
  httplib::Server server;
  std::thread thread;
  std::future<void> listen_done;
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)), impl_(std::make_unique<Impl>()) {}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::start() {
  CUBE_CHECK(!impl_->thread.joinable()) << "HttpServer::start() is called once";
  httplib::Server& server = impl_->server;
  server.set_payload_max_length(options_.max_body_bytes);
  server.set_read_timeout(options_.read_timeout);
  server.set_write_timeout(options_.write_timeout);
  server.set_keep_alive_timeout(options_.keep_alive_timeout.count());
  // httplib's default also sets SO_REUSEPORT, which would let a second broker bind the same port
  // and silently share its connections. SO_REUSEADDR alone still allows a quick restart.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
    write_response(handler_(to_request(req)), res);
  };
  // A request without a body is answered before httplib's routing: httplib would refuse a
  // PUT or POST without Content-Length with a bare 400 before any route is looked at, where the
  // handler can say 405 or what the body lacks. With no body there is nothing left unread on
  // the connection, so keep-alive stays in step.
  server.set_pre_routing_handler([dispatch](const httplib::Request& req, httplib::Response& res) {
    if (has_body(req))
      return httplib::Server::HandlerResponse::Unhandled;
    dispatch(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Every method reaches the handler, which answers 404/405 itself (gateway/router.h).
  const std::string kAny = ".*";
  server.Get(kAny, dispatch);
  server.Post(kAny, dispatch);
  server.Put(kAny, dispatch);
  server.Patch(kAny, dispatch);
  server.Delete(kAny, dispatch);
  server.Options(kAny, dispatch);

  // Called for every response with status >= 400, also the handler's own errors.
  httplib::Server::HandlerWithResponse on_error = [this](const httplib::Request&,
                                                         httplib::Response& res) {
    if (!res.body.empty())
      return httplib::Server::HandlerResponse::Unhandled;  // the handler's own JSON error
    write_response(builtin_error(res.status, options_), res);
    return httplib::Server::HandlerResponse::Handled;
  };
  server.set_error_handler(std::move(on_error));
  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("http: {} {}: {}", req.method, req.path, what);
        write_response(error_response(500, ErrorCode::Internal, "internal error: " + what), res);
      });
  server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("http: {} {} -> {}", req.method, req.path, res.status);
  });

  int port = options_.port;
  bool bound = false;
  if (port == 0) {
    port = server.bind_to_any_port(options_.host);
    bound = port > 0;
  } else {
    bound = server.bind_to_port(options_.host, port);
  }
  if (!bound) {
    return Status::unavailable("cannot listen on " + options_.host + ":" +
                               std::to_string(options_.port) +
                               " for HTTP: address in use or not available");
  }
  port_ = port;
  std::promise<void> done;
  impl_->listen_done = done.get_future();
  impl_->thread = std::thread([&server, done = std::move(done)]() mutable {
    if (!server.listen_after_bind())
      spdlog::error("http: the listener stopped unexpectedly");
    done.set_value();
  });
  return Status::ok();
}

void HttpServer::stop() {
  if (!impl_->thread.joinable())
    return;
  do {
    impl_->server.stop();
  } while (impl_->listen_done.wait_for(kStopRetry) != std::future_status::ready);
  impl_->thread.join();
}

}  // namespace cube::gateway
