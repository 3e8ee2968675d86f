// DockerClient pieces that need no dockerd: HTTP status mapping, version comparison, the
// DOCKER_HOST forms, and what an unreachable socket looks like.
#include <gtest/gtest.h>

#include <string>

#include "agent/drivers/docker/docker_client.h"
#include "tests/support/temp_dir.h"

namespace cube::agent {
namespace {

TEST(DockerClientUnitTest, HttpStatusesMapToErrorCodesWithDockersMessage) {
  const std::string body = R"({"message":"No such container: abc"})";
  EXPECT_TRUE(status_from_http(200, body, "GET /x").is_ok());
  EXPECT_TRUE(status_from_http(204, "", "POST /x").is_ok());
  EXPECT_TRUE(status_from_http(304, "", "POST /x/start").is_ok());

  Status nf = status_from_http(404, body, "GET /containers/abc/json");
  EXPECT_EQ(nf.code(), ErrorCode::NotFound);
  EXPECT_EQ(nf.message(), "GET /containers/abc/json: No such container: abc");
  EXPECT_EQ(status_from_http(409, body, "r").code(), ErrorCode::Conflict);
  EXPECT_EQ(status_from_http(400, body, "r").code(), ErrorCode::Invalid);
  Status internal = status_from_http(500, R"({"message":"boom"})", "r");
  EXPECT_EQ(internal.code(), ErrorCode::Internal);
  EXPECT_NE(internal.message().find("boom"), std::string::npos);
  EXPECT_EQ(status_from_http(503, "", "r").code(), ErrorCode::Internal);
  // A body that is not dockerd's JSON is shown raw.
  EXPECT_NE(status_from_http(502, "bad gateway\n", "r").message().find("bad gateway"),
            std::string::npos);
}

TEST(DockerClientUnitTest, ComparesApiVersionsNumerically) {
  EXPECT_LT(compare_api_versions("1.41", "1.43"), 0);
  EXPECT_GT(compare_api_versions("1.43", "1.41"), 0);
  EXPECT_EQ(compare_api_versions("1.41", "1.41"), 0);
  EXPECT_LT(compare_api_versions("1.9", "1.10"), 0);
  EXPECT_GT(compare_api_versions("2.0", "1.99"), 0);
}

TEST(DockerClientUnitTest, DockerHostForms) {
  EXPECT_EQ(docker_socket_from_host("unix:///var/run/docker.sock").value(), "/var/run/docker.sock");
  EXPECT_EQ(docker_socket_from_host("/tmp/d.sock").value(), "/tmp/d.sock");
  EXPECT_TRUE(docker_socket_from_host("tcp://127.0.0.1:2375").status().is_invalid());
  EXPECT_TRUE(docker_socket_from_host("unix://relative").status().is_invalid());
  EXPECT_EQ(resolve_docker_socket("unix:///x/y.sock").value(), "/x/y.sock");
}

TEST(DockerClientUnitTest, MissingSocketIsUnavailableNamingTheSocket) {
  test::TempDir dir("cube-dk");
  DockerClientOptions options;
  options.socket_path = (dir / "no-docker.sock").string();
  DockerClient client(options);
  Status s = client.ping();
  EXPECT_EQ(s.code(), ErrorCode::Unavailable);
  EXPECT_NE(s.message().find("dockerd unreachable at " + options.socket_path + ": "),
            std::string::npos)
      << s.message();
  // Calls that need a negotiated version fail the same way and leave it unset.
  auto list = client.container_list({}, true);
  EXPECT_EQ(list.status().code(), ErrorCode::Unavailable);
  EXPECT_EQ(client.negotiated_api_version(), "");
}

}  // namespace
}  // namespace cube::agent
