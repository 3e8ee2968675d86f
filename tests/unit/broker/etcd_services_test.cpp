#include "broker/etcd_services.h"

#include <gtest/gtest.h>

#include "protocol/codec.h"

namespace cube::broker {
namespace {

Service named(std::string name) {
  Service s;
  s.name = std::move(name);
  s.replicas = 2;
  s.task_template.driver = "exec";
  s.task_template.cmd = {"sleep", "60"};
  return s;
}

TEST(EtcdServices, ServicesLiveUnderTheirOwnKeysApartFromTasks) {
  EtcdLayout layout("/a/b");
  EXPECT_EQ(etcd_services_prefix(layout), "/a/b/services/");
  EXPECT_EQ(etcd_service_key(layout, "web"), "/a/b/services/web");
  EXPECT_FALSE(etcd_service_key(layout, "web").starts_with(layout.tasks_prefix()));
}

TEST(EtcdServices, AChangeIsPutsThenDeletesCarryingTheGuard) {
  EtcdLayout layout("/c");
  std::vector<EtcdCompare> guard = {EtcdCompare::create_revision_is("/c/leader", 42)};
  auto txns = build_service_txns(layout, std::vector<Service>{named("web")},
                                 std::vector<std::string>{"old"}, {}, guard);
  ASSERT_EQ(txns.size(), 1u);
  EXPECT_EQ(txns[0].compares, guard);
  ASSERT_EQ(txns[0].success.size(), 2u);
  EXPECT_EQ(txns[0].success[0].kind, EtcdOp::Kind::Put);
  EXPECT_EQ(txns[0].success[0].key, "/c/services/web");
  EXPECT_EQ(txns[0].success[1].kind, EtcdOp::Kind::DeleteRange);
  EXPECT_EQ(txns[0].success[1].key, "/c/services/old");
  EXPECT_TRUE(txns[0].success[1].range_end.empty());  // that key only, not a prefix
  auto back = decode_etcd_service(layout, {txns[0].success[0].key, txns[0].success[0].value});
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, named("web"));
}

TEST(EtcdServices, AnEmptyChangeIsNoTxnAndAManyServiceChangeIsSplit) {
  EtcdLayout layout("/c");
  EXPECT_TRUE(build_service_txns(layout, {}, {}, {}).empty());
  std::vector<std::string> removed;
  for (int i = 0; i < 300; ++i)
    removed.push_back("s" + std::to_string(i));
  auto txns = build_service_txns(layout, {}, removed, {});
  ASSERT_EQ(txns.size(), 3u);  // 128 + 128 + 44
  EXPECT_EQ(txns[2].success.size(), 44u);
}

TEST(EtcdServices, AValueThatNamesAnotherServiceIsRefused) {
  EtcdLayout layout("/c");
  auto refused =
      decode_etcd_service(layout, {"/c/services/web", protocol::encode_service(named("db"))});
  EXPECT_FALSE(refused.is_ok());
  EXPECT_FALSE(decode_etcd_service(layout, {"/c/services/web", "garbage"}).is_ok());
}

}  // namespace
}  // namespace cube::broker
