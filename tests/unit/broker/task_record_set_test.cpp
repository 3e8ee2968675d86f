// broker/task_record_set.h: records found by ID through growth, never moving, duplicates refused.
#include "broker/task_record_set.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "broker/task_table.h"

namespace cube::broker {
namespace {

Task task_with_id(std::string id) {
  Task task;
  task.id = std::move(id);
  task.name = "name of " + task.id;
  return task;
}

TEST(TaskRecordSet, FindsEveryRecordThroughGrowthAndRecordsNeverMove) {
  TaskRecordSet set;
  std::vector<const TaskRecord*> added;
  // Past several doublings of the slots and several chunks of records.
  const int n = 5000;
  for (int i = 0; i < n; ++i) {
    auto [record, was_added] = set.insert(task_with_id("task-" + std::to_string(i)));
    ASSERT_TRUE(was_added) << i;
    added.push_back(record);
  }
  ASSERT_EQ(set.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const std::string id = "task-" + std::to_string(i);
    EXPECT_EQ(set.find(id), added[i]) << id;
    EXPECT_EQ(&set.at(i), added[i]) << "in the order added";
    EXPECT_EQ(added[i]->task.name, "name of " + id);
  }
  EXPECT_EQ(set.find("task-5000"), nullptr);
  EXPECT_EQ(set.find(""), nullptr);
}

TEST(TaskRecordSet, ASecondTaskWithAnIdReturnsTheFirstAndIsNotMovedFrom) {
  TaskRecordSet set;
  auto [first, added] = set.insert(task_with_id("a"));
  ASSERT_TRUE(added);
  Task again = task_with_id("a");
  again.name = "the second";
  auto [found, added_again] = set.insert(std::move(again));
  EXPECT_FALSE(added_again);
  EXPECT_EQ(found, first);
  EXPECT_EQ(found->task.name, "name of a");
  EXPECT_EQ(again.name, "the second") << "a refused task is left as it was";  // NOLINT
  EXPECT_EQ(set.size(), 1u);
}

TEST(TaskRecordSet, IdsThatShareLongPrefixesAreTold) {
  // UUIDv7 IDs made in the same millisecond share their first 13 characters.
  TaskRecordSet set;
  const std::string prefix = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f";
  for (int i = 0; i < 4096; ++i) {
    char tail[8];
    std::snprintf(tail, sizeof tail, "%04x", i);
    ASSERT_TRUE(set.insert(task_with_id(prefix + tail)).second);
  }
  for (int i = 0; i < 4096; ++i) {
    char tail[8];
    std::snprintf(tail, sizeof tail, "%04x", i);
    const TaskRecord* record = set.find(prefix + tail);
    ASSERT_NE(record, nullptr) << i;
    EXPECT_EQ(record->task.id, prefix + tail);
  }
}

}  // namespace
}  // namespace cube::broker
