#include "broker/store_spec.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace cube::broker {
namespace {

TEST(StoreSpec, ParsesEveryForm) {
  struct Case {
    std::string text;
    StoreSpec::Kind kind;
    std::string path;
    bool sync_full;
  };
  const std::vector<Case> cases = {
      {"memory", StoreSpec::Kind::Memory, "", false},
      {"sqlite", StoreSpec::Kind::Sqlite, "/data/cube.db", false},
      {"sqlite?sync=full", StoreSpec::Kind::Sqlite, "/data/cube.db", true},
      {"sqlite:/x/y.db", StoreSpec::Kind::Sqlite, "/x/y.db", false},
      {"sqlite:rel/y.db?sync=full", StoreSpec::Kind::Sqlite, "rel/y.db", true},
      {"sqlite:/x/y.db?sync=normal", StoreSpec::Kind::Sqlite, "/x/y.db", false},
  };
  for (const auto& c : cases) {
    auto spec = parse_store_spec(c.text, "/data");
    ASSERT_TRUE(spec.is_ok()) << c.text << ": " << spec.status().to_string();
    EXPECT_EQ(spec->kind, c.kind) << c.text;
    EXPECT_EQ(spec->path.string(), c.path) << c.text;
    EXPECT_EQ(spec->sync_full, c.sync_full) << c.text;
  }
}

TEST(StoreSpec, ParsesEtcdEndpointsAndPrefix) {
  struct Case {
    std::string text;
    std::vector<std::string> endpoints;
    std::string prefix;
  };
  const std::vector<Case> cases = {
      {"etcd://127.0.0.1:2379", {"127.0.0.1:2379"}, "/cube"},
      {"etcd://a:1,b:2,c:65535", {"a:1", "b:2", "c:65535"}, "/cube"},
      {"etcd://etcd.local:2379/prod/cube", {"etcd.local:2379"}, "/prod/cube"},
      {"etcd://h:2379/x/", {"h:2379"}, "/x"},
      {"etcd://[::1]:2379,10.0.0.2:2379/c", {"[::1]:2379", "10.0.0.2:2379"}, "/c"},
  };
  for (const auto& c : cases) {
    auto spec = parse_store_spec(c.text, "/data");
    ASSERT_TRUE(spec.is_ok()) << c.text << ": " << spec.status().to_string();
    EXPECT_EQ(spec->kind, StoreSpec::Kind::Etcd) << c.text;
    EXPECT_EQ(spec->endpoints, c.endpoints) << c.text;
    EXPECT_EQ(spec->prefix, c.prefix) << c.text;
  }
}

TEST(StoreSpec, RejectsBadEtcdSpecsSayingWhyAndTheForm) {
  struct Case {
    const char* text;
    const char* why;
  };
  constexpr Case kCases[] = {
      {"etcd://", "no etcd endpoint"},
      {"etcd:///cube", "no etcd endpoint"},
      {"etcd://h", "\"h\" is not HOST:PORT"},
      {"etcd://h:", "needs a port from 1 to 65535"},
      {"etcd://h:0", "needs a port from 1 to 65535"},
      {"etcd://h:65536", "needs a port from 1 to 65535"},
      {"etcd://h:12ab", "needs a port from 1 to 65535"},
      {"etcd://:2379", "has no host"},
      {"etcd://a:1,,b:2", "an empty endpoint"},
      {"etcd://a:1,", "an empty endpoint"},
      {"etcd://::1:2379", "is not HOST:PORT"},
      {"etcd://user@h:1", "is not HOST:PORT"},
      {"etcd://h:1/", "an empty key prefix"},
      {"etcd://h:1//", "an empty key prefix"},
      {"etcd://h:1/a b", "space or a control character"},
      {"etcd://h:1?sync=full", "takes no options"},
  };
  for (const auto& c : kCases) {
    auto spec = parse_store_spec(c.text, "/data");
    ASSERT_FALSE(spec.is_ok()) << c.text;
    EXPECT_TRUE(spec.status().is_invalid()) << c.text;
    const std::string message = spec.status().message();
    EXPECT_NE(message.find("--store " + std::string(c.text) + ": "), std::string::npos) << message;
    EXPECT_NE(message.find(c.why), std::string::npos) << message;
    EXPECT_NE(message.find("etcd://HOST:PORT[,HOST:PORT...][/PREFIX]"), std::string::npos)
        << message;
  }
}

TEST(StoreSpec, DescribesAnEtcdStoreAsItsUrl) {
  EXPECT_EQ(parse_store_spec("etcd://a:1,b:2", "/d")->describe(), "etcd://a:1,b:2/cube");
  EXPECT_EQ(parse_store_spec("etcd://a:1/p/", "/d")->describe(), "etcd://a:1/p");
}

TEST(StoreSpec, RejectsWhatItDoesNotKnowNamingTheValue) {
  for (const char* text : {"etcd", "etcd:h:1", "sqlite:", "sqlite?sync=sometimes",
                           "memory?sync=full", "sqlite:/x.db?fast=1", ""}) {
    auto spec = parse_store_spec(text, "/data");
    ASSERT_FALSE(spec.is_ok()) << text;
    EXPECT_TRUE(spec.status().is_invalid()) << text;
    EXPECT_NE(spec.status().message().find("--store " + std::string(text)), std::string::npos)
        << spec.status().message();
  }
}

TEST(StoreSpec, DescribeSaysWhereAndHowDurable) {
  EXPECT_EQ(parse_store_spec("memory", "/d")->describe(), "memory");
  EXPECT_EQ(parse_store_spec("sqlite", "/d")->describe(), "sqlite:/d/cube.db (sync=normal)");
  EXPECT_EQ(parse_store_spec("sqlite:/e.db?sync=full", "/d")->describe(),
            "sqlite:/e.db (sync=full)");
}

TEST(StoreSpec, OpenStoreCreatesTheDataDirAndTheDatabase) {
  test::TempDir dir("cube-spec");
  auto spec = parse_store_spec("sqlite", dir / "nested" / "broker");
  ASSERT_TRUE(spec.is_ok());
  auto store = open_store(*spec);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_TRUE(std::filesystem::exists(dir / "nested" / "broker" / "cube.db"));
  auto perms = std::filesystem::status(dir / "nested" / "broker").permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all, std::filesystem::perms::owner_all);
  Task t;
  t.id = "x";
  ASSERT_TRUE((*store)->commit(std::vector<Task>{t}, {}).is_ok());
  EXPECT_EQ((*store)->load_all()->size(), 1u);

  auto memory = open_store(*parse_store_spec("memory", dir.path()));
  ASSERT_TRUE(memory.is_ok());
  EXPECT_TRUE((*memory)->load_all()->empty());
}

// `--store memory` keeps no copy: nothing could read it back (a broker process that has it
// starts empty). It asks for no batch contents, and commits cheaply on the loop's thread.
TEST(StoreSpec, TheMemoryStoreOfABrokerProcessKeepsNothing) {
  auto memory = open_store(*parse_store_spec("memory", "/nonexistent"));
  ASSERT_TRUE(memory.is_ok());
  Store& store = **memory;
  EXPECT_FALSE(store.reads_batches());
  EXPECT_TRUE(store.commits_are_cheap());
  Task t;
  t.id = "x";
  std::vector<TaskEventRecord> events = {{"x", TaskEvent{}}};
  ASSERT_TRUE(store.commit(std::vector<Task>{t}, events).is_ok());
  EXPECT_TRUE(store.load_all()->empty());
  EXPECT_TRUE(store.load_events()->empty());
  Service web;
  web.name = "web";
  std::vector<std::string> removed = {"old"};
  ASSERT_TRUE(store.commit_services(std::vector<Service>{web}, removed).is_ok());
  EXPECT_TRUE(store.load_services()->empty());
}

}  // namespace
}  // namespace cube::broker
