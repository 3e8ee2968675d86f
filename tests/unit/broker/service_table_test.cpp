#include "broker/service_table.h"

#include <gtest/gtest.h>

namespace cube::broker {
namespace {

Service named(std::string name, uint32_t replicas = 1) {
  Service s;
  s.name = std::move(name);
  s.replicas = replicas;
  return s;
}

TEST(ServiceTable, PutAndRemoveAreCollectedForTheNextCommitOnce) {
  ServiceTable table;
  table.put(named("web"));
  table.put(named("web", 3));  // changed again before the commit: written once, as it is now
  table.put(named("db"));
  ASSERT_TRUE(table.has_uncommitted());
  std::vector<Service> upserts;
  std::vector<std::string> removed;
  table.take_uncommitted(upserts, removed);
  ASSERT_EQ(upserts.size(), 2u);
  EXPECT_EQ(upserts[0].name, "db");
  EXPECT_EQ(upserts[1].replicas, 3u);
  EXPECT_TRUE(removed.empty());
  EXPECT_FALSE(table.has_uncommitted());

  table.remove("web");
  table.remove("nope");  // unknown: nothing to write
  upserts.clear();
  table.take_uncommitted(upserts, removed);
  EXPECT_TRUE(upserts.empty());
  EXPECT_EQ(removed, (std::vector<std::string>{"web"}));
  EXPECT_EQ(table.find("web"), nullptr);
}

TEST(ServiceTable, ARemovalThenACreateOfTheSameNameWritesOnlyTheNewService) {
  ServiceTable table;
  table.restore(named("web"));
  table.remove("web");
  table.put(named("web", 2));
  std::vector<Service> upserts;
  std::vector<std::string> removed;
  table.take_uncommitted(upserts, removed);
  ASSERT_EQ(upserts.size(), 1u);
  EXPECT_EQ(upserts[0].replicas, 2u);
  EXPECT_TRUE(removed.empty());
}

TEST(ServiceTable, TasksOfAServiceThatIsGoneAreOrphans) {
  ServiceTable table;
  table.restore(named("web"));
  EXPECT_FALSE(table.has_uncommitted());  // restored: already stored
  table.add_task("web", "t1");
  table.add_task("old", "t2");
  EXPECT_EQ(table.task_ids("web"), (std::vector<std::string>{"t1"}));
  EXPECT_EQ(table.orphans(), (std::vector<std::string>{"old"}));
  table.forget_tasks("old");
  EXPECT_TRUE(table.orphans().empty());
  EXPECT_TRUE(table.task_ids("old").empty());
}

TEST(ServiceTable, ARemovalIsFoundAgainOnlyByItsOwnRequest) {
  ServiceTable table;
  table.note_answer(7, named("web"));
  ASSERT_NE(table.answer_to(7, "web"), nullptr);
  EXPECT_EQ(table.answer_to(7, "web")->name, "web");
  EXPECT_EQ(table.answer_to(8, "web"), nullptr) << "another request: not a retry";
  EXPECT_EQ(table.answer_to(7, "db"), nullptr);
  for (uint64_t id = 100; id < 100 + ServiceTable::kAnswersKept; ++id)
    table.note_answer(id, named("s"));
  EXPECT_EQ(table.answer_to(7, "web"), nullptr) << "the oldest are forgotten";
}

}  // namespace
}  // namespace cube::broker
