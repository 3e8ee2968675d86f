#include "broker/node_stats_table.h"

#include <gtest/gtest.h>

#include "broker/allocation.h"
#include "broker/task_table.h"
#include "common/clock.h"

namespace cube::broker {
namespace {

protocol::TaskStats task_stats(const std::string& id, uint32_t attempt, double cpu) {
  protocol::TaskStats t;
  t.task_id = id;
  t.attempt = attempt;
  t.cpu_used = cpu;
  t.memory_bytes = 1000;
  return t;
}

protocol::NodeStats report(double cpu_used, std::vector<protocol::TaskStats> tasks) {
  protocol::NodeStats s;
  s.usage.cpu_used = cpu_used;
  s.usage.cpu_total = 4;
  s.usage.memory_total_bytes = 8000;
  s.tasks = std::move(tasks);
  return s;
}

TEST(NodeStatsTableTest, KeepsTheLatestReportPerNode) {
  NodeStatsTable table;
  EXPECT_EQ(table.node("a1"), nullptr);
  table.on_stats("a1", report(1.5, {}));
  table.on_stats("a2", report(0.5, {}));
  table.on_stats("a1", report(2.5, {}));
  ASSERT_NE(table.node("a1"), nullptr);
  EXPECT_DOUBLE_EQ(table.node("a1")->cpu_used, 2.5);
  EXPECT_DOUBLE_EQ(table.node("a2")->cpu_used, 0.5);
  EXPECT_EQ(table.node_count(), 2u);
}

TEST(NodeStatsTableTest, TaskUsageIsShownOnlyForTheReportingNodeAndAttempt) {
  NodeStatsTable table;
  table.on_stats("a1", report(1, {task_stats("t1", 2, 0.25)}));
  ASSERT_NE(table.task("t1", "a1", 2), nullptr);
  EXPECT_DOUBLE_EQ(table.task("t1", "a1", 2)->cpu_used, 0.25);
  EXPECT_EQ(table.task("t1", "a1", 3), nullptr) << "another attempt";
  EXPECT_EQ(table.task("t1", "a2", 2), nullptr) << "another node";
  EXPECT_EQ(table.task("t9", "a1", 2), nullptr);
}

TEST(NodeStatsTableTest, ANewReportReplacesTheNodesTaskList) {
  NodeStatsTable table;
  table.on_stats("a1", report(1, {task_stats("t1", 1, 0.25), task_stats("t2", 1, 0.5)}));
  table.on_stats("a1", report(1, {task_stats("t2", 1, 0.75)}));
  EXPECT_EQ(table.task("t1", "a1", 1), nullptr) << "t1 ended: no longer reported";
  ASSERT_NE(table.task("t2", "a1", 1), nullptr);
  EXPECT_DOUBLE_EQ(table.task("t2", "a1", 1)->cpu_used, 0.75);
  EXPECT_EQ(table.task_count(), 1u);
}

TEST(NodeStatsTableTest, AMovedTaskKeepsItsNewNodesUsage) {
  NodeStatsTable table;
  table.on_stats("a1", report(1, {task_stats("t1", 1, 0.25)}));
  table.on_stats("a2", report(1, {task_stats("t1", 2, 0.5)}));  // rescheduled on a2
  table.on_stats("a1", report(1, {}));                          // a1 no longer has it
  ASSERT_NE(table.task("t1", "a2", 2), nullptr);
  EXPECT_DOUBLE_EQ(table.task("t1", "a2", 2)->cpu_used, 0.5);
}

TEST(NodeStatsTableTest, ForgettingANodeDropsItsUsageAndItsTasks) {
  NodeStatsTable table;
  table.on_stats("a1", report(1, {task_stats("t1", 1, 0.25)}));
  table.on_stats("a2", report(1, {task_stats("t2", 1, 0.25)}));
  table.forget_node("a1");
  table.forget_node("unknown");
  EXPECT_EQ(table.node("a1"), nullptr);
  EXPECT_EQ(table.task("t1", "a1", 1), nullptr);
  EXPECT_NE(table.node("a2"), nullptr);
  EXPECT_NE(table.task("t2", "a2", 1), nullptr);
  EXPECT_EQ(table.task_count(), 1u);
}

TEST(AllocationTest, SumsTheTasksScheduledOrRunningOnTheNode) {
  ManualClock clock;
  TaskTable tasks;
  auto add = [&](const std::string& id, double cpu, int64_t memory, int64_t disk) {
    Task t;
    t.id = id;
    t.image = "busybox";
    t.cpu = cpu;
    t.memory_bytes = memory;
    t.disk_bytes = disk;
    ASSERT_TRUE(tasks.add(t, clock.wall()).is_ok());
  };
  add("t1", 0.5, 100, 10);
  add("t2", 1.0, 200, 0);
  add("t3", 2.0, 400, 0);
  add("t4", 4.0, 800, 0);
  NodeRef a1{"a1", "node-1"};
  ASSERT_TRUE(tasks.transition("t1", TaskState::Scheduled, "", a1, clock.wall()).is_ok());
  ASSERT_TRUE(tasks.transition("t2", TaskState::Scheduled, "", a1, clock.wall()).is_ok());
  ASSERT_TRUE(tasks.transition("t2", TaskState::Running, "", a1, clock.wall()).is_ok());
  ASSERT_TRUE(tasks.transition("t3", TaskState::Scheduled, "", a1, clock.wall()).is_ok());
  ASSERT_TRUE(tasks.transition("t3", TaskState::Running, "", a1, clock.wall()).is_ok());
  ASSERT_TRUE(tasks.transition("t3", TaskState::Completed, "", a1, clock.wall()).is_ok());
  // t4 stays Pending: not on any node.

  auto allocated = allocated_on_node(tasks, "a1");
  EXPECT_DOUBLE_EQ(allocated.cpu, 1.5);  // t1 Scheduled + t2 Running; t3 ended
  EXPECT_EQ(allocated.memory_bytes, 300);
  EXPECT_EQ(allocated.disk_bytes, 10);
  EXPECT_EQ(allocated.slots, 2u);
  EXPECT_EQ(allocated_on_node(tasks, "a2"), protocol::Capacity{});
}

}  // namespace
}  // namespace cube::broker
