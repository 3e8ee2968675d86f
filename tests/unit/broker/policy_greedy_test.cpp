// greedy: least allocated CPU fraction, then memory fraction, then lowest index.
#include <gtest/gtest.h>

#include <vector>

#include "broker/scheduler.h"
#include "broker/scheduler_internal.h"

namespace cube::broker {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

NodeSnapshot make_node(double cpu, int64_t memory, Resources allocated) {
  NodeSnapshot n;
  n.id = n.name = "n";
  n.drivers = {"docker"};
  n.capacity.cpu = cpu;
  n.capacity.memory_bytes = memory;
  n.allocated = allocated;
  n.credit = 8;
  return n;
}

size_t first_pick(const std::vector<NodeSnapshot>& nodes, Resources request) {
  std::vector<TaskRequest> tasks{{"t", "", request, {}}};
  Plan plan = schedule(nodes, tasks, Policy::Greedy);
  EXPECT_EQ(plan.placements.size(), 1u);
  return plan.placements.empty() ? 99 : plan.placements[0].node;
}

TEST(PolicyGreedy, PickTable) {
  struct Row {
    const char* name;
    std::vector<NodeSnapshot> nodes;
    size_t expected;
  } rows[] = {
      {"lowest_cpu_fraction",
       {make_node(4, 4 * kGiB, {2, 0, 0}), make_node(4, 4 * kGiB, {1, 3 * kGiB, 0})},
       1},
      {"fraction_not_absolute",  // 2 of 8 cores is less loaded than 1.5 of 4
       {make_node(4, 4 * kGiB, {1.5, 0, 0}), make_node(8, 4 * kGiB, {2, 0, 0})},
       1},
      {"cpu_tie_goes_to_memory",
       {make_node(4, 4 * kGiB, {1, 2 * kGiB, 0}), make_node(4, 4 * kGiB, {1, kGiB, 0})},
       1},
      {"full_tie_goes_to_lower_index",
       {make_node(4, 4 * kGiB, {1, kGiB, 0}), make_node(4, 4 * kGiB, {1, kGiB, 0})},
       0},
      {"undeclared_cpu_is_unloaded",
       {make_node(4, 4 * kGiB, {0.5, 0, 0}), make_node(0, 4 * kGiB, {100, 0, 0})},
       1},
      {"skips_a_less_loaded_node_that_does_not_fit",
       {make_node(4, 4 * kGiB, {3.5, 0, 0}), make_node(2, 4 * kGiB, {1.6, 0, 0})},
       0},
  };
  for (const auto& r : rows)
    EXPECT_EQ(first_pick(r.nodes, {0.5, 0, 0}), r.expected) << r.name;
}

TEST(PolicyGreedy, SpreadsABatchByLoad) {
  std::vector<NodeSnapshot> nodes{make_node(4, 4 * kGiB, {}), make_node(4, 4 * kGiB, {1, 0, 0})};
  std::vector<TaskRequest> tasks(4, TaskRequest{"t", "", {1, 0, 0}, {}});
  Plan plan = schedule(nodes, tasks, Policy::Greedy);
  // Loads: 0/.25 -> a0; .25/.25 -> a0 (tie, index); .5/.25 -> a1; .5/.5 -> a0.
  EXPECT_EQ(plan.placements, (std::vector<Placement>{{0, 0}, {1, 0}, {2, 1}, {3, 0}}));
  EXPECT_EQ(internal::score_function(Policy::Greedy), &internal::score_greedy);
}

}  // namespace
}  // namespace cube::broker
