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

TEST(StoreSpec, RejectsWhatItDoesNotKnowNamingTheValue) {
  for (const char* text : {"etcd", "sqlite:", "sqlite?sync=sometimes", "memory?sync=full",
                           "sqlite:/x.db?fast=1", ""}) {
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

}  // namespace
}  // namespace cube::broker
