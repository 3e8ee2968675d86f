#include "broker/task_table.h"

#include <gtest/gtest.h>

#include <set>
#include <utility>

namespace cube::broker {
namespace {

using S = TaskState;

const SystemTime kT0 = from_unix_ms(1'700'000'000'000);

Task make_task(std::string id, S state = S::Pending, std::string node_id = "") {
  Task t;
  t.id = std::move(id);
  t.image = "busybox";
  t.state = state;
  t.node_id = node_id;
  t.node = node_id.empty() ? "" : "name-" + node_id;
  return t;
}

// The architecture's table, written out independently of is_valid_transition so that a change
// to either shows up here.
const std::set<std::pair<S, S>> kAllowed = {
    {S::Pending, S::Scheduled}, {S::Pending, S::Completed}, {S::Scheduled, S::Scheduled},
    {S::Scheduled, S::Running}, {S::Scheduled, S::Failed},  {S::Scheduled, S::Completed},
    {S::Running, S::Running},   {S::Running, S::Completed}, {S::Running, S::Failed},
    {S::Running, S::Scheduled}, {S::Failed, S::Scheduled},
};

TEST(TaskTable, EveryPairOfTheTransitionTable) {
  for (int from = 0; from < kTaskStateCount; ++from) {
    for (int to = 0; to < kTaskStateCount; ++to) {
      auto f = static_cast<S>(from);
      auto t = static_cast<S>(to);
      SCOPED_TRACE(std::string(task_state_name(f)) + " -> " + std::string(task_state_name(t)));
      TaskTable table;
      bool on_node = f == S::Scheduled || f == S::Running;
      ASSERT_TRUE(table.restore(make_task("t", f, on_node ? "a1" : ""), {}).is_ok());
      Task before = table.find("t")->task;
      Status s = table.transition("t", t, "why", std::nullopt, kT0);
      bool allowed = kAllowed.contains({f, t});
      EXPECT_EQ(s.is_ok(), allowed);
      const TaskRecord* r = table.find("t");
      if (allowed) {
        EXPECT_EQ(r->task.state, t);
        EXPECT_EQ(r->task.reason, "why");
        ASSERT_EQ(r->history.size(), 1u);
        EXPECT_EQ(r->history[0].state, t);
        EXPECT_EQ(r->history[0].timestamp_ms, to_unix_ms(kT0));
        EXPECT_TRUE(table.has_uncommitted());
        EXPECT_EQ(table.counts()[to], 1u);
      } else {
        EXPECT_TRUE(s.is_invalid());
        EXPECT_EQ(r->task, before);  // nothing changed
        EXPECT_TRUE(r->history.empty());
        EXPECT_FALSE(table.has_uncommitted());
        EXPECT_EQ(table.counts()[from], 1u);
      }
    }
  }
}

TEST(TaskTable, AddRecordsHistoryAndRefusesDuplicates) {
  TaskTable table;
  const TaskRecord* added = table.add(make_task("a"), kT0).value();
  EXPECT_EQ(added, table.find("a"));
  const TaskRecord* r = table.find("a");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->history.size(), 1u);
  EXPECT_EQ(r->history[0].state, S::Pending);
  EXPECT_EQ(r->task.updated_ms, to_unix_ms(kT0));
  EXPECT_EQ(table.add(make_task("a"), kT0).status().code(), ErrorCode::Conflict);
  EXPECT_TRUE(table.add(make_task(""), kT0).status().is_invalid());
  EXPECT_TRUE(table.add(make_task("b", S::Running), kT0).status().is_invalid());
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.counts()[0], 1u);
  EXPECT_TRUE(table.transition("nope", S::Scheduled, "", std::nullopt, kT0).is_not_found());
}

TEST(TaskTable, WithoutCollectingEventsChangesAreStillTrackedForTheNextCommit) {
  TaskTable table;
  table.stop_collecting_events();
  ASSERT_TRUE(table.add(make_task("a"), kT0).is_ok());
  EXPECT_TRUE(table.has_uncommitted());
  EXPECT_TRUE(table.uncommitted_events().empty());
  EXPECT_EQ(table.find("a")->history.size(), 1u);  // the task's own history is kept
  table.mark_committed();
  EXPECT_FALSE(table.has_uncommitted());
  ASSERT_TRUE(table.transition("a", S::Scheduled, "", NodeRef{"n1", "one"}, kT0).is_ok());
  EXPECT_TRUE(table.has_uncommitted());
  EXPECT_EQ(table.find("a")->history.size(), 2u);
}

TEST(TaskTable, PlacementQueueIsFifoWithTakenBackTasksFirst) {
  TaskTable table;
  for (auto id : {"p1", "p2", "p3"})
    ASSERT_TRUE(table.add(make_task(id), kT0).is_ok());
  EXPECT_EQ(table.placement_queue(10), (std::vector<std::string_view>{"p1", "p2", "p3"}));
  EXPECT_EQ(table.placement_queue(2), (std::vector<std::string_view>{"p1", "p2"}));

  // p2 is placed, then taken back: it waits ahead of the Pending tasks.
  ASSERT_TRUE(table.transition("p2", S::Scheduled, "", NodeRef{"a1", "n1"}, kT0).is_ok());
  EXPECT_EQ(table.placement_queue(10), (std::vector<std::string_view>{"p1", "p3"}));
  EXPECT_EQ(table.tasks_on_node("a1"), (std::vector<std::string_view>{"p2"}));
  ASSERT_TRUE(table.transition("p2", S::Scheduled, "taken back", NodeRef{}, kT0).is_ok());
  EXPECT_EQ(table.placement_queue(10), (std::vector<std::string_view>{"p2", "p1", "p3"}));
  EXPECT_TRUE(table.tasks_on_node("a1").empty());
  EXPECT_EQ(table.placement_queue_size(), 3u);
}

TEST(TaskTable, NodeIndexFollowsScheduledAndRunningOnly) {
  TaskTable table;
  ASSERT_TRUE(table.add(make_task("t"), kT0).is_ok());
  ASSERT_TRUE(table.transition("t", S::Scheduled, "", NodeRef{"a1", "n1"}, kT0).is_ok());
  EXPECT_EQ(table.find("t")->task.node_id, "a1");
  EXPECT_EQ(table.find("t")->task.node, "n1");
  ASSERT_TRUE(table.transition("t", S::Running, "", std::nullopt, kT0).is_ok());
  EXPECT_EQ(table.tasks_on_node("a1").size(), 1u);
  EXPECT_EQ(table.nodes_with_tasks(), (std::vector<std::string>{"a1"}));
  ASSERT_TRUE(table.transition("t", S::Failed, "node lost", std::nullopt, kT0).is_ok());
  EXPECT_TRUE(table.tasks_on_node("a1").empty());
  EXPECT_TRUE(table.nodes_with_tasks().empty());
  EXPECT_EQ(table.find("t")->task.node_id, "a1");  // kept for history and reconciliation
  EXPECT_EQ(table.find("t")->history.back().node, "n1");
  // Failed -> Scheduled on another node.
  ASSERT_TRUE(table.transition("t", S::Scheduled, "", NodeRef{"a2", "n2"}, kT0).is_ok());
  EXPECT_EQ(table.tasks_on_node("a2").size(), 1u);
  EXPECT_EQ(table.counts()[static_cast<int>(S::Scheduled)], 1u);
  EXPECT_EQ(table.counts()[static_cast<int>(S::Failed)], 0u);
}

TEST(TaskTable, TasksOnANodeComeInIdOrderWithTheirLoadAsTheyComeAndGo) {
  TaskTable table;
  for (auto id : {"t5", "t1", "t4", "t2", "t3"}) {
    Task task = make_task(id);
    task.cpu = 0.5;
    task.memory_bytes = 100;
    ASSERT_TRUE(table.add(task, kT0).is_ok());
    ASSERT_TRUE(table.transition(id, S::Scheduled, "", NodeRef{"a1", "n1"}, kT0).is_ok());
  }
  ASSERT_TRUE(table.transition("t4", S::Running, "", std::nullopt, kT0).is_ok());
  ASSERT_TRUE(table.transition("t5", S::Running, "", NodeRef{"a1", "n1"}, kT0).is_ok());
  EXPECT_EQ(table.tasks_on_node("a1"),
            (std::vector<std::string_view>{"t1", "t2", "t3", "t4", "t5"}));
  // Leaving from the middle, the front and the back of the node's list.
  for (auto id : {"t4", "t5", "t1"})
    ASSERT_TRUE(table.transition(id, S::Completed, "", std::nullopt, kT0).is_ok());
  EXPECT_EQ(table.tasks_on_node("a1"), (std::vector<std::string_view>{"t2", "t3"}));
  EXPECT_EQ(table.count_on_node("a1"), 2u);
  EXPECT_EQ(table.node_load("a1").tasks, 2u);
  EXPECT_DOUBLE_EQ(table.node_load("a1").cpu, 1.0);
  EXPECT_EQ(table.node_load("a1").memory_bytes, 200);
  // Moved to another node: out of a1's list and load, into a2's.
  ASSERT_TRUE(table.transition("t2", S::Running, "", std::nullopt, kT0).is_ok());
  ASSERT_TRUE(table.transition("t2", S::Scheduled, "", NodeRef{"a2", "n2"}, kT0).is_ok());
  EXPECT_EQ(table.tasks_on_node("a1"), (std::vector<std::string_view>{"t3"}));
  EXPECT_EQ(table.tasks_on_node("a2"), (std::vector<std::string_view>{"t2"}));
  EXPECT_EQ(table.load_on_node("a1").memory_bytes, 100);
  EXPECT_EQ(table.load_on_node("a2").memory_bytes, 100);
  EXPECT_EQ(table.nodes_with_tasks(), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(table.count_on_node("a3"), 0u);
}

TEST(TaskTable, UpdateAndSetReasonAreIdempotentAndAddNoHistory) {
  TaskTable table;
  ASSERT_TRUE(table.add(make_task("t"), kT0).is_ok());
  table.mark_committed();
  EXPECT_FALSE(table.has_uncommitted());

  ASSERT_TRUE(table
                  .update(
                      "t", [](TaskStatus& t) { t.attempt = 3; }, kT0 + Millis(5))
                  .is_ok());
  EXPECT_TRUE(table.has_uncommitted());
  EXPECT_EQ(table.find("t")->task.updated_ms, to_unix_ms(kT0) + 5);
  table.mark_committed();
  // Same value again: nothing to write.
  ASSERT_TRUE(table
                  .update(
                      "t", [](TaskStatus& t) { t.attempt = 3; }, kT0 + Millis(9))
                  .is_ok());
  EXPECT_FALSE(table.has_uncommitted());
  EXPECT_EQ(table.find("t")->task.updated_ms, to_unix_ms(kT0) + 5);

  ASSERT_TRUE(table.set_reason("t", "no node has a free slot", kT0).is_ok());
  EXPECT_TRUE(table.has_uncommitted());
  EXPECT_TRUE(table.uncommitted_events().empty());
  table.mark_committed();
  ASSERT_TRUE(table.set_reason("t", "no node has a free slot", kT0).is_ok());
  EXPECT_FALSE(table.has_uncommitted());
  EXPECT_EQ(table.find("t")->history.size(), 1u);
  EXPECT_EQ(table.find("t")->task.state, S::Pending);
  EXPECT_TRUE(table
                  .update(
                      "x", [](TaskStatus&) {}, kT0)
                  .is_not_found());
}

TEST(TaskTable, UncommittedBatchHoldsChangedTasksAndNewEvents) {
  TaskTable table;
  ASSERT_TRUE(table.add(make_task("a"), kT0).is_ok());
  ASSERT_TRUE(table.add(make_task("b"), kT0).is_ok());
  ASSERT_TRUE(table.transition("a", S::Scheduled, "", NodeRef{"n", "n"}, kT0).is_ok());
  auto tasks = table.uncommitted_tasks();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].id, "a");
  EXPECT_EQ(tasks[0].state, S::Scheduled);  // current value, once
  ASSERT_EQ(table.uncommitted_events().size(), 3u);
  EXPECT_EQ(table.uncommitted_events()[2].first, "a");
  EXPECT_EQ(table.uncommitted_events()[2].second.state, S::Scheduled);
  table.mark_committed();
  EXPECT_TRUE(table.uncommitted_tasks().empty());
  EXPECT_TRUE(table.uncommitted_events().empty());
}

TEST(TaskTable, RestoreIsNotDirtyAndRebuildsIndexes) {
  TaskTable table;
  std::vector<TaskEvent> history = {{S::Pending, 1, "", ""}, {S::Scheduled, 2, "", "n1"}};
  ASSERT_TRUE(table.restore(make_task("r", S::Running, "a1"), history).is_ok());
  ASSERT_TRUE(table.restore(make_task("p"), {}).is_ok());
  EXPECT_FALSE(table.has_uncommitted());
  EXPECT_EQ(table.find("r")->history.to_vector(), history);
  EXPECT_EQ(table.tasks_on_node("a1").size(), 1u);
  EXPECT_EQ(table.placement_queue(5), (std::vector<std::string_view>{"p"}));
  EXPECT_EQ(table.restore(make_task("p"), {}).code(), ErrorCode::Conflict);
}

}  // namespace
}  // namespace cube::broker
