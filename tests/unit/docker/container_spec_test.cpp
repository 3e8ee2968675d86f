// Task -> container create body (container_spec.h) and image references (image_ref.h).
#include "agent/drivers/docker/container_spec.h"

#include <gtest/gtest.h>

#include "agent/drivers/docker/image_ref.h"

namespace cube::agent {
namespace {

using nlohmann::json;

Task web_task() {
  Task t;
  t.id = "0190a3c4-1111-7000-8000-000000000001";
  t.name = "web";
  t.image = "cube/busybox:latest";
  t.cmd = {"httpd", "-f", "-p", "8080"};
  t.env = {"A=1"};
  t.cpu = 0.5;
  t.memory_bytes = 64 << 20;
  t.exposed_ports = {"8080/tcp", "53/udp"};
  t.labels = {{"team", "blue"}, {"cube.task", "spoofed"}};
  t.attempt = 3;
  return t;
}

ContainerSpecOptions node_options() {
  ContainerSpecOptions o;
  o.node_id = "agent-1";
  o.node_name = "box";
  o.publish_address = "127.0.0.1";
  o.pids_limit = 1024;
  return o;
}

TEST(ContainerSpecTest, ConfigCarriesImageCmdEnvLabelsAndLimits) {
  auto r = container_config_for(web_task(), node_options());
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const json& c = *r;
  EXPECT_EQ(c["Image"], "cube/busybox:latest");
  EXPECT_EQ(c["Cmd"], json::array({"httpd", "-f", "-p", "8080"}));
  EXPECT_EQ(c["Env"], json::array({"A=1"}));
  EXPECT_EQ(c["Tty"], false);
  // Task labels pass through; Cube's own labels cannot be overridden by a task.
  EXPECT_EQ(c["Labels"]["team"], "blue");
  EXPECT_EQ(c["Labels"]["cube.task"], "0190a3c4-1111-7000-8000-000000000001");
  EXPECT_EQ(c["Labels"]["cube.node"], "agent-1");
  EXPECT_EQ(c["Labels"]["cube.attempt"], "3");
  EXPECT_EQ(c["Labels"]["cube.node-name"], "box");

  const json& h = c["HostConfig"];
  EXPECT_EQ(h["Memory"], 64 << 20);
  EXPECT_EQ(h["NanoCpus"], 500000000);
  EXPECT_EQ(h["PidsLimit"], 1024);
  EXPECT_EQ(h["SecurityOpt"], json::array({"no-new-privileges"}));
  EXPECT_EQ(h["Init"], true);
  EXPECT_EQ(h["Privileged"], false);
  EXPECT_FALSE(h.contains("Binds"));
  EXPECT_FALSE(h.contains("Mounts"));
  EXPECT_EQ(h["RestartPolicy"]["Name"], "no");
}

TEST(ContainerSpecTest, ExposedPortsArePublishedOnThePublishAddressWithADockerChosenPort) {
  Task t = web_task();
  t.exposed_ports = {"8080", "53/udp"};
  ContainerSpecOptions o = node_options();
  o.publish_address = "10.0.0.5";
  auto r = container_config_for(t, o);
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE((*r)["ExposedPorts"].contains("8080/tcp"));
  EXPECT_TRUE((*r)["ExposedPorts"].contains("53/udp"));
  json expected = json::array({{{"HostIp", "10.0.0.5"}, {"HostPort", ""}}});
  EXPECT_EQ((*r)["HostConfig"]["PortBindings"]["8080/tcp"], expected);
  EXPECT_EQ((*r)["HostConfig"]["PortBindings"]["53/udp"], expected);
}

TEST(ContainerSpecTest, ZeroLimitsAndEmptyCmdAreLeftToDocker) {
  Task t = web_task();
  t.cpu = 0;
  t.memory_bytes = 0;
  t.cmd.clear();
  ContainerSpecOptions o = node_options();
  o.pids_limit = 0;
  auto r = container_config_for(t, o);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE((*r).contains("Cmd"));  // the image's default command
  EXPECT_FALSE((*r)["HostConfig"].contains("Memory"));
  EXPECT_FALSE((*r)["HostConfig"].contains("NanoCpus"));
  EXPECT_FALSE((*r)["HostConfig"].contains("PidsLimit"));
}

TEST(ContainerSpecTest, RefusesMissingImageBadPortAndPrivilegedUnlessAllowed) {
  Task no_image = web_task();
  no_image.image.clear();
  EXPECT_TRUE(container_config_for(no_image, node_options()).status().is_invalid());

  Task bad_port = web_task();
  bad_port.exposed_ports = {"70000/tcp"};
  auto r = container_config_for(bad_port, node_options());
  EXPECT_TRUE(r.status().is_invalid());
  EXPECT_NE(r.status().message().find("70000/tcp"), std::string::npos);

  Task privileged = web_task();
  privileged.labels["cube.privileged"] = "true";
  auto refused = container_config_for(privileged, node_options());
  EXPECT_TRUE(refused.status().is_invalid());
  EXPECT_NE(refused.status().message().find("privileged"), std::string::npos);
  ContainerSpecOptions allow = node_options();
  allow.allow_privileged = true;
  auto allowed = container_config_for(privileged, allow);
  ASSERT_TRUE(allowed.is_ok());
  EXPECT_EQ((*allowed)["HostConfig"]["Privileged"], true);
}

TEST(ContainerSpecTest, NormalizePort) {
  EXPECT_EQ(normalize_port("80").value(), "80/tcp");
  EXPECT_EQ(normalize_port("53/udp").value(), "53/udp");
  EXPECT_FALSE(normalize_port("0").is_ok());
  EXPECT_FALSE(normalize_port("65536").is_ok());
  EXPECT_FALSE(normalize_port("80/icmp").is_ok());
  EXPECT_FALSE(normalize_port("http").is_ok());
  EXPECT_FALSE(normalize_port("").is_ok());
}

TEST(ContainerSpecTest, NameIsTheSanitizedTaskNameAndAShortId) {
  Task t = web_task();
  EXPECT_EQ(container_name_for(t), "cube-web-000000000001");
  t.name = "my app/v2 (test)";
  EXPECT_EQ(container_name_for(t), "cube-my-app-v2--test--000000000001");
  t.name = "";
  EXPECT_EQ(container_name_for(t), "cube-task-000000000001");
  t.name = std::string(100, 'n');
  EXPECT_EQ(container_name_for(t), "cube-" + std::string(40, 'n') + "-000000000001");
  // Two tasks named alike whose UUIDv7 IDs share the leading (timestamp) digits still differ.
  Task a = web_task();
  Task b = web_task();
  b.id = "0190a3c4-1111-7000-8000-000000000002";
  EXPECT_NE(container_name_for(a), container_name_for(b));
}

TEST(ImageRefTest, Splits) {
  auto r = split_image_ref("no-such/image:1");
  EXPECT_EQ(r.repository, "no-such/image");
  EXPECT_EQ(r.tag, "1");
  r = split_image_ref("busybox");
  EXPECT_EQ(r.repository, "busybox");
  EXPECT_EQ(r.tag, "latest");
  r = split_image_ref("registry:5000/team/app");
  EXPECT_EQ(r.repository, "registry:5000/team/app");
  EXPECT_EQ(r.tag, "latest");
  r = split_image_ref("registry:5000/app:2.1");
  EXPECT_EQ(r.repository, "registry:5000/app");
  EXPECT_EQ(r.tag, "2.1");
  r = split_image_ref("app@sha256:abcd");
  EXPECT_EQ(r.repository, "app");
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.digest, "sha256:abcd");
}

}  // namespace
}  // namespace cube::agent
