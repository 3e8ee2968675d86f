#include "agent/agent_identity.h"

#include <gtest/gtest.h>

#include <fstream>

#include "agent/host_capacity.h"
#include "agent/options.h"
#include "common/ids.h"
#include "tests/support/temp_dir.h"

namespace cube::agent {
namespace {

TEST(AgentIdentityTest, CreatedOnceAndStableAcrossRestarts) {
  test::TempDir dir;
  auto first = load_or_create_agent_id(dir.path());
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_TRUE(is_uuid(*first));
  EXPECT_TRUE(std::filesystem::exists(dir / kAgentIdFile));
  auto second = load_or_create_agent_id(dir.path());
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(*first, *second);
  EXPECT_FALSE(std::filesystem::exists(dir / "agent-id.tmp"));
}

TEST(AgentIdentityTest, DifferentDataDirsGetDifferentIds) {
  test::TempDir a, b;
  EXPECT_NE(*load_or_create_agent_id(a.path()), *load_or_create_agent_id(b.path()));
}

TEST(AgentIdentityTest, CorruptFileIsInvalidAndNamesTheFile) {
  test::TempDir dir;
  std::ofstream(dir / kAgentIdFile) << "not-an-id\n";
  auto id = load_or_create_agent_id(dir.path());
  ASSERT_FALSE(id.is_ok());
  EXPECT_EQ(id.status().code(), ErrorCode::Invalid);
  EXPECT_NE(id.status().message().find((dir / kAgentIdFile).string()), std::string::npos);
}

TEST(AgentIdentityTest, MissingDataDirIsAnError) {
  test::TempDir dir;
  auto id = load_or_create_agent_id(dir / "does-not-exist");
  ASSERT_FALSE(id.is_ok());
  EXPECT_EQ(id.status().code(), ErrorCode::Internal);
}

TEST(HostCapacityTest, ParsesMemTotal) {
  auto total = parse_meminfo_total("MemFree:  10 kB\nMemTotal:       16384 kB\nSwap: 0 kB\n");
  ASSERT_TRUE(total.is_ok());
  EXPECT_EQ(*total, 16384 * 1024);
  EXPECT_FALSE(parse_meminfo_total("MemFree: 10 kB\n").is_ok());
  EXPECT_FALSE(parse_meminfo_total("MemTotal: lots\n").is_ok());
}

TEST(HostCapacityTest, ProbesThisHost) {
  test::TempDir dir;
  auto c = probe_host_capacity(dir.path(), 7);
  EXPECT_GE(c.cpu, 1.0);
  EXPECT_GT(c.memory_bytes, 0);
  EXPECT_GT(c.disk_bytes, 0);
  EXPECT_EQ(c.slots, 7u);
  EXPECT_EQ(probe_host_capacity(dir / "missing", 1).disk_bytes, 0);
}

TEST(AgentOptionsTest, EndpointsComeFromTheBasePortUnlessOverridden) {
  AgentOptions o;
  o.broker_host = "10.0.0.5";
  o.broker_port = 7200;
  auto e = broker_endpoints(o);
  EXPECT_EQ(e.work, "tcp://10.0.0.5:7201");
  EXPECT_EQ(e.events, "tcp://10.0.0.5:7202");
  EXPECT_EQ(e.beacon, "tcp://10.0.0.5:7203");
  o.events_endpoint_override = "tcp://127.0.0.1:4000";
  EXPECT_EQ(broker_endpoints(o).events, "tcp://127.0.0.1:4000");
  EXPECT_EQ(broker_endpoints(o).work, "tcp://10.0.0.5:7201");
}

TEST(AgentOptionsTest, Defaults) {
  AgentOptions o;
  EXPECT_EQ(o.broker_host, "127.0.0.1");
  EXPECT_EQ(o.broker_port, 7100);
  EXPECT_EQ(o.slots, 4u);
  EXPECT_EQ(o.heartbeat, Millis(1000));
  EXPECT_EQ(o.stop_grace, Millis(10000));
  EXPECT_FALSE(default_agent_name().empty());
  EXPECT_FALSE(default_data_dir().empty());
}

}  // namespace
}  // namespace cube::agent
