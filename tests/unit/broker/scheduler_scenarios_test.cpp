// Whole-batch scenarios: how each policy lays out a batch, and the no-starvation rule (holds).
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "broker/scheduler.h"

namespace cube::broker {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;
constexpr Policy kAllPolicies[] = {Policy::RoundRobin, Policy::Greedy, Policy::Epvm,
                                   Policy::Binpack, Policy::Spread};

NodeSnapshot make_node(std::string name, double cpu, int64_t memory, uint32_t credit = 16) {
  NodeSnapshot n;
  n.id = "id-" + name;
  n.name = std::move(name);
  n.drivers = {"docker"};
  n.capacity.cpu = cpu;
  n.capacity.memory_bytes = memory;
  n.capacity.slots = credit;
  n.credit = credit;
  return n;
}

std::vector<TaskRequest> same_tasks(size_t count, Resources r) {
  return std::vector<TaskRequest>(count, TaskRequest{"t", "", r, {}});
}

std::vector<size_t> nodes_of(const Plan& plan) {
  std::vector<size_t> out;
  for (const auto& p : plan.placements)
    out.push_back(p.node);
  return out;
}

// --- Spread groups (a service's replicas) ---

std::vector<TaskRequest> group_tasks(size_t count, Resources r, uint32_t group) {
  TaskRequest t{"t", "", r, {}};
  t.spread_group = group;
  return std::vector<TaskRequest>(count, t);
}

TEST(SchedulerScenario, ASpreadGroupGoesToTheNodesWithFewestOfItsTasksUnderEveryPolicy) {
  for (Policy policy : kAllPolicies) {
    std::vector<NodeSnapshot> nodes{make_node("a1", 8, 8 * kGiB), make_node("a2", 8, 8 * kGiB),
                                    make_node("a3", 8, 8 * kGiB)};
    std::vector<SpreadGroup> groups{{{2, 0, 1}}};  // a1 holds 2 of the group, a3 one
    Plan plan = schedule(nodes, group_tasks(3, {1, kGiB, 0}, 0), policy, 0, groups);
    // a2 first (0 there), then a2 and a3 (1 each): the three even at 2.
    std::vector<size_t> placed = nodes_of(plan);
    ASSERT_EQ(placed.size(), 3u) << policy_name(policy);
    EXPECT_EQ(placed[0], 1u) << policy_name(policy);
    std::vector<int> count{2, 0, 1};
    for (size_t n : placed)
      ++count[n];
    EXPECT_EQ(count, (std::vector<int>{2, 2, 2})) << policy_name(policy);
  }
}

TEST(SchedulerScenario, ASpreadGroupUsesTheFewestAmongNodesThatFitOnly) {
  std::vector<NodeSnapshot> nodes{make_node("a1", 8, 8 * kGiB), make_node("a2", 1, kGiB)};
  nodes[1].allocated = {1, 0, 0};  // a2 has no CPU left
  std::vector<SpreadGroup> groups{{{3, 0}}};
  Plan plan = schedule(nodes, group_tasks(2, {1, kGiB, 0}, 0), Policy::Binpack, 0, groups);
  // The spread would pick a2, but nothing fits there: both go to a1.
  EXPECT_EQ(nodes_of(plan), (std::vector<size_t>{0, 0}));
  EXPECT_TRUE(plan.unplaced.empty());
}

TEST(SchedulerScenario, TwoSpreadGroupsOfOneTaskEachStartOnDifferentNodes) {
  std::vector<NodeSnapshot> nodes{make_node("a1", 8, 8 * kGiB), make_node("a2", 8, 8 * kGiB)};
  std::vector<TaskRequest> tasks = group_tasks(1, {1, kGiB, 0}, 0);
  tasks.push_back(group_tasks(1, {1, kGiB, 0}, 1).front());
  std::vector<SpreadGroup> groups(2);
  Plan plan = schedule(nodes, tasks, Policy::Binpack, 0, groups);
  EXPECT_EQ(nodes_of(plan), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(plan.next_cursor, 0u);  // moved past a2, wrapping
}

TEST(SchedulerScenario, BinpackFillsOneNodeBeforeTheNext) {
  std::vector<NodeSnapshot> nodes{make_node("a1", 4, 4 * kGiB), make_node("a2", 4, 4 * kGiB),
                                  make_node("a3", 4, 4 * kGiB)};
  Plan plan = schedule(nodes, same_tasks(6, {1, kGiB, 0}), Policy::Binpack);
  EXPECT_EQ(nodes_of(plan), (std::vector<size_t>{0, 0, 0, 0, 1, 1}));
  EXPECT_TRUE(plan.unplaced.empty());
}

TEST(SchedulerScenario, BinpackPrefersTheFullestNodeThatFits) {
  std::vector<NodeSnapshot> nodes{make_node("a1", 4, 4 * kGiB), make_node("a2", 4, 4 * kGiB),
                                  make_node("a3", 4, 4 * kGiB)};
  nodes[1].allocated = {2, 2 * kGiB, 0};
  nodes[2].allocated = {3.5, 3 * kGiB, 0};  // fullest, but a 1-CPU task no longer fits
  Plan plan = schedule(nodes, same_tasks(1, {1, kGiB, 0}), Policy::Binpack);
  EXPECT_EQ(nodes_of(plan), (std::vector<size_t>{1}));
}

TEST(SchedulerScenario, SpreadAlternates) {
  std::vector<NodeSnapshot> nodes{make_node("a1", 4, 4 * kGiB), make_node("a2", 4, 4 * kGiB)};
  Plan plan = schedule(nodes, same_tasks(4, {1, kGiB, 0}), Policy::Spread);
  EXPECT_EQ(nodes_of(plan), (std::vector<size_t>{0, 1, 0, 1}));
}

TEST(SchedulerScenario, SpreadPrefersTheEmptiestNode) {
  std::vector<NodeSnapshot> nodes{make_node("a1", 4, 4 * kGiB), make_node("a2", 4, 4 * kGiB),
                                  make_node("a3", 4, 4 * kGiB)};
  nodes[0].allocated = {2, 2 * kGiB, 0};
  nodes[2].allocated = {1, kGiB, 0};
  Plan plan = schedule(nodes, same_tasks(3, {1, kGiB, 0}), Policy::Spread);
  // a2 is empty; then a2 and a3 both have 1 CPU and 1 GiB used (the lower index wins); then a3.
  EXPECT_EQ(nodes_of(plan), (std::vector<size_t>{1, 1, 2}));
}

TEST(SchedulerScenario, TwoNodesOfOneGibAndThreeTasksOf600Mib) {
  std::vector<NodeSnapshot> nodes{make_node("a1", 4, kGiB), make_node("a2", 4, kGiB)};
  for (Policy policy : kAllPolicies) {
    Plan plan = schedule(nodes, same_tasks(3, {0.5, 600 * kMiB, 0}), policy);
    ASSERT_EQ(plan.placements.size(), 2u) << policy_name(policy);
    EXPECT_NE(plan.placements[0].node, plan.placements[1].node) << policy_name(policy);
    ASSERT_EQ(plan.unplaced.size(), 1u);
    EXPECT_EQ(plan.unplaced[0].task, 2u);
    EXPECT_EQ(plan.unplaced[0].reason, "no node has 600 MiB memory free (best: a1 with 424 MiB)")
        << policy_name(policy);
  }
}

TEST(SchedulerScenario, SameInputSamePlan) {
  std::vector<NodeSnapshot> nodes;
  for (int i = 0; i < 20; ++i)
    nodes.push_back(make_node("a" + std::to_string(i), 8, 8 * kGiB, 5));
  std::vector<TaskRequest> tasks;
  for (int i = 0; i < 150; ++i)
    tasks.push_back({"t", "", {0.25 * (i % 7 + 1), (i % 5 + 1) * 256 * kMiB, 0}, {}});
  for (Policy policy : kAllPolicies) {
    Plan a = schedule(nodes, tasks, policy, 3);
    Plan b = schedule(nodes, tasks, policy, 3);
    EXPECT_EQ(a.placements, b.placements) << policy_name(policy);
    EXPECT_EQ(a.unplaced, b.unplaced) << policy_name(policy);
    EXPECT_EQ(a.next_cursor, b.next_cursor);
  }
}

// --- No starvation ---------------------------------------------------------------------------

TEST(SchedulerStarvation, BlockedTaskHoldsTheNodeClosestToFitting) {
  std::vector<NodeSnapshot> nodes{make_node("a1", 4, kGiB), make_node("a2", 4, kGiB)};
  nodes[0].allocated.memory_bytes = 600 * kMiB;  // 424 MiB free: 376 MiB short of 800
  nodes[1].allocated.memory_bytes = 700 * kMiB;  // 324 MiB free
  std::vector<TaskRequest> tasks{{"big", "", {0, 800 * kMiB, 0}, {}}};
  for (int i = 0; i < 3; ++i)
    tasks.push_back({"small", "", {0, 100 * kMiB, 0}, {}});
  for (Policy policy : kAllPolicies) {
    Plan plan = schedule(nodes, tasks, policy);
    ASSERT_EQ(plan.unplaced.size(), 1u) << policy_name(policy);
    EXPECT_EQ(plan.unplaced[0].reason, "no node has 800 MiB memory free (best: a1 with 424 MiB)");
    // Binpack would put the small tasks on a2 anyway; the others would use a1 without the hold.
    EXPECT_EQ(nodes_of(plan), (std::vector<size_t>{1, 1, 1})) << policy_name(policy);
  }
}

TEST(SchedulerStarvation, TaskThatFitsOnlyAHeldNodeWaits) {
  std::vector<NodeSnapshot> nodes{make_node("a1", 4, kGiB), make_node("a2", 4, kGiB)};
  nodes[0].allocated.memory_bytes = 600 * kMiB;  // 424 MiB free
  nodes[1].allocated.memory_bytes = 724 * kMiB;  // 300 MiB free
  std::vector<TaskRequest> tasks{{"big", "", {0, 800 * kMiB, 0}, {}},
                                 {"mid", "", {0, 400 * kMiB, 0}, {}},
                                 {"small", "", {0, 200 * kMiB, 0}, {}}};
  Plan plan = schedule(nodes, tasks, Policy::Binpack);
  EXPECT_EQ(plan.placements, (std::vector<Placement>{{2, 1}}));
  ASSERT_EQ(plan.unplaced.size(), 2u);
  EXPECT_EQ(plan.unplaced[1].task, 1u);
  EXPECT_EQ(plan.unplaced[1].reason, "room on a1 is held for an earlier pending task");
}

TEST(SchedulerStarvation, ImpossibleTaskHoldsNothing) {
  std::vector<NodeSnapshot> nodes{make_node("a1", 4, kGiB), make_node("a2", 4, kGiB)};
  std::vector<TaskRequest> tasks{{"huge", "", {0, 2 * kGiB, 0}, {}},
                                 {"small", "", {0, 100 * kMiB, 0}, {}},
                                 {"small", "", {0, 100 * kMiB, 0}, {}}};
  Plan plan = schedule(nodes, tasks, Policy::Spread);
  EXPECT_EQ(nodes_of(plan), (std::vector<size_t>{0, 1}));
  ASSERT_EQ(plan.unplaced.size(), 1u);
  EXPECT_EQ(plan.unplaced[0].reason, "no node has 2 GiB memory free (best: a1 with 1 GiB)");
}

TEST(SchedulerStarvation, CreditBlockedTaskHoldsNothing) {
  // big fits a1 but a1 has no slot: small may still use a2, which big does not fit anyway.
  std::vector<NodeSnapshot> nodes{make_node("a1", 4, 2 * kGiB, 0), make_node("a2", 4, kGiB)};
  std::vector<TaskRequest> tasks{{"big", "", {0, 1536 * kMiB, 0}, {}},
                                 {"small", "", {0, 100 * kMiB, 0}, {}}};
  Plan plan = schedule(nodes, tasks, Policy::Binpack);
  EXPECT_EQ(plan.placements, (std::vector<Placement>{{1, 1}}));
  EXPECT_EQ(plan.unplaced, (std::vector<Unplaced>{{0, "no node has a free slot"}}));
}

TEST(SchedulerStarvation, EachBlockedTaskHoldsItsOwnNode) {
  std::vector<NodeSnapshot> nodes{make_node("a1", 4, kGiB), make_node("a2", 4, kGiB),
                                  make_node("a3", 4, kGiB)};
  for (auto& n : nodes)
    n.allocated.memory_bytes = 700 * kMiB;
  std::vector<TaskRequest> tasks{{"big", "", {0, 800 * kMiB, 0}, {}},
                                 {"big", "", {0, 800 * kMiB, 0}, {}},
                                 {"small", "", {0, 100 * kMiB, 0}, {}}};
  Plan plan = schedule(nodes, tasks, Policy::Binpack);
  EXPECT_EQ(plan.placements, (std::vector<Placement>{{2, 2}}));
  ASSERT_EQ(plan.unplaced.size(), 2u);
  EXPECT_EQ(plan.unplaced[0].reason, "no node has 800 MiB memory free (best: a1 with 324 MiB)");
  EXPECT_EQ(plan.unplaced[1].reason, "no node has 800 MiB memory free (best: a2 with 324 MiB)");
}

// The cluster as a broker would evolve it between calls: tasks finish, new ones arrive, each
// call gets the pending tasks oldest first.
struct Cluster {
  std::vector<NodeSnapshot> nodes;
  std::vector<std::deque<int64_t>> running;  // memory of each running task, oldest first

  void start(size_t node, int64_t memory) {
    running[node].push_back(memory);
    nodes[node].allocated.memory_bytes += memory;
    --nodes[node].credit;
  }
  void finish_oldest(size_t node) {
    if (running[node].empty())
      return;
    nodes[node].allocated.memory_bytes -= running[node].front();
    running[node].pop_front();
    ++nodes[node].credit;
  }
};

TEST(SchedulerStarvation, BigTaskIsNotStarvedByAStreamOfSmallOnes) {
  for (Policy policy : kAllPolicies) {
    Cluster cluster;
    for (int i = 0; i < 2; ++i) {
      cluster.nodes.push_back(make_node("a" + std::to_string(i + 1), 0, kGiB, 16));
      cluster.running.emplace_back();
      for (int k = 0; k < 8; ++k)
        cluster.start(i, 128 * kMiB);  // both nodes full of small tasks
    }
    // Pending, oldest first: the big task, then two new small tasks per round.
    std::vector<int64_t> pending{800 * kMiB};
    int placed_big_in_round = -1;
    size_t cursor = 0;
    for (int round = 1; round <= 20 && placed_big_in_round < 0; ++round) {
      for (size_t n = 0; n < cluster.nodes.size(); ++n)
        cluster.finish_oldest(n);
      pending.push_back(128 * kMiB);
      pending.push_back(128 * kMiB);
      std::vector<TaskRequest> tasks;
      for (int64_t m : pending)
        tasks.push_back({"t", "", {0, m, 0}, {}});
      Plan plan = schedule(cluster.nodes, tasks, policy, cursor);
      cursor = plan.next_cursor;
      std::vector<int64_t> still_pending;
      for (const auto& u : plan.unplaced)
        still_pending.push_back(pending[u.task]);
      for (const auto& p : plan.placements) {
        cluster.start(p.node, pending[p.task]);
        if (pending[p.task] == 800 * kMiB)
          placed_big_in_round = round;
      }
      pending = std::move(still_pending);
    }
    // One node drains while the small tasks use the other: 7 of its 8 tasks must finish.
    EXPECT_EQ(placed_big_in_round, 7) << policy_name(policy);
  }
}

}  // namespace
}  // namespace cube::broker
