// The service reconciler as a table of situations: the plan each gives (pure logic, no broker).
#include "broker/service_reconciler.h"

#include <gtest/gtest.h>

#include <set>
#include <span>
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
  ReplicaTask t;
  t.id = id;
  t.slot = slot;
  t.state = state;
  t.desired_state = desired;
  t.created_ms = created_ms;
  return t;
}

// The plan outside any rollout.
ServicePlan plan_for(const Service& s, std::span<const ReplicaTask> tasks) {
  return reconcile_service(s, tasks, RolloutProgress{}, 0);
}

std::vector<std::string> stops(const ServicePlan& plan) {
  return {plan.stop.begin(), plan.stop.end()};
}

TEST(ServiceReconciler, ANewServiceGetsOneTaskPerSlot) {
  ServicePlan plan = plan_for(service(3), {});
  EXPECT_EQ(plan.create, (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_TRUE(plan.stop.empty());
  EXPECT_EQ(plan.live, 0u);
}

TEST(ServiceReconciler, LiveTasksInEverySlotChangeNothing) {
  std::vector<ReplicaTask> tasks = {task("a", 1, R), task("b", 2, S), task("c", 3, P)};
  ServicePlan plan = plan_for(service(3), tasks);
  EXPECT_TRUE(plan.create.empty());
  EXPECT_TRUE(plan.stop.empty());
  EXPECT_EQ(plan.live, 3u);
}

TEST(ServiceReconciler, AFailedTaskIsReplacedInItsOwnSlot) {
  std::vector<ReplicaTask> tasks = {task("a", 1, R), task("b", 2, F), task("c", 3, R)};
  EXPECT_EQ(plan_for(service(3), tasks).create, (std::vector<uint32_t>{2}));
}

TEST(ServiceReconciler, TheNewestTaskOfASlotDecides) {
  // Slot 2 failed once (replaced) and its replacement runs: nothing to do.
  std::vector<ReplicaTask> tasks = {task("old", 2, F, R, 100), task("new", 2, R, R, 200),
                                    task("a", 1, R)};
  ServicePlan plan = plan_for(service(2), tasks);
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
    bool replaced = !plan_for(service(1, c.policy), tasks).create.empty();
    EXPECT_EQ(replaced, c.replaced) << c.policy << " after " << task_state_name(c.ended);
  }
}

TEST(ServiceReconciler, ATaskAUserStoppedIsReplacedWhateverThePolicy) {
  std::vector<ReplicaTask> tasks = {task("a", 1, C, C)};
  EXPECT_EQ(plan_for(service(1, "no"), tasks).create, (std::vector<uint32_t>{1}));
}

TEST(ServiceReconciler, ScalingDownStopsTheHighestSlotsFirst) {
  std::vector<ReplicaTask> tasks = {task("t1", 1, R), task("t2", 2, R), task("t3", 3, R),
                                    task("t4", 4, S), task("t5", 5, P)};
  ServicePlan plan = plan_for(service(2), tasks);
  EXPECT_EQ(stops(plan), (std::vector<std::string>{"t5", "t4", "t3"}));
  EXPECT_TRUE(plan.create.empty());
  EXPECT_EQ(plan.live, 2u);
}

TEST(ServiceReconciler, TasksBeingStoppedAreNeitherStoppedAgainNorCounted) {
  // Slot 3 is on its way out (desired Completed) after a scale down to 2.
  std::vector<ReplicaTask> tasks = {task("t1", 1, R), task("t2", 2, R), task("t3", 3, R, C)};
  ServicePlan plan = plan_for(service(2), tasks);
  EXPECT_TRUE(plan.stop.empty());
  // Scaling back up to 3 makes a new task for slot 3 (the old one is being stopped).
  EXPECT_EQ(plan_for(service(3), tasks).create, (std::vector<uint32_t>{3}));
}

TEST(ServiceReconciler, DuplicatesInASlotKeepTheOneFurthestAlong) {
  std::vector<ReplicaTask> tasks = {task("pending", 1, P, R, 300), task("running", 1, R, R, 100),
                                    task("scheduled", 1, S, R, 200)};
  ServicePlan plan = plan_for(service(1), tasks);
  EXPECT_EQ(stops(plan), (std::vector<std::string>{"scheduled", "pending"}));
  EXPECT_TRUE(plan.create.empty());
  EXPECT_EQ(plan.live, 1u);
}

TEST(ServiceReconciler, ScaleToZeroStopsEverything) {
  std::vector<ReplicaTask> tasks = {task("t1", 1, R), task("t2", 2, R)};
  ServicePlan plan = plan_for(service(0), tasks);
  EXPECT_EQ(stops(plan), (std::vector<std::string>{"t2", "t1"}));
  EXPECT_TRUE(plan.create.empty());
}

TEST(ServiceReconciler, ATaskWithoutASlotIsStopped) {
  std::vector<ReplicaTask> tasks = {task("stray", 0, R), task("t1", 1, R)};
  EXPECT_EQ(stops(plan_for(service(1), tasks)), (std::vector<std::string>{"stray"}));
}

// --- rolling updates ---

constexpr int64_t kMonitor = 5000;

// Service web at template version 2, rolling out from version 1.
Service rolling(uint32_t replicas, uint32_t parallelism, std::string_view order,
                int64_t delay_ms = 0) {
  Service s = service(replicas);
  s.template_version = 2;
  s.previous_template_version = 1;
  s.update_state = std::string(kUpdateStateUpdating);
  s.update.parallelism = parallelism;
  s.update.order = std::string(order);
  s.update.monitor_ms = kMonitor;
  s.update.delay_ms = delay_ms;
  return s;
}

// A task of `version`, Running since `started_ms` unless another state is given.
ReplicaTask versioned(std::string_view id, uint32_t slot, uint64_t version, int64_t started_ms,
                      TaskState state = R, TaskState desired = R) {
  ReplicaTask t = task(id, slot, state, desired, started_ms);
  t.version = version;
  t.start_time_ms = state == R ? started_ms : 0;
  return t;
}

RolloutProgress progress_at(uint64_t version, std::set<uint32_t> done, int64_t last_done_ms) {
  return {version, std::move(done), last_done_ms};
}

TEST(ServiceRollout, StopFirstStopsOneOldTaskThenMakesItsReplacementOnceItEnded) {
  Service s = rolling(3, 1, kUpdateOrderStopFirst);
  std::vector<ReplicaTask> tasks = {versioned("a1", 1, 1, 0), versioned("b1", 2, 1, 0),
                                    versioned("c1", 3, 1, 0)};
  ServicePlan first = reconcile_service(s, tasks, {}, 100'000);
  EXPECT_EQ(stops(first), (std::vector<std::string>{"a1"}));
  EXPECT_TRUE(first.create.empty());
  EXPECT_FALSE(first.rollout_finished);

  // a1 is stopping (still Running on its node): nothing new yet, and nothing else starts.
  tasks[0].desired_state = C;
  ServicePlan stopping = reconcile_service(s, tasks, {}, 100'001);
  EXPECT_TRUE(stopping.create.empty());
  EXPECT_TRUE(stopping.stop.empty());

  // a1 ended: slot 1 gets a task of version 2; still one slot in flight.
  tasks[0].state = C;
  ServicePlan ended = reconcile_service(s, tasks, {}, 100'002);
  EXPECT_EQ(ended.create, (std::vector<uint32_t>{1}));
  EXPECT_TRUE(ended.stop.empty());
}

TEST(ServiceRollout, ASlotIsDoneAfterItsNewTaskRanForTheMonitorPeriodThenTheNextOneStarts) {
  Service s = rolling(3, 1, kUpdateOrderStopFirst);
  std::vector<ReplicaTask> tasks = {versioned("a1", 1, 1, 0, C, C), versioned("a2", 1, 2, 10'000),
                                    versioned("b1", 2, 1, 0), versioned("c1", 3, 1, 0)};
  ServicePlan early = reconcile_service(s, tasks, {}, 10'000 + kMonitor - 1);
  EXPECT_TRUE(early.stop.empty()) << "slot 1 is still in its monitor period";
  EXPECT_TRUE(early.done.empty());
  EXPECT_EQ(early.wake_at_ms, 10'000 + kMonitor);

  ServicePlan passed = reconcile_service(s, tasks, {}, 10'000 + kMonitor);
  EXPECT_EQ(passed.done, (std::vector<uint32_t>{1}));
  EXPECT_EQ(stops(passed), (std::vector<std::string>{"b1"}));
  EXPECT_FALSE(passed.failure);
}

TEST(ServiceRollout, StartFirstMakesTheNewTasksBesideTheOldOnesAndStopsThoseOnceTheNewPassed) {
  Service s = rolling(3, 2, kUpdateOrderStartFirst);
  std::vector<ReplicaTask> tasks = {versioned("a1", 1, 1, 0), versioned("b1", 2, 1, 0),
                                    versioned("c1", 3, 1, 0)};
  ServicePlan first = reconcile_service(s, tasks, {}, 50'000);
  EXPECT_EQ(first.create, (std::vector<uint32_t>{1, 2}));
  EXPECT_TRUE(first.stop.empty()) << "the old tasks serve until the new ones passed";

  tasks.push_back(versioned("a2", 1, 2, 60'000));
  tasks.push_back(versioned("b2", 2, 2, 61'000, S));
  ServicePlan running = reconcile_service(s, tasks, {}, 60'000 + kMonitor);
  EXPECT_EQ(running.done, (std::vector<uint32_t>{1}));
  EXPECT_EQ(stops(running), (std::vector<std::string>{"a1"}));
  EXPECT_EQ(running.create, (std::vector<uint32_t>{3})) << "slot 1 is done: slot 3 starts";
  EXPECT_EQ(running.live, 3u);
}

TEST(ServiceRollout, ParallelismBoundsTheSlotsInFlight) {
  Service s = rolling(5, 2, kUpdateOrderStopFirst);
  std::vector<ReplicaTask> tasks;
  std::vector<std::string> ids = {"a", "b", "c", "d", "e"};
  for (uint32_t slot = 1; slot <= 5; ++slot)
    tasks.push_back(versioned(ids[slot - 1], slot, 1, 0));
  EXPECT_EQ(stops(reconcile_service(s, tasks, {}, 1'000)), (std::vector<std::string>{"a", "b"}));
  // One new task is on its way in slot 1, slot 2's old task still stops: two in flight.
  tasks[0].state = C;
  tasks[0].desired_state = C;
  tasks[1].desired_state = C;
  tasks.push_back(versioned("a2", 1, 2, 0, P));
  ServicePlan plan = reconcile_service(s, tasks, {}, 2'000);
  EXPECT_TRUE(plan.stop.empty());
  EXPECT_TRUE(plan.create.empty());
}

TEST(ServiceRollout, TheDelayCountsFromTheLastSlotDone) {
  Service s = rolling(2, 1, kUpdateOrderStopFirst, /*delay_ms=*/3'000);
  std::vector<ReplicaTask> tasks = {versioned("a2", 1, 2, 1), versioned("b1", 2, 1, 1)};
  RolloutProgress progress = progress_at(2, {1}, 10'000);
  ServicePlan waiting = reconcile_service(s, tasks, progress, 12'000);
  EXPECT_TRUE(waiting.stop.empty());
  EXPECT_EQ(waiting.wake_at_ms, 13'000);
  EXPECT_EQ(stops(reconcile_service(s, tasks, progress, 13'000)), (std::vector<std::string>{"b1"}));
  // Progress of another version is not this rollout's: slot 1 passes again (its task has run
  // long enough), now, and the delay counts from now (as after a broker restart).
  ServicePlan other = reconcile_service(s, tasks, progress_at(7, {1}, 10'000), 13'000);
  EXPECT_EQ(other.done, (std::vector<uint32_t>{1}));
  EXPECT_TRUE(other.stop.empty());
  EXPECT_EQ(other.wake_at_ms, 16'000);
}

TEST(ServiceRollout, ANewTaskRestartedBeforeItPassedIsTheRolloutsFailureAndNothingMoreStarts) {
  Service s = rolling(3, 1, kUpdateOrderStopFirst);
  ReplicaTask restarted = versioned("a2", 1, 2, 0, S);
  restarted.restart_count = 1;
  restarted.reason = "health check failed 3 times: GET http://127.0.0.1:8080/health: HTTP 500";
  std::vector<ReplicaTask> tasks = {restarted, versioned("b1", 2, 1, 0), versioned("c1", 3, 1, 0)};
  ServicePlan plan = reconcile_service(s, tasks, {}, 1'000);
  ASSERT_TRUE(plan.failure);
  EXPECT_EQ(plan.failure->slot, 1u);
  EXPECT_EQ(plan.failure->message,
            "web.1 failed: health check failed 3 times: GET "
            "http://127.0.0.1:8080/health: HTTP 500");
  EXPECT_TRUE(plan.stop.empty());
  EXPECT_FALSE(plan.rollout_finished);

  // Under restart policy "no" the task ends Failed for good: a failure too.
  Service no_restart = s;
  no_restart.task_template.restart_policy = "no";
  std::vector<ReplicaTask> ended = {versioned("a2", 1, 2, 0, F), versioned("b1", 2, 1, 0)};
  ended[0].reason = "exit code 1";
  ServicePlan failed = reconcile_service(no_restart, ended, {}, 1'000);
  ASSERT_TRUE(failed.failure);
  EXPECT_EQ(failed.failure->message, "web.1 failed: exit code 1");
}

TEST(ServiceRollout, FinishedWhenEverySlotPassedAndNoOldTaskRuns) {
  Service s = rolling(2, 1, kUpdateOrderStopFirst);
  std::vector<ReplicaTask> tasks = {versioned("a2", 1, 2, 1), versioned("b2", 2, 2, 1)};
  ServicePlan plan = reconcile_service(s, tasks, progress_at(2, {1}, 1), 1 + kMonitor);
  EXPECT_EQ(plan.done, (std::vector<uint32_t>{2}));
  EXPECT_TRUE(plan.rollout_finished);
}

TEST(ServiceRollout, APausedRolloutStartsNoSlotButReplacesFailedTasksWithTheNewTemplate) {
  Service s = rolling(3, 1, kUpdateOrderStopFirst);
  s.update_state = std::string(kUpdateStatePaused);
  std::vector<ReplicaTask> tasks = {versioned("a2", 1, 2, 0, S), versioned("b1", 2, 1, 0),
                                    versioned("c1", 3, 1, 0, F)};
  tasks[0].restart_count = 4;
  ServicePlan plan = reconcile_service(s, tasks, {}, 100'000);
  EXPECT_TRUE(plan.stop.empty());
  EXPECT_EQ(plan.create, (std::vector<uint32_t>{3}));
  EXPECT_FALSE(plan.failure) << "a paused rollout reports nothing new";
  EXPECT_FALSE(plan.rollout_finished);
}

}  // namespace
}  // namespace cube::broker
