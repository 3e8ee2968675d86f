// roundrobin: the first feasible node at or after the cursor; the cursor moves past it.
#include <gtest/gtest.h>

#include <vector>

#include "broker/scheduler.h"
#include "broker/scheduler_internal.h"

namespace cube::broker {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

NodeSnapshot make_node(uint32_t credit = 8) {
  NodeSnapshot n;
  n.id = n.name = "n";
  n.drivers = {"docker"};
  n.capacity.cpu = 4;
  n.capacity.memory_bytes = 4 * kGiB;
  n.credit = credit;
  return n;
}

std::vector<size_t> nodes_of(const Plan& plan) {
  std::vector<size_t> out;
  for (const auto& p : plan.placements)
    out.push_back(p.node);
  return out;
}

TEST(PolicyRoundRobin, CyclesFromTheCursor) {
  std::vector<NodeSnapshot> nodes(3, make_node());
  std::vector<TaskRequest> tasks(4, TaskRequest{"t", "", {1, 0, 0}, {}});
  struct Row {
    size_t cursor;
    std::vector<size_t> expected;
    size_t next_cursor;
  } rows[] = {
      {0, {0, 1, 2, 0}, 1},
      {2, {2, 0, 1, 2}, 0},
      {7, {1, 2, 0, 1}, 2},  // taken modulo the node count
  };
  for (const auto& r : rows) {
    Plan plan = schedule(nodes, tasks, Policy::RoundRobin, r.cursor);
    EXPECT_EQ(nodes_of(plan), r.expected) << "cursor " << r.cursor;
    EXPECT_EQ(plan.next_cursor, r.next_cursor) << "cursor " << r.cursor;
  }
}

TEST(PolicyRoundRobin, SkipsNodesTheTaskDoesNotFit) {
  std::vector<NodeSnapshot> nodes{make_node(), make_node(0), make_node()};
  nodes[2].allocated.cpu = 3.5;
  std::vector<TaskRequest> tasks(3, TaskRequest{"t", "", {1, 0, 0}, {}});
  Plan plan = schedule(nodes, tasks, Policy::RoundRobin, 1);
  // Node 1 has no credit and node 2 no CPU: every task lands on node 0.
  EXPECT_EQ(nodes_of(plan), (std::vector<size_t>{0, 0, 0}));
  EXPECT_EQ(plan.next_cursor, 1u);
}

TEST(PolicyRoundRobin, CursorUnchangedWhenNothingIsPlacedOrForOtherPolicies) {
  std::vector<NodeSnapshot> nodes(2, make_node(0));
  std::vector<TaskRequest> tasks(2, TaskRequest{"t", "", {1, 0, 0}, {}});
  EXPECT_EQ(schedule(nodes, tasks, Policy::RoundRobin, 5).next_cursor, 5u);
  nodes[0].credit = 4;
  EXPECT_EQ(schedule(nodes, tasks, Policy::Binpack, 5).next_cursor, 5u);
  EXPECT_EQ(schedule({}, tasks, Policy::RoundRobin, 3).next_cursor, 3u);
}

TEST(PolicyRoundRobin, PickAsksEachNodeOnceInOrder) {
  struct Log {
    mutable std::vector<size_t> asked;  // the filter sees its context as const
  } log;
  internal::NodeFilter filter{&log, [](const void* p, size_t i) {
                                static_cast<const Log*>(p)->asked.push_back(i);
                                return i == 1;
                              }};
  EXPECT_EQ(internal::pick_round_robin(4, 2, filter), std::optional<size_t>(1));
  EXPECT_EQ(log.asked, (std::vector<size_t>{2, 3, 0, 1}));
  internal::NodeFilter none{nullptr, [](const void*, size_t) { return false; }};
  EXPECT_EQ(internal::pick_round_robin(3, 0, none), std::nullopt);
  EXPECT_EQ(internal::pick_round_robin(0, 0, none), std::nullopt);
  EXPECT_EQ(internal::score_function(Policy::RoundRobin), nullptr);
}

}  // namespace
}  // namespace cube::broker
