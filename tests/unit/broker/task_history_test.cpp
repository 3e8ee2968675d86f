#include "broker/task_history.h"

#include <gtest/gtest.h>

#include "broker/string_pool.h"

namespace cube::broker {
namespace {

TEST(StringPool, GivesEachDistinctStringOneIndex) {
  StringPool pool;
  uint32_t placed = pool.intern("placed");
  uint32_t empty = pool.intern("");
  EXPECT_NE(placed, empty);
  EXPECT_EQ(pool.intern(std::string("plac") + "ed"), placed);
  EXPECT_EQ(pool.at(placed), "placed");
  EXPECT_EQ(pool.at(empty), "");
  EXPECT_EQ(pool.size(), 2u);
}

TEST(StringPool, ViewsStayValidAsThePoolGrows) {
  StringPool pool;
  std::string_view first = pool.at(pool.intern("a reason longer than the small-string buffer"));
  for (int i = 0; i < 10000; ++i)
    pool.intern("reason " + std::to_string(i));
  EXPECT_EQ(first, "a reason longer than the small-string buffer");
}

TEST(TaskHistory, GivesBackWhatWasAppendedInOrder) {
  StringPool pool;
  TaskHistory history;
  EXPECT_TRUE(history.empty());
  const std::vector<TaskEvent> events = {
      {TaskState::Pending, 1'700'000'000'000, "submitted", ""},
      {TaskState::Scheduled, 1'700'000'000'001, "placed", "node-1"},
      {TaskState::Running, 1'700'000'000'050, "", "node-1"},
      {TaskState::Failed, -5, "exit code 137", "node-1"},  // any int64 a test or clock gives
      {TaskState::Completed, (int64_t{1} << 54) + 3, "stopped", "a-node-name-of-some-length"},
  };
  for (const TaskEvent& event : events)
    history.append(event, pool);
  EXPECT_EQ(history.size(), events.size());
  EXPECT_EQ(history.to_vector(), events);
  EXPECT_EQ(history[1], events[1]);
  EXPECT_EQ(history.back(), events.back());
  EXPECT_EQ(pool.size(), 7u);  // 5 distinct reasons ("" included) + 2 node names
}

TEST(TaskHistory, ManyTasksShareOnePoolOfReasonsAndNodes) {
  StringPool pool;
  std::vector<TaskHistory> histories(1000);
  for (TaskHistory& history : histories) {
    history.append({TaskState::Pending, 1, "submitted", ""}, pool);
    history.append({TaskState::Scheduled, 2, "placed", "node-7"}, pool);
  }
  EXPECT_EQ(pool.size(), 4u);
  EXPECT_EQ(histories[999][1].node, "node-7");
}

}  // namespace
}  // namespace cube::broker
