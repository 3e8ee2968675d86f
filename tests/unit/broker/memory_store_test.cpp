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

TEST(MemoryStore, KeepsEveryFieldAndTheHistoryOrderAcrossTasks) {
  MemoryStore store;
  Task a;
  a.id = "0190a0b0-0000-7000-8000-00000000000a";
  a.name = "web";
  a.image = "cube/busybox:latest";
  a.cmd = {"sleep", "10"};
  a.env = {"K=V"};
  a.cpu = 0.5;
  a.memory_bytes = 64 << 20;
  a.labels = {{"team", "infra"}};
  a.state = TaskState::Running;
  a.attempt = 3;
  a.node_id = "agent-1";
  a.node = "node-one";
  a.exit_code = 7;
  a.container_id = "c0ffee";
  a.port_bindings["80/tcp"] = {PortBinding{}};
  Task b;
  b.id = "0190a0b0-0000-7000-8000-00000000000b";
  std::vector<TaskEventRecord> first = {
      {a.id, TaskEvent{TaskState::Pending, 1, "", ""}},
      {b.id, TaskEvent{TaskState::Pending, 2, "", ""}},
  };
  ASSERT_TRUE(store.commit(std::vector<Task>{a, b}, first).is_ok());
  a.state = TaskState::Completed;
  // History may name a task the batch does not upsert; it is no task of its own.
  std::vector<TaskEventRecord> second = {
      {a.id, TaskEvent{TaskState::Completed, 3, "exited", "node-one"}},
      {"only-in-history", TaskEvent{TaskState::Failed, 4, "node lost", "n"}},
      {b.id, TaskEvent{TaskState::Scheduled, 5, "", "node-two"}},
  };
  ASSERT_TRUE(store.commit(std::vector<Task>{a}, second).is_ok());

  auto tasks = store.load_all();
  ASSERT_TRUE(tasks.is_ok());
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ(tasks->at(0), a);  // ordered by id, the latest version
  EXPECT_EQ(tasks->at(1), b);

  auto events = store.load_events();
  ASSERT_TRUE(events.is_ok());
  std::vector<TaskEventRecord> expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_EQ(*events, expected);  // in append order, across tasks
}

// The store drops the keys whose value is the default (decoding leaves them at it): every mix
// of set and default fields, and every MessagePack shape a Task has, must come back equal.
TEST(MemoryStore, TasksComeBackEqualWhicheverFieldsHoldTheirDefault) {
  std::vector<Task> tasks(6);
  for (size_t i = 0; i < tasks.size(); ++i)
    tasks[i].id = "task-" + std::to_string(i);
  tasks[1].desired_state = TaskState::Completed;  // a non-zero default changed
  tasks[1].state = TaskState::Pending;
  tasks[2].id = "task-2" + std::string(300, 'd');  // the key is a str16 here (a UUID: str8)
  tasks[2].name = std::string(40, 'n');            // str8
  tasks[2].image = std::string(300, 'i');          // str16
  tasks[2].reason = std::string(70000, 'r');       // str32
  tasks[3].exit_code = -1;
  tasks[3].restart_count = -200;
  tasks[3].memory_bytes = int64_t{1} << 40;
  tasks[3].attempt = 70000;
  tasks[3].cpu = 0.25;
  tasks[3].health_retries = 3;
  tasks[3].duration_ms = -5;
  for (int i = 0; i < 20; ++i) {
    tasks[4].cmd.push_back("arg" + std::to_string(i));  // array16
    tasks[4].labels["k" + std::to_string(i)] = "v";     // map16
  }
  tasks[4].port_bindings["80/tcp"] = {PortBinding{"0.0.0.0", "8080"}, PortBinding{}};
  tasks[4].exposed_ports = {"80/tcp"};
  tasks[5].exit_code = 0;  // set to what an int defaults to, but not absent
  tasks[5].desired_state = TaskState::Running;
  tasks[5].created_ms = 1;

  MemoryStore store;
  std::vector<TaskEventRecord> events = {
      {"task-0", TaskEvent{}},
      {"task-1", TaskEvent{TaskState::Failed, -1, std::string(100, 'x'), "node"}},
  };
  ASSERT_TRUE(store.commit(tasks, events).is_ok());
  auto loaded = store.load_all();
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(*loaded, tasks);
  auto history = store.load_events();
  ASSERT_TRUE(history.is_ok());
  EXPECT_EQ(*history, events);
}

}  // namespace
}  // namespace cube::broker
