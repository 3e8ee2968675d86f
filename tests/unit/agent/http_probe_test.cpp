// http_probe against a one-shot HTTP server on an ephemeral loopback port: which answers are
// healthy, and what the failures say.
#include "agent/http_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "common/unique_fd.h"

namespace cube::agent {
namespace {

using ::testing::HasSubstr;

// Accepts one connection on 127.0.0.1:<ephemeral>, reads the request head and answers with
// `response` (or, when empty, nothing: it waits for the client to give up and close).
class OneShotServer {
 public:
  explicit OneShotServer(std::string response) : response_(std::move(response)) {
    listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_.get(), 1), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotServer() {
    if (thread_.joinable())
      thread_.join();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Waits for the server to finish its one connection, then returns the request head it read.
  std::string finish() {
    thread_.join();
    return request_;
  }

 private:
  void serve() {
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid())
      return;
    char buf[4096];
    while (request_.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
      if (n <= 0)
        return;
      request_.append(buf, static_cast<size_t>(n));
    }
    if (response_.empty()) {
      // Hold the connection until the client times out and closes it.
      while (::recv(conn.get(), buf, sizeof buf, 0) > 0) {
      }
      return;
    }
    ::send(conn.get(), response_.data(), response_.size(), MSG_NOSIGNAL);
  }

  std::string response_;
  UniqueFd listener_;
  int port_ = 0;
  std::string request_;
  std::thread thread_;
};

std::string answer(int code, const std::string& reason) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason +
         "\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
}

TEST(HttpProbe, TwoHundredIsHealthyAndTheRequestIsAPlainGet) {
  OneShotServer server(answer(200, "OK"));
  Status s = http_probe(server.url("/health"), Millis(2000));
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  std::string request = server.finish();
  EXPECT_THAT(request, HasSubstr("GET /health HTTP/1.1\r\n"));
  EXPECT_THAT(request, HasSubstr("User-Agent: cube-agent/"));
}

TEST(HttpProbe, RedirectsAreHealthyAndNotFollowed) {
  OneShotServer server(
      "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n"
      "Connection: close\r\n\r\n");
  Status s = http_probe(server.url("/"), Millis(2000));
  EXPECT_TRUE(s.is_ok()) << s.to_string();
}

TEST(HttpProbe, FourHundredFourFailsNamingTheUrlAndTheStatus) {
  OneShotServer server(answer(404, "Not Found"));
  Status s = http_probe(server.url("/missing"), Millis(2000));
  EXPECT_TRUE(s.is_unavailable());
  EXPECT_EQ(s.message(), "GET " + server.url("/missing") + ": HTTP 404");
}

TEST(HttpProbe, ServerErrorsFail) {
  OneShotServer server(answer(503, "Service Unavailable"));
  Status s = http_probe(server.url("/health"), Millis(2000));
  EXPECT_EQ(s.message(), "GET " + server.url("/health") + ": HTTP 503");
}

TEST(HttpProbe, NoAnswerWithinTheTimeoutFails) {
  OneShotServer server("");  // reads the request, never answers
  Status s = http_probe(server.url("/slow"), Millis(200));
  EXPECT_TRUE(s.is_unavailable());
  EXPECT_EQ(s.message(), "GET " + server.url("/slow") + ": no answer within 200 ms");
}

TEST(HttpProbe, ARefusedConnectionFailsWithTheReason) {
  // A port that was bound and released: nothing listens there.
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/health";
  fd = UniqueFd();
  Status s = http_probe(url, Millis(2000));
  EXPECT_TRUE(s.is_unavailable());
  EXPECT_THAT(s.message(), HasSubstr("GET " + url + ": "));
  EXPECT_THAT(s.message(), HasSubstr("onnect"));  // "Couldn't connect" / "Connection refused"
}

TEST(HttpProbe, OnlyHttpUrlsAreFetched) {
  Status s = http_probe("file:///etc/passwd", Millis(200));
  EXPECT_FALSE(s.is_ok());
  EXPECT_THAT(s.message(), HasSubstr("GET file:///etc/passwd: "));
}

}  // namespace
}  // namespace cube::agent
