// The service reconciler as a table of situations: the plan each gives (pure logic, no broker).
#include "broker/service_reconciler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cube::broker {
namespace {

constexpr TaskState P = TaskState::Pending;
constexpr TaskState S = TaskState::Scheduled;
constexpr TaskState R = TaskState::Running;
constexpr TaskState C = TaskState::Completed;
constexpr TaskState F = TaskState::Failed;

Service service(uint32_t replicas, std::string restart = "always") {
  Service s;
  s.name = "web";
  s.replicas = replicas;
  s.task_template.restart_policy = std::move(restart);
  return s;
}

ReplicaTask task(std::string_view id, uint32_t slot, TaskState state,
                 TaskState desired = TaskState::Running, int64_t created_ms = 0) {
  return {id, slot, state, desired, created_ms};
}

std::vector<std::string> stops(const ServicePlan& plan) {
  return {plan.stop.begin(), plan.stop.end()};
}

TEST(ServiceReconciler, ANewServiceGetsOneTaskPerSlot) {
  ServicePlan plan = reconcile_service(service(3), {});
  EXPECT_EQ(plan.create, (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_TRUE(plan.stop.empty());
  EXPECT_EQ(plan.live, 0u);
}

TEST(ServiceReconciler, LiveTasksInEverySlotChangeNothing) {
  std::vector<ReplicaTask> tasks = {task("a", 1, R), task("b", 2, S), task("c", 3, P)};
  ServicePlan plan = reconcile_service(service(3), tasks);
  EXPECT_TRUE(plan.create.empty());
  EXPECT_TRUE(plan.stop.empty());
  EXPECT_EQ(plan.live, 3u);
}

TEST(ServiceReconciler, AFailedTaskIsReplacedInItsOwnSlot) {
  std::vector<ReplicaTask> tasks = {task("a", 1, R), task("b", 2, F), task("c", 3, R)};
  EXPECT_EQ(reconcile_service(service(3), tasks).create, (std::vector<uint32_t>{2}));
}

TEST(ServiceReconciler, TheNewestTaskOfASlotDecides) {
  // Slot 2 failed once (replaced) and its replacement runs: nothing to do.
  std::vector<ReplicaTask> tasks = {task("old", 2, F, R, 100), task("new", 2, R, R, 200),
                                    task("a", 1, R)};
  ServicePlan plan = reconcile_service(service(2), tasks);
  EXPECT_TRUE(plan.create.empty());
  EXPECT_TRUE(plan.stop.empty());
}

TEST(ServiceReconciler, TheRestartPolicyDecidesWhetherAnEndedTaskIsReplaced) {
  struct Case {
    std::string policy;
    TaskState ended;
    bool replaced;
  };
  const Case cases[] =
      {
          {"always", F, true},      {"always", C, true}, {"on-failure", F, true},
          {"on-failure", C, false}, {"no", F, false},    {"no", C, false},
          {"", F, false},  // a template stored without normalization reads as "no"
      };
  for (const auto& c : cases) {
    std::vector<ReplicaTask> tasks = {task("a", 1, c.ended)};
    bool replaced = !reconcile_service(service(1, c.policy), tasks).create.empty();
    EXPECT_EQ(replaced, c.replaced) << c.policy << " after " << task_state_name(c.ended);
  }
}

TEST(ServiceReconciler, ATaskAUserStoppedIsReplacedWhateverThePolicy) {
  std::vector<ReplicaTask> tasks = {task("a", 1, C, C)};
  EXPECT_EQ(reconcile_service(service(1, "no"), tasks).create, (std::vector<uint32_t>{1}));
}

TEST(ServiceReconciler, ScalingDownStopsTheHighestSlotsFirst) {
  std::vector<ReplicaTask> tasks = {task("t1", 1, R), task("t2", 2, R), task("t3", 3, R),
                                    task("t4", 4, S), task("t5", 5, P)};
  ServicePlan plan = reconcile_service(service(2), tasks);
  EXPECT_EQ(stops(plan), (std::vector<std::string>{"t5", "t4", "t3"}));
  EXPECT_TRUE(plan.create.empty());
  EXPECT_EQ(plan.live, 2u);
}

TEST(ServiceReconciler, TasksBeingStoppedAreNeitherStoppedAgainNorCounted) {
  // Slot 3 is on its way out (desired Completed) after a scale down to 2.
  std::vector<ReplicaTask> tasks = {task("t1", 1, R), task("t2", 2, R), task("t3", 3, R, C)};
  ServicePlan plan = reconcile_service(service(2), tasks);
  EXPECT_TRUE(plan.stop.empty());
  // Scaling back up to 3 makes a new task for slot 3 (the old one is being stopped).
  EXPECT_EQ(reconcile_service(service(3), tasks).create, (std::vector<uint32_t>{3}));
}

TEST(ServiceReconciler, DuplicatesInASlotKeepTheOneFurthestAlong) {
  std::vector<ReplicaTask> tasks = {task("pending", 1, P, R, 300), task("running", 1, R, R, 100),
                                    task("scheduled", 1, S, R, 200)};
  ServicePlan plan = reconcile_service(service(1), tasks);
  EXPECT_EQ(stops(plan), (std::vector<std::string>{"scheduled", "pending"}));
  EXPECT_TRUE(plan.create.empty());
  EXPECT_EQ(plan.live, 1u);
}

TEST(ServiceReconciler, ScaleToZeroStopsEverything) {
  std::vector<ReplicaTask> tasks = {task("t1", 1, R), task("t2", 2, R)};
  ServicePlan plan = reconcile_service(service(0), tasks);
  EXPECT_EQ(stops(plan), (std::vector<std::string>{"t2", "t1"}));
  EXPECT_TRUE(plan.create.empty());
}

TEST(ServiceReconciler, ATaskWithoutASlotIsStopped) {
  std::vector<ReplicaTask> tasks = {task("stray", 0, R), task("t1", 1, R)};
  EXPECT_EQ(stops(reconcile_service(service(1), tasks)), (std::vector<std::string>{"stray"}));
}

}  // namespace
}  // namespace cube::broker
