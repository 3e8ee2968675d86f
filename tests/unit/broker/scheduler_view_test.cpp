// SchedulerView: a view kept between passes must always equal one built afresh, and
// TaskTable::node_load / Liveness::ready_until, which it relies on, must be exact.
#include "broker/scheduler_view.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "broker_fixture.h"

namespace cube::broker {
namespace {

using SchedulerViewTest = testing::BrokerFixture;

// What the view should hold, built the slow way: every Welcomed, Ready agent in id order with
// its credit and the sum of the tasks placed there.
std::vector<NodeSnapshot> expected_nodes(const AgentRegistry& agents, const Liveness& liveness,
                                         const TaskTable& tasks, SteadyTime now) {
  std::vector<NodeSnapshot> out;
  for (const auto& [id, record] : agents.agents()) {
    if (record.state != AgentState::Welcomed || liveness.state(id, now) != NodeState::Ready)
      continue;
    NodeSnapshot n{record.id, record.name,     record.drivers, record.capacity,
                   {},        record.credit(), record.labels};
    for (const auto& task_id : tasks.tasks_on_node(id)) {
      const Task& t = tasks.find(task_id)->task;
      n.allocated.cpu += t.cpu;
      n.allocated.memory_bytes += t.memory_bytes;
      n.allocated.disk_bytes += t.disk_bytes;
    }
    out.push_back(std::move(n));
  }
  return out;
}

void expect_same(std::span<const NodeSnapshot> got, const std::vector<NodeSnapshot>& want,
                 const SchedulerView& view) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].id, want[i].id);
    EXPECT_EQ(view.agent_id(i), want[i].id);
    EXPECT_EQ(got[i].name, want[i].name);
    EXPECT_EQ(got[i].drivers, want[i].drivers);
    EXPECT_EQ(got[i].capacity, want[i].capacity);
    EXPECT_EQ(got[i].labels, want[i].labels);
    EXPECT_EQ(got[i].credit, want[i].credit) << want[i].id;
    EXPECT_NEAR(got[i].allocated.cpu, want[i].allocated.cpu, 1e-9) << want[i].id;
    EXPECT_EQ(got[i].allocated.memory_bytes, want[i].allocated.memory_bytes) << want[i].id;
    EXPECT_EQ(got[i].allocated.disk_bytes, want[i].allocated.disk_bytes) << want[i].id;
  }
}

TEST_F(SchedulerViewTest, FollowsCreditAllocationSessionsAndLiveness) {
  SchedulerView view;
  auto check = [&] {
    view.refresh(agents_, liveness_, tasks_, clock_.now());
    expect_same(view.nodes(), expected_nodes(agents_, liveness_, tasks_, clock_.now()), view);
  };
  check();
  EXPECT_TRUE(view.nodes().empty());

  welcome("a2", 2);
  welcome("a1", 3);
  check();
  ASSERT_EQ(view.nodes().size(), 2u);
  EXPECT_EQ(view.nodes()[0].id, "a1") << "in agent id order";

  for (int i = 0; i < 4; ++i)
    submit("t" + std::to_string(i), 100 << 20);
  PlanApplyInput input;
  input.policy = Policy::Binpack;
  input.now = clock_.now();
  input.wall = clock_.wall();
  input.view = &view;
  auto placed = plan_and_apply(tasks_, agents_, liveness_, input, out_);
  EXPECT_EQ(placed.placed, 4u);
  check();  // credit used up, memory allocated

  // A new session may change what the node offers.
  protocol::Hello h;
  h.agent_id = "a1";
  h.name = "renamed";
  h.drivers = {"docker", "sim"};
  h.labels = {{"zone", "eu"}};
  ASSERT_TRUE(agents_.on_hello(h, "route", "session-new", 0).is_ok());
  liveness_.on_traffic("a1", clock_.now());
  agents_.on_credit(*agents_.find("a1"), 5);
  check();

  // a2 falls silent: suspect after 3 s, out of the view; back once it talks again.
  clock_.advance(Millis(2000));
  liveness_.on_traffic("a1", clock_.now());
  check();
  EXPECT_EQ(view.nodes().size(), 2u);
  clock_.advance(Millis(1000));
  check();
  ASSERT_EQ(view.nodes().size(), 1u);
  EXPECT_EQ(view.nodes()[0].id, "a1");
  liveness_.on_traffic("a2", clock_.now());
  check();
  EXPECT_EQ(view.nodes().size(), 2u);

  // Lost: out of the registry's Welcomed set.
  (void)agents_.mark_lost("a2");
  check();
  EXPECT_EQ(view.nodes().size(), 1u);
}

TEST_F(SchedulerViewTest, RandomOperationsNeverMakeTheViewDifferFromAFreshOne) {
  std::mt19937 rng(7);
  SchedulerView view;
  int next_task = 0;
  for (int step = 0; step < 400; ++step) {
    switch (rng() % 6) {
      case 0:
        welcome("a" + std::to_string(rng() % 12), rng() % 4);
        break;
      case 1:
        submit("t" + std::to_string(next_task++), static_cast<int64_t>(rng() % 4) << 20);
        break;
      case 2: {
        PlanApplyInput input;
        input.policy = rng() % 2 ? Policy::Binpack : Policy::Spread;
        input.now = clock_.now();
        input.wall = clock_.wall();
        input.view = &view;
        plan_and_apply(tasks_, agents_, liveness_, input, out_);
        break;
      }
      case 3:
        clock_.advance(Millis(rng() % 2500));
        break;
      case 4: {
        // An agent reports one of its tasks ended.
        for (const TaskRecord* r : tasks_.records_by_id()) {
          const TaskRecord& record = *r;
          if (record.task.state == TaskState::Scheduled && !record.task.node_id.empty()) {
            (void)tasks_.transition(record.task.id, TaskState::Failed, "test", std::nullopt,
                                    clock_.wall());
            break;
          }
        }
        break;
      }
      case 5: {
        std::string id = "a" + std::to_string(rng() % 12);
        if (rng() % 3 == 0)
          (void)agents_.mark_lost(id);
        else if (agents_.find(id) != nullptr)
          liveness_.on_traffic(id, clock_.now());
        break;
      }
    }
    view.refresh(agents_, liveness_, tasks_, clock_.now());
    SCOPED_TRACE("step " + std::to_string(step));
    expect_same(view.nodes(), expected_nodes(agents_, liveness_, tasks_, clock_.now()), view);
  }
}

TEST_F(SchedulerViewTest, NodeLoadIsExactAndReturnsToZero) {
  welcome("a1", 10);
  for (int i = 0; i < 3; ++i) {
    Task t;
    t.id = "c" + std::to_string(i);
    t.image = "busybox";
    t.driver = "docker";
    t.cpu = 0.1;
    t.memory_bytes = 1 << 20;
    t.disk_bytes = 7;
    ASSERT_TRUE(tasks_.add(t, clock_.wall()).is_ok());
    ASSERT_TRUE(
        tasks_.transition(t.id, TaskState::Scheduled, "", NodeRef{"a1", "n-a1"}, clock_.wall())
            .is_ok());
  }
  const NodeLoad& load = tasks_.node_load("a1");
  EXPECT_NEAR(load.cpu, 0.3, 1e-12);
  EXPECT_EQ(load.memory_bytes, 3 << 20);
  EXPECT_EQ(load.disk_bytes, 21);
  EXPECT_EQ(load.tasks, 3u);

  ASSERT_TRUE(tasks_.transition("c1", TaskState::Running, "", std::nullopt, clock_.wall()).is_ok());
  EXPECT_EQ(load.tasks, 3u) << "Running still occupies the node";
  for (const char* id : {"c0", "c1", "c2"})
    ASSERT_TRUE(tasks_.transition(id, TaskState::Failed, "x", std::nullopt, clock_.wall()).is_ok());
  EXPECT_EQ(load.tasks, 0u);
  EXPECT_EQ(load.cpu, 0.0) << "exactly zero, no rounding residue";
  EXPECT_EQ(load.memory_bytes, 0);
  EXPECT_EQ(tasks_.node_load("nobody").tasks, 0u);
}

TEST(LivenessReadyUntilTest, IsTheLastBeatPlusTheSuspectTimeAndNothingOnceLost) {
  Liveness liveness(Millis(1000), 3, Millis(5000));
  SteadyTime t0 = SteadyTime(Millis(1000));
  EXPECT_EQ(liveness.ready_until("a"), std::nullopt);
  liveness.on_traffic("a", t0);
  EXPECT_EQ(liveness.ready_until("a"), t0 + Millis(3000));
  EXPECT_EQ(liveness.state("a", t0 + Millis(2999)), NodeState::Ready);
  EXPECT_EQ(liveness.state("a", t0 + Millis(3000)), NodeState::Suspect);
  liveness.on_traffic("a", t0 + Millis(500));
  EXPECT_EQ(liveness.ready_until("a"), t0 + Millis(3500));
  (void)liveness.expired(t0 + Millis(6000));
  EXPECT_EQ(liveness.ready_until("a"), std::nullopt);

  Liveness short_grace(Millis(1000), 3, Millis(2000));  // lost before it would be suspect
  short_grace.on_traffic("b", t0);
  EXPECT_EQ(short_grace.ready_until("b"), t0 + Millis(2000));
}

}  // namespace
}  // namespace cube::broker
