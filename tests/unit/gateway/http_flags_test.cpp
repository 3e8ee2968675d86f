// --http / --http-token-file / --insecure, and the bearer token helpers behind them.
#include "gateway/http_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "gateway/bearer_auth.h"
#include "tests/support/temp_dir.h"

namespace cube::gateway {
namespace {

using ::testing::HasSubstr;

constexpr const char* kToken = "s3cret-token-0123456789";

HttpFlags flags(std::optional<std::string> http, std::optional<std::string> token_file = {},
                bool insecure = false) {
  HttpFlags f;
  f.http = std::move(http);
  f.token_file = std::move(token_file);
  f.insecure = insecure;
  return f;
}

class HttpFlagsTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& content, mode_t mode = 0600) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << content;
    ::chmod(path.c_str(), mode);
    return path;
  }
  test::TempDir dir_{"cube-gw"};
};

TEST_F(HttpFlagsTest, NoHttpMeansNoGateway) {
  auto r = gateway_options_from_flags({}, nullptr);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->has_value());
}

TEST_F(HttpFlagsTest, LoopbackNeedsNothingElse) {
  auto r = gateway_options_from_flags(flags("127.0.0.1:8080"), nullptr);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->http.host, "127.0.0.1");
  EXPECT_EQ((*r)->http.port, 8080);
  EXPECT_FALSE((*r)->bearer_token);
  EXPECT_TRUE(gateway_options_from_flags(flags("localhost:0"), nullptr).is_ok());
  EXPECT_TRUE(gateway_options_from_flags(flags("[::1]:8080"), nullptr).is_ok());
}

TEST_F(HttpFlagsTest, NonLoopbackNeedsATokenOrInsecure) {
  auto refused = gateway_options_from_flags(flags("0.0.0.0:8080"), nullptr);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("--http-token-file"));
  EXPECT_THAT(refused.status().message(), HasSubstr("--insecure"));

  EXPECT_TRUE(gateway_options_from_flags(flags("0.0.0.0:8080", {}, true), nullptr).is_ok());
  std::string file = write("token", std::string(kToken) + "\n");
  bool world_readable = true;
  auto with_token = gateway_options_from_flags(flags("0.0.0.0:8080", file), &world_readable);
  ASSERT_TRUE(with_token.is_ok()) << with_token.status().to_string();
  EXPECT_EQ((*with_token)->bearer_token, kToken);
  EXPECT_FALSE(world_readable);
}

TEST_F(HttpFlagsTest, BadFlagsNameTheFlag) {
  auto r = gateway_options_from_flags(flags("nonsense"), nullptr);
  ASSERT_FALSE(r.is_ok());
  EXPECT_THAT(r.status().message(), HasSubstr("--http"));
  r = gateway_options_from_flags(flags({}, "/x"), nullptr);
  ASSERT_FALSE(r.is_ok());
  EXPECT_THAT(r.status().message(), HasSubstr("needs --http"));
  HttpFlags ready_only;
  ready_only.ready_file = "/tmp/x";
  r = gateway_options_from_flags(ready_only, nullptr);
  ASSERT_FALSE(r.is_ok());
  EXPECT_THAT(r.status().message(), HasSubstr("--http-ready-file needs --http"));
  r = gateway_options_from_flags(flags("127.0.0.1:8080", "/nonexistent/t"), nullptr);
  ASSERT_FALSE(r.is_ok());
  EXPECT_THAT(r.status().message(), HasSubstr("--http-token-file"));
}

TEST_F(HttpFlagsTest, TokenFileRules) {
  EXPECT_EQ(*read_token_file(write("a", std::string("  ") + kToken + "\r\n\n")), kToken);
  EXPECT_FALSE(read_token_file(write("empty", "\n")).is_ok());
  auto short_token = read_token_file(write("short", "abc"));
  ASSERT_FALSE(short_token.is_ok());
  EXPECT_THAT(short_token.status().message(), HasSubstr("at least 16"));
  EXPECT_FALSE(
      read_token_file(write("two", std::string(kToken) + "\nsecond-line-token-xyz")).is_ok());
  bool world_readable = false;
  ASSERT_TRUE(read_token_file(write("open", kToken, 0644), &world_readable).is_ok());
  EXPECT_TRUE(world_readable);
}

TEST(BearerAuth, MatchesOnlyTheExactToken) {
  EXPECT_TRUE(bearer_matches("Bearer abc", "abc"));
  EXPECT_TRUE(bearer_matches("BEARER abc", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer abcd", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer ab", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer abd", "abc"));
  EXPECT_FALSE(bearer_matches("Basic abc", "abc"));
  EXPECT_FALSE(bearer_matches("abc", "abc"));
  EXPECT_FALSE(bearer_matches("", "abc"));
}

TEST(LoopbackHost, Recognised) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("::"));
}

}  // namespace
}  // namespace cube::gateway
