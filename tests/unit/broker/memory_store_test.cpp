#include "broker/memory_store.h"

#include <gtest/gtest.h>

namespace cube::broker {
namespace {

TEST(MemoryStore, CommitUpsertsAndAppendsAllOrNothing) {
  MemoryStore store;
  Task a;
  a.id = "a";
  a.name = "first";
  std::vector<TaskEventRecord> events = {{"a", TaskEvent{TaskState::Pending, 1, "", ""}}};
  ASSERT_TRUE(store.commit(std::vector<Task>{a}, events).is_ok());
  a.name = "second";
  store.fail_next_commit_for_test(Status::unavailable("disk full"));
  EXPECT_TRUE(store.commit(std::vector<Task>{a}, events).is_unavailable());
  EXPECT_EQ(store.load_all()->at(0).name, "first");  // the failed commit changed nothing
  EXPECT_EQ(store.load_events()->size(), 1u);
  ASSERT_TRUE(store.commit(std::vector<Task>{a}, events).is_ok());
  auto tasks = store.load_all();
  ASSERT_TRUE(tasks.is_ok());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ(tasks->at(0).name, "second");
  EXPECT_EQ(store.load_events()->size(), 2u);
  EXPECT_EQ(store.commit_count(), 2);
}

}  // namespace
}  // namespace cube::broker
