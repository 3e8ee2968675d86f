// The HTTP adapter over cpp-httplib, with a real listener on 127.0.0.1 (port 0) and
// httplib::Client: what reaches the handler, and the limits and errors httplib answers itself.
#include "gateway/http_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/unique_fd.h"

namespace cube::gateway {
namespace {

using ::testing::HasSubstr;

// Echoes what the handler saw as JSON.
HttpResponse echo(const HttpRequest& r) {
  if (r.path == "/throw")
    throw std::runtime_error("boom");
  HttpResponse out;
  out.status = r.path == "/missing" ? 404 : 200;
  out.body = nlohmann::json{{"method", r.method},
                            {"path", r.path},
                            {"body", r.body},
                            {"authorization", r.authorization}}
                 .dump();
  out.headers.emplace_back("X-Test", "yes");
  return out;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.port = 0;
    options.max_body_bytes = 1024;
    options.read_timeout = std::chrono::seconds(1);
    options.keep_alive_timeout = std::chrono::seconds(1);
    server_ = std::make_unique<HttpServer>(options, echo);
    Status s = server_->start();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    ASSERT_GT(server_->port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(5, 0);
  }

  nlohmann::json body_of(const httplib::Result& r) {
    EXPECT_TRUE(r) << httplib::to_string(r.error());
    if (!r)
      return nullptr;
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r->body;
    return j;
  }

  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpServerTest, RequestReachesTheHandlerAndTheResponseComesBack) {
  httplib::Headers headers = {{"Authorization", "Bearer xyz"}};
  auto r = client_->Post("/tasks?verbose=1", headers, "{\"a\":1}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("X-Test"), "yes");
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  auto j = body_of(r);
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["path"], "/tasks") << "the query string is not part of the path";
  EXPECT_EQ(j["body"], "{\"a\":1}");
  EXPECT_EQ(j["authorization"], "Bearer xyz");
}

TEST_F(HttpServerTest, EveryMethodReachesTheHandlerEvenWithoutABody) {
  for (const char* method : {"GET", "DELETE", "PUT", "POST", "PATCH", "OPTIONS"}) {
    httplib::Request req;
    req.method = method;
    req.path = "/x";
    auto r = client_->send(req);
    ASSERT_TRUE(r) << method;
    EXPECT_EQ(r->status, 200) << method;
    EXPECT_EQ(body_of(r)["method"], method);
  }
  auto head = client_->Head("/x");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
}

TEST_F(HttpServerTest, HandlerErrorsKeepTheirBody) {
  auto r = client_->Get("/missing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(body_of(r)["path"], "/missing");
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413WithAJsonError) {
  std::string big(4096, 'x');
  auto r = client_->Post("/tasks", big, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  auto j = body_of(r);
  EXPECT_EQ(j["error"]["code"], "invalid");
  EXPECT_THAT(j["error"]["message"].get<std::string>(), HasSubstr("1 KiB"));
  // The server still serves the next request.
  auto after = client_->Get("/ok");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST_F(HttpServerTest, AnExceptionInTheHandlerIs500WithAJsonError) {
  auto r = client_->Get("/throw");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  auto j = body_of(r);
  EXPECT_EQ(j["error"]["code"], "internal");
  EXPECT_THAT(j["error"]["message"].get<std::string>(), HasSubstr("boom"));
}

TEST_F(HttpServerTest, AMalformedRequestLineIsA400JsonError) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string garbage = "FROB /tasks HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd.get(), garbage.data(), garbage.size(), 0),
            static_cast<ssize_t>(garbage.size()));
  std::string answer;
  char buf[4096];
  pollfd p{fd.get(), POLLIN, 0};
  while (::poll(&p, 1, 5000) == 1) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0)
      break;
    answer.append(buf, static_cast<size_t>(n));
    if (answer.find("}}") != std::string::npos)
      break;
  }
  EXPECT_THAT(answer, HasSubstr("HTTP/1.1 400"));
  EXPECT_THAT(answer, HasSubstr("\"code\":\"invalid\""));
}

TEST_F(HttpServerTest, ASilentConnectionIsClosedAfterTheReadTimeout) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string partial = "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
  ASSERT_EQ(::send(fd.get(), partial.data(), partial.size(), 0),
            static_cast<ssize_t>(partial.size()));
  // The server gives up on the missing 99 bytes after its 1 s read timeout, answers, and closes
  // after the 1 s keep-alive wait; the connection must end well before this 10 s bound.
  pollfd p{fd.get(), POLLIN, 0};
  bool closed = false;
  char buf[4096];
  while (::poll(&p, 1, 10000) == 1) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed);
}

TEST(HttpServer, ASecondServerOnTheSamePortFailsToStart) {
  HttpServerOptions options;
  options.port = 0;
  HttpServer first(options, echo);
  ASSERT_TRUE(first.start().is_ok());
  options.port = first.port();
  HttpServer second(options, echo);
  Status s = second.start();
  ASSERT_FALSE(s.is_ok()) << "SO_REUSEPORT would let two brokers share one port";
  EXPECT_TRUE(s.is_unavailable());
  EXPECT_THAT(s.message(), HasSubstr(std::to_string(first.port())));
}

TEST(HttpServer, StopRightAfterStartReturns) {
  for (int i = 0; i < 20; ++i) {
    HttpServerOptions options;
    options.port = 0;
    HttpServer server(options, echo);
    ASSERT_TRUE(server.start().is_ok());
    server.stop();  // must not hang even if the listen thread has not started yet
    server.stop();  // idempotent
  }
}

TEST(HttpServer, StopWithoutStartIsANoOp) {
  HttpServer server(HttpServerOptions{}, echo);
  server.stop();
  EXPECT_EQ(server.port(), 0);
}

}  // namespace
}  // namespace cube::gateway
