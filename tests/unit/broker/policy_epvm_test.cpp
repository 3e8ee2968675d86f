// epvm: E-PVM marginal cost over CPU, memory, disk and slots, with the prior orchestrators'
// bugs fixed (CPU term that cancelled out, allocations not counted).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "broker/scheduler.h"
#include "broker/scheduler_internal.h"

namespace cube::broker {
namespace {

using internal::NodeState;
using internal::score_epvm;

constexpr int64_t kGiB = int64_t{1} << 30;
constexpr double kLieb = 1.53960071783900203869;

NodeSnapshot make_node(Resources allocated, uint32_t credit = 8) {
  NodeSnapshot n;
  n.id = n.name = "n";
  n.drivers = {"docker"};
  n.capacity = {4, 4 * kGiB, 0, 8};
  n.allocated = allocated;
  n.credit = credit;
  return n;
}

TEST(PolicyEpvm, CostIsTheSumOfMarginalCosts) {
  NodeState s;
  s.cpu_capacity = 4;
  s.cpu_used = 1;
  s.memory_capacity = 4 * kGiB;
  s.memory_used = 2 * kGiB;
  s.disk_capacity = 10 * kGiB;
  s.disk_used = 0;
  s.slots = 4;
  s.credit = 3;  // one slot in use
  Resources task{1, kGiB, 5 * kGiB};
  double expected = (std::pow(kLieb, 0.5) - std::pow(kLieb, 0.25)) +  // CPU 1/4 -> 2/4
                    (std::pow(kLieb, 0.75) - std::pow(kLieb, 0.5)) +  // memory 2/4 -> 3/4
                    (std::pow(kLieb, 0.5) - std::pow(kLieb, 0.0)) +   // disk 0 -> 5/10
                    (std::pow(kLieb, 0.5) - std::pow(kLieb, 0.25));   // slots 1/4 -> 2/4
  EXPECT_NEAR(score_epvm(s, task).primary, -expected, 1e-12);
}

TEST(PolicyEpvm, UndeclaredDimensionsAddNoCost) {
  NodeState s;  // nothing declared
  s.credit = 1;
  EXPECT_EQ(score_epvm(s, {8, 64 * kGiB, kGiB}).primary, 0.0);
}

TEST(PolicyEpvm, CpuLoadMatters) {
  // The prior orchestrators' CPU term was LIEB^load - LIEB^load: these two nodes tied and the
  // first (busy) one won. Here the idle one must.
  std::vector<NodeSnapshot> nodes{make_node({3, kGiB, 0}), make_node({0, kGiB, 0})};
  std::vector<TaskRequest> tasks{{"t", "", {0.5, 0, 0}, {}}};
  Plan plan = schedule(nodes, tasks, Policy::Epvm);
  EXPECT_EQ(plan.placements, (std::vector<Placement>{{0, 1}}));
}

TEST(PolicyEpvm, AllocatedMemoryMattersAndThePlanCountsItsOwnPlacements) {
  std::vector<NodeSnapshot> nodes{make_node({0, 2 * kGiB, 0}), make_node({0, 0, 0})};
  std::vector<TaskRequest> tasks(3, TaskRequest{"t", "", {0, kGiB, 0}, {}});
  Plan plan = schedule(nodes, tasks, Policy::Epvm);
  // Node 1 is emptier and takes two; then both hold 2 GiB, but node 1 has two slots in use and
  // node 0 none, so the third costs less on node 0.
  EXPECT_EQ(plan.placements, (std::vector<Placement>{{0, 1}, {1, 1}, {2, 0}}));
}

TEST(PolicyEpvm, BusySlotsCost) {
  // Equal resources; node 0 has 6 of its 8 slots in use (credit 2), node 1 none.
  std::vector<NodeSnapshot> nodes{make_node({1, kGiB, 0}, 2), make_node({1, kGiB, 0}, 8)};
  std::vector<TaskRequest> tasks{{"t", "", {0.5, kGiB, 0}, {}}};
  EXPECT_EQ(schedule(nodes, tasks, Policy::Epvm).placements, (std::vector<Placement>{{0, 1}}));
  EXPECT_EQ(internal::score_function(Policy::Epvm), &score_epvm);
}

}  // namespace
}  // namespace cube::broker
