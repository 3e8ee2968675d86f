// Services in the stores (Store::commit_services / load_services): the same expectations for
// the memory and the SQLite store; the etcd store's keys and txns are in etcd_services_test.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "broker/memory_store.h"
#include "broker/sqlite_store.h"
#include "tests/support/temp_dir.h"

namespace cube::broker {
namespace {

Service web(uint32_t replicas) {
  Service s;
  s.name = "web";
  s.task_template.image = "nginx:1.25";
  s.task_template.driver = "docker";
  s.task_template.restart_policy = "always";
  s.task_template.memory_bytes = 64 << 20;
  s.replicas = replicas;
  s.update = UpdatePolicy{2, 1000, "rollback", 3000, "start-first"};
  s.version = replicas;
  s.template_version = 1;
  s.created_ms = 1700000000000;
  s.updated_ms = 1700000005000;
  return s;
}

Service db() {
  Service s = web(1);
  s.name = "db";
  return s;
}

std::vector<Service> sorted(std::vector<Service> services) {
  std::sort(services.begin(), services.end(),
            [](const Service& a, const Service& b) { return a.name < b.name; });
  return services;
}

class StoreServicesTest : public ::testing::TestWithParam<const char*> {
 protected:
  // The store (opened again for SQLite, so a load reads what an earlier open wrote).
  Store& open() {
    if (std::string(GetParam()) == "memory") {
      if (!memory_)
        memory_ = std::make_unique<MemoryStore>();
      return *memory_;
    }
    sqlite_.reset();  // close before reopening: one broker per file
    auto store = SqliteStore::open(SqliteStoreOptions{(dir_ / "cube.db").string()});
    EXPECT_TRUE(store.is_ok()) << store.status().to_string();
    sqlite_ = std::move(*store);
    return *sqlite_;
  }

  test::TempDir dir_{"cube-store-services"};
  std::unique_ptr<MemoryStore> memory_;
  std::unique_ptr<SqliteStore> sqlite_;
};

TEST_P(StoreServicesTest, ServicesComeBackAsWrittenAndReplacedByName) {
  Store& store = open();
  ASSERT_TRUE(store.commit_services(std::vector<Service>{web(3), db()}, {}).is_ok());
  ASSERT_TRUE(store.commit_services(std::vector<Service>{web(5)}, {}).is_ok());
  auto loaded = open().load_services();
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(sorted(*loaded), (std::vector<Service>{db(), web(5)}));
}

TEST_P(StoreServicesTest, ARemovedServiceIsGoneAndRemovingAnUnknownOneIsNoError) {
  Store& store = open();
  ASSERT_TRUE(store.commit_services(std::vector<Service>{web(3), db()}, {}).is_ok());
  ASSERT_TRUE(store.commit_services({}, std::vector<std::string>{"web", "never-was"}).is_ok());
  auto loaded = open().load_services();
  ASSERT_TRUE(loaded.is_ok());
  EXPECT_EQ(*loaded, (std::vector<Service>{db()}));
}

TEST_P(StoreServicesTest, ServicesAndTasksLiveSideBySide) {
  Store& store = open();
  Task replica;
  replica.id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";
  replica.name = "web.1";
  replica.service = "web";
  replica.slot = 1;
  replica.service_version = 1;
  ASSERT_TRUE(store.commit_services(std::vector<Service>{web(1)}, {}).is_ok());
  ASSERT_TRUE(store.commit(std::vector<Task>{replica}, {}).is_ok());
  Store& again = open();
  auto tasks = again.load_all();
  ASSERT_TRUE(tasks.is_ok());
  EXPECT_EQ(*tasks, std::vector<Task>{replica});
  auto services = again.load_services();
  ASSERT_TRUE(services.is_ok());
  EXPECT_EQ(services->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreServicesTest, ::testing::Values("memory", "sqlite"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace cube::broker
