// Feasibility and the reasons of unplaced tasks: one table row per misfit, plus the rules that
// decide which node a reason names.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "broker/scheduler.h"

namespace cube::broker {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;

NodeSnapshot make_node(std::string name, double cpu, int64_t memory, uint32_t credit = 4) {
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

struct TaskSpec {
  Resources resources;
  std::string driver;
  std::vector<std::string> constraints;
};

std::vector<TaskRequest> requests(const std::vector<TaskSpec>& specs) {
  std::vector<TaskRequest> out;
  for (const auto& s : specs)
    out.push_back({"t", s.driver, s.resources, s.constraints});
  return out;
}

// Schedules one task on `nodes` and returns its reason ("" if it was placed).
std::string reason_for(const std::vector<NodeSnapshot>& nodes, const TaskSpec& task,
                       Policy policy = Policy::Binpack) {
  std::vector<TaskSpec> specs{task};
  auto reqs = requests(specs);
  Plan plan = schedule(nodes, reqs, policy);
  EXPECT_EQ(plan.placements.size() + plan.unplaced.size(), 1u);
  return plan.unplaced.empty() ? "" : plan.unplaced[0].reason;
}

struct ReasonCase {
  const char* name;
  std::vector<NodeSnapshot> nodes;
  TaskSpec task;
  std::string reason;
};

std::vector<ReasonCase> reason_cases() {
  std::vector<ReasonCase> cases;
  cases.push_back({"no_nodes", {}, {{1, kGiB, 0}, "", {}}, "no nodes registered"});
  {
    auto n = make_node("a1", 4, 4 * kGiB);
    n.drivers = {"exec"};
    cases.push_back(
        {"default_driver_is_docker", {n}, {{}, "", {}}, "no node offers the \"docker\" driver"});
  }
  cases.push_back({"driver_named",
                   {make_node("a1", 4, 4 * kGiB)},
                   {{}, "sim", {}},
                   "no node offers the \"sim\" driver"});
  {
    auto n = make_node("a1", 4, 4 * kGiB);
    n.labels = {{"zone", "us"}};
    cases.push_back({"constraint", {n}, {{}, "", {"zone=eu"}}, "no node matches zone=eu"});
  }
  {
    auto n = make_node("a1", 4, 4 * kGiB);
    n.labels = {{"zone", "eu"}};
    cases.push_back(
        {"negated_constraint", {n}, {{}, "", {"zone!=eu"}}, "no node matches zone!=eu"});
  }
  {
    auto a = make_node("a1", 4, 4 * kGiB);
    a.labels = {{"zone", "eu"}};
    auto b = make_node("a2", 4, 4 * kGiB);
    b.labels = {{"disk", "ssd"}};
    cases.push_back({"constraints_never_together",
                     {a, b},
                     {{}, "", {"zone=eu", "disk=ssd"}},
                     "no node matches all of zone=eu, disk=ssd"});
  }
  {
    // Only nodes offering the driver count for constraints: a2 has the label but not "sim".
    auto a = make_node("a1", 4, 4 * kGiB);
    a.drivers = {"sim"};
    auto b = make_node("a2", 4, 4 * kGiB);
    b.labels = {{"zone", "eu"}};
    cases.push_back({"constraint_among_driver_nodes",
                     {a, b},
                     {{}, "sim", {"zone=eu"}},
                     "no node matches zone=eu"});
  }
  {
    auto n = make_node("a1", 4, 4 * kGiB);
    n.allocated.cpu = 2.5;
    cases.push_back(
        {"cpu", {n}, {{2, 0, 0}, "", {}}, "no node has 2 CPU free (best: a1 with 1.5)"});
  }
  {
    auto n = make_node("a1", 4, kGiB);
    n.allocated.memory_bytes = 600 * kMiB;
    cases.push_back({"memory",
                     {n},
                     {{0, 600 * kMiB, 0}, "", {}},
                     "no node has 600 MiB memory free (best: a1 with 424 MiB)"});
  }
  {
    auto n = make_node("a1", 4, kGiB);
    n.capacity.disk_bytes = 4 * kGiB;
    n.allocated.disk_bytes = 2 * kGiB;
    cases.push_back({"disk",
                     {n},
                     {{0, 0, 10 * kGiB}, "", {}},
                     "no node has 10 GiB disk free (best: a1 with 2 GiB)"});
  }
  {
    auto n = make_node("a1", 4, kGiB);
    n.allocated = {2.5, 600 * kMiB, 0};
    cases.push_back({"cpu_and_memory",
                     {n},
                     {{2, 600 * kMiB, 0}, "", {}},
                     "no node has 2 CPU and 600 MiB memory free (best: a1 with 1.5 CPU and 424 "
                     "MiB memory)"});
  }
  cases.push_back(
      {"credit", {make_node("a1", 4, kGiB, 0)}, {{1, 0, 0}, "", {}}, "no node has a free slot"});
  {
    // The reason comes from the node that got furthest: a1 lacks the driver, a2 only memory.
    auto a = make_node("a1", 4, 4 * kGiB);
    a.drivers = {"exec"};
    auto b = make_node("a2", 4, kGiB);
    cases.push_back({"furthest_node_wins",
                     {a, b},
                     {{0, 2 * kGiB, 0}, "", {}},
                     "no node has 2 GiB memory free (best: a2 with 1 GiB)"});
  }
  {
    // Fits a1 except for credit; a2 has credit but no memory: the slot is what is missing.
    auto a = make_node("a1", 4, 4 * kGiB, 0);
    auto b = make_node("a2", 4, kGiB);
    cases.push_back(
        {"credit_beats_resources", {a, b}, {{0, 2 * kGiB, 0}, "", {}}, "no node has a free slot"});
  }
  {
    // "best" is the node closest to fitting.
    auto a = make_node("a1", 4, kGiB);
    a.allocated.memory_bytes = 600 * kMiB;
    auto b = make_node("a2", 4, kGiB);
    b.allocated.memory_bytes = 524 * kMiB;
    cases.push_back({"best_is_closest",
                     {a, b},
                     {{0, 600 * kMiB, 0}, "", {}},
                     "no node has 600 MiB memory free (best: a2 with 500 MiB)"});
  }
  {
    auto n = make_node("", 4, kGiB);
    n.id = "agent-7";
    cases.push_back({"id_when_no_name",
                     {n},
                     {{0, 2 * kGiB, 0}, "", {}},
                     "no node has 2 GiB memory free (best: agent-7 with 1 GiB)"});
  }
  {
    auto n = make_node("a1", 4, kGiB);
    n.allocated.memory_bytes = 2 * kGiB;  // already over: nothing is free, never negative
    cases.push_back({"overcommitted_node",
                     {n},
                     {{0, kMiB, 0}, "", {}},
                     "no node has 1 MiB memory free (best: a1 with 0 B)"});
  }
  return cases;
}

TEST(SchedulerFeasibility, EachMisfitHasItsReason) {
  for (const auto& c : reason_cases()) {
    for (Policy policy :
         {Policy::RoundRobin, Policy::Greedy, Policy::Epvm, Policy::Binpack, Policy::Spread}) {
      EXPECT_EQ(reason_for(c.nodes, c.task, policy), c.reason)
          << c.name << " with " << policy_name(policy);
    }
  }
}

struct FitCase {
  const char* name;
  NodeSnapshot node;
  TaskSpec task;
  bool fits;
};

std::vector<FitCase> fit_cases() {
  std::vector<FitCase> cases;
  auto base = make_node("a1", 4, 4 * kGiB);
  cases.push_back({"exact_fit", base, {{4, 4 * kGiB, 0}, "", {}}, true});
  cases.push_back({"cpu_over_by_a_bit", base, {{4.01, 0, 0}, "", {}}, false});
  {
    auto n = base;
    n.allocated.cpu = 0.1 + 0.2;  // 0.30000000000000004
    cases.push_back({"cpu_rounding_is_not_a_misfit", n, {{3.7, 0, 0}, "", {}}, true});
  }
  {
    auto n = base;
    n.capacity.cpu = 0;
    n.capacity.memory_bytes = 0;
    n.capacity.disk_bytes = 0;
    n.allocated = {100, 100 * kGiB, 100 * kGiB};
    cases.push_back({"undeclared_is_unlimited", n, {{64, 512 * kGiB, 512 * kGiB}, "", {}}, true});
  }
  {
    auto n = base;
    n.allocated.memory_bytes = 8 * kGiB;  // over its memory, but the task asks for none
    cases.push_back({"zero_request_fits_an_overcommitted_node", n, {{1, 0, 0}, "", {}}, true});
  }
  {
    auto n = base;
    n.drivers = {"docker", "exec"};
    cases.push_back({"second_driver", n, {{}, "exec", {}}, true});
  }
  {
    auto n = base;
    n.labels = {{"zone", "eu"}, {"disk", "ssd"}};
    cases.push_back({"all_constraints", n, {{}, "", {"zone=eu", "disk=ssd"}}, true});
    cases.push_back({"value_must_be_exact", n, {{}, "", {"zone=e"}}, false});
    cases.push_back({"negated_other_value", n, {{}, "", {"zone!=us"}}, true});
    cases.push_back({"negated_absent_label", n, {{}, "", {"rack!=r1"}}, true});
    cases.push_back({"absent_label", n, {{}, "", {"rack=r1"}}, false});
    cases.push_back({"empty_value_needs_empty_label", n, {{}, "", {"zone="}}, false});
  }
  return cases;
}

TEST(SchedulerFeasibility, FitTable) {
  for (const auto& c : fit_cases()) {
    std::string reason = reason_for({c.node}, c.task);
    EXPECT_EQ(reason.empty(), c.fits) << c.name << ": " << reason;
  }
}

TEST(SchedulerFeasibility, EarlierPlacementsOfThePlanCount) {
  // One node with room for two tasks: the third must not fit, whatever the policy.
  std::vector<NodeSnapshot> nodes{make_node("a1", 2, 2 * kGiB, 10)};
  std::vector<TaskSpec> specs(3, TaskSpec{{1, kGiB, 0}, "", {}});
  auto reqs = requests(specs);
  for (Policy policy :
       {Policy::RoundRobin, Policy::Greedy, Policy::Epvm, Policy::Binpack, Policy::Spread}) {
    Plan plan = schedule(nodes, reqs, policy);
    ASSERT_EQ(plan.placements.size(), 2u) << policy_name(policy);
    ASSERT_EQ(plan.unplaced.size(), 1u);
    EXPECT_EQ(plan.unplaced[0].task, 2u);
    EXPECT_EQ(plan.unplaced[0].reason,
              "no node has 1 CPU and 1 GiB memory free (best: a1 with 0 "
              "CPU and 0 B memory)");
  }
}

TEST(SchedulerFeasibility, CreditLimitsPlacementsPerNode) {
  std::vector<NodeSnapshot> nodes{make_node("a1", 0, 0, 2)};
  std::vector<TaskSpec> specs(3, TaskSpec{{0.5, kMiB, 0}, "", {}});
  auto reqs = requests(specs);
  Plan plan = schedule(nodes, reqs, Policy::Binpack);
  EXPECT_EQ(plan.placements, (std::vector<Placement>{{0, 0}, {1, 0}}));
  EXPECT_EQ(plan.unplaced, (std::vector<Unplaced>{{2, "no node has a free slot"}}));
}

TEST(SchedulerFeasibility, NonFiniteCpuIsRefusedNotTrusted) {
  std::vector<NodeSnapshot> nodes{make_node("a1", 4, kGiB), make_node("a2", 4, kGiB)};
  nodes[0].capacity.cpu = std::numeric_limits<double>::quiet_NaN();  // counts as undeclared
  nodes[1].allocated.cpu = std::numeric_limits<double>::infinity();  // counts as nothing
  std::vector<TaskSpec> specs{{{std::numeric_limits<double>::quiet_NaN(), 0, 0}, "", {}},
                              {{2, 0, 0}, "", {}},
                              {{std::numeric_limits<double>::infinity(), 0, 0}, "", {}},
                              {{3, 0, 0}, "", {}}};
  auto reqs = requests(specs);
  for (Policy policy :
       {Policy::RoundRobin, Policy::Greedy, Policy::Epvm, Policy::Binpack, Policy::Spread}) {
    Plan plan = schedule(nodes, reqs, policy);
    ASSERT_EQ(plan.unplaced.size(), 2u) << policy_name(policy);
    EXPECT_EQ(plan.unplaced[0], (Unplaced{0, "its CPU request nan is not a number of cores"}));
    EXPECT_EQ(plan.unplaced[1], (Unplaced{2, "its CPU request inf is not a number of cores"}));
    EXPECT_EQ(plan.placements.size(), 2u);
  }
}

TEST(SchedulerFeasibility, PolicyNames) {
  for (Policy policy :
       {Policy::RoundRobin, Policy::Greedy, Policy::Epvm, Policy::Binpack, Policy::Spread}) {
    EXPECT_EQ(policy_from_name(policy_name(policy)), policy);
  }
  EXPECT_EQ(policy_name(kDefaultPolicy), "binpack");
  EXPECT_EQ(policy_from_name("BinPack"), std::nullopt);
  EXPECT_EQ(policy_from_name(""), std::nullopt);
}

}  // namespace
}  // namespace cube::broker
