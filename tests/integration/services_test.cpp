// Services end to end (docs/services.md): real cube-broker, cube-agent (exec driver) and
// cube-client processes on ephemeral ports. Every wait polls the broker's view under a deadline.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "broker/etcd_store.h"
#include "tests/integration/cluster.h"
#include "tests/integration/etcd_cluster.h"

namespace cube::test {
namespace {

using nlohmann::json;

// `service ps NAME -o json`: every task made for the service (null when the call failed).
json service_tasks(Cluster& c, const std::string& name) {
  auto r = c.cli({"service", "ps", name, "-o", "json"});
  if (r.status.code != 0)
    return json();
  return json::parse(r.out, nullptr, false);
}

// The tasks the broker means to run (DesiredState Running) that have not ended.
std::vector<json> live(const json& tasks) {
  std::vector<json> out;
  if (!tasks.is_array())
    return out;
  for (const auto& t : tasks) {
    int state = state_of(t);
    if (t.value("DesiredState", -1) == 2 && state >= 0 && state <= 2)
      out.push_back(t);
  }
  return out;
}

// Slot -> the live task's JSON, when every live task is Running and each slot 1..n has exactly
// one; empty otherwise.
std::map<int, json> running_slots(Cluster& c, const std::string& name, int n) {
  std::map<int, json> slots;
  auto tasks = live(service_tasks(c, name));
  if (static_cast<int>(tasks.size()) != n)
    return {};
  for (const auto& t : tasks) {
    int slot = t.value("Slot", 0);
    if (state_of(t) != 2 || slot < 1 || slot > n || slots.contains(slot))
      return {};
    slots[slot] = t;
  }
  return slots;
}

bool wait_running(Cluster& c, const std::string& name, int n, std::map<int, json>* out = nullptr,
                  std::chrono::milliseconds timeout = 30s) {
  return eventually(
      [&] {
        auto slots = running_slots(c, name, n);
        if (slots.empty() && n > 0)
          return false;
        if (out != nullptr)
          *out = slots;
        return true;
      },
      timeout, 100ms);
}

std::map<std::string, int> per_node(const std::map<int, json>& slots) {
  std::map<std::string, int> count;
  for (const auto& [slot, t] : slots)
    ++count[t.value("Node", "")];
  return count;
}

// Live exec task processes of the cluster's agents (what the kernel runs, whatever the broker
// believes).
size_t task_processes(Cluster& c, const std::vector<std::string>& agents) {
  size_t n = 0;
  for (const auto& a : agents)
    n += exec_task_processes(c.dir() / a).size();
  return n;
}

// A broker (with `broker_args`) and exec agents named `agents` (each with `agent_args`).
void start_cluster(Cluster& c, const std::vector<std::string>& agents,
                   const std::vector<std::string>& broker_args = {},
                   const std::vector<std::string>& agent_args = {}) {
  ASSERT_NO_FATAL_FAILURE(c.start_broker(broker_args));
  for (const auto& a : agents)
    ASSERT_NO_FATAL_FAILURE(c.start_agent(a, agent_args));
}

void create_sleepers(Cluster& c, const std::string& name, int replicas) {
  auto r = c.cli({"service", "create", "--name", name, "--replicas", std::to_string(replicas),
                  "--driver", "exec", "--", "sleep", "300"});
  ASSERT_EQ(r.status.code, 0) << r.err << c.logs();
  EXPECT_EQ(r.out, name + "\n");
}

TEST(Services, ThreeReplicasSpreadOverTwoAgentsAndAKilledTaskComesBackInItsSlot) {
  Cluster c;
  ASSERT_NO_FATAL_FAILURE(start_cluster(c, {"a1", "a2"}));
  GroupReaper reaper{{}, {c.dir() / "a1", c.dir() / "a2"}};
  create_sleepers(c, "web", 3);
  std::map<int, json> slots;
  ASSERT_TRUE(wait_running(c, "web", 3, &slots)) << service_tasks(c, "web").dump(2) << c.logs();
  auto count = per_node(slots);
  EXPECT_EQ(count.size(), 2u) << "spread over both agents";
  for (const auto& [node, n] : count)
    EXPECT_TRUE(n == 1 || n == 2) << node << " runs " << n;
  for (const auto& [slot, t] : slots)
    EXPECT_EQ(t.value("Name", ""), "web." + std::to_string(slot));

  // Kill slot 2's process behind the agent's back: the replica comes back in slot 2.
  std::string victim = slots[2].value("ID", "");
  std::string node = slots[2].value("Node", "");
  pid_t pid = 0;
  for (const auto& p : exec_task_processes(c.dir() / node)) {
    if (p.task_id == victim)
      pid = p.pid;
  }
  ASSERT_GT(pid, 0) << "no process of task " << victim << " under " << node;
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  bool back = eventually(
      [&] {
        auto now = running_slots(c, "web", 3);
        if (now.empty())
          return false;
        const json& t = now[2];
        // Restarted in place (always: same task, next attempt) or replaced in the same slot.
        return t.value("ID", "") != victim || t.value("Attempt", 0) > slots[2].value("Attempt", 0);
      },
      30s, 100ms);
  EXPECT_TRUE(back) << service_tasks(c, "web").dump(2) << c.logs();
  auto after = running_slots(c, "web", 3);
  EXPECT_EQ(after[1].value("ID", ""), slots[1].value("ID", "")) << "other slots untouched";
  EXPECT_EQ(after[3].value("ID", ""), slots[3].value("ID", ""));
  EXPECT_EQ(task_processes(c, {"a1", "a2"}), 3u);

  auto ls = c.cli({"service", "ls"});
  EXPECT_EQ(ls.status.code, 0);
  EXPECT_TRUE(contains(ls.out, "3/3")) << ls.out;
  auto list = c.cli({"list"});
  EXPECT_TRUE(contains(list.out, "SERVICE")) << list.out;
}

TEST(Services, ScaleUpThenDownStopsTheHighestSlots) {
  Cluster c;
  ASSERT_NO_FATAL_FAILURE(start_cluster(c, {"a1", "a2"}, {}, {"--slots", "8"}));
  GroupReaper reaper{{}, {c.dir() / "a1", c.dir() / "a2"}};
  create_sleepers(c, "web", 3);
  std::map<int, json> three;
  ASSERT_TRUE(wait_running(c, "web", 3, &three)) << c.logs();

  ASSERT_EQ(c.cli({"service", "scale", "web=5"}).status.code, 0);
  std::map<int, json> five;
  ASSERT_TRUE(wait_running(c, "web", 5, &five)) << service_tasks(c, "web").dump(2) << c.logs();
  for (int slot = 1; slot <= 3; ++slot)
    EXPECT_EQ(five[slot].value("ID", ""), three[slot].value("ID", "")) << "slot " << slot;
  auto count = per_node(five);
  EXPECT_EQ(count.size(), 2u);
  for (const auto& [node, n] : count)
    EXPECT_TRUE(n == 2 || n == 3) << node << " runs " << n << " of 5";

  ASSERT_EQ(c.cli({"service", "scale", "web=2"}).status.code, 0);
  std::map<int, json> two;
  ASSERT_TRUE(wait_running(c, "web", 2, &two)) << service_tasks(c, "web").dump(2) << c.logs();
  EXPECT_EQ(two[1].value("ID", ""), three[1].value("ID", ""));
  EXPECT_EQ(two[2].value("ID", ""), three[2].value("ID", ""));
  // Slots 3..5 were stopped, and their processes are gone.
  bool stopped = eventually(
      [&] {
        int done = 0;
        for (const auto& t : service_tasks(c, "web")) {
          if (t.value("Slot", 0) >= 3)
            done += state_of(t) == 3 && t.value("Reason", "") == "stopped";
        }
        return done == 3;
      },
      20s, 100ms);
  EXPECT_TRUE(stopped) << service_tasks(c, "web").dump(2);
  EXPECT_TRUE(eventually([&] { return task_processes(c, {"a1", "a2"}) == 2; }, 10s));

  // Bad input: a clear error, nothing changed.
  auto negative = c.cli({"service", "scale", "web=-1"});
  EXPECT_EQ(negative.status.code, 2);
  EXPECT_TRUE(contains(negative.err, "must not be negative")) << negative.err;
  auto too_many = c.cli({"service", "scale", "web=20000"});
  EXPECT_EQ(too_many.status.code, 2);
  EXPECT_TRUE(contains(too_many.err, "limit of 10000")) << too_many.err;
  auto unknown = c.cli({"service", "scale", "nope=1"});
  EXPECT_EQ(unknown.status.code, 1);
  EXPECT_TRUE(contains(unknown.err, "no service named \"nope\"")) << unknown.err;
  auto clash = c.cli({"service", "create", "--name", "web", "--replicas", "7", "--driver", "exec",
                      "--", "sleep", "300"});
  EXPECT_EQ(clash.status.code, 1);
  EXPECT_TRUE(contains(clash.err, "conflict")) << clash.err;
  EXPECT_EQ(live(service_tasks(c, "web")).size(), 2u);
  auto status = json::parse(c.cli({"status", "-o", "json"}).out, nullptr, false);
  auto counters = status.value("Counters", json::object());
  EXPECT_GE(counters.value("services.refused.not_found", 0), 1) << status.dump(2);
  EXPECT_GE(counters.value("services.refused.exists", 0), 1) << status.dump(2);
}

TEST(Services, ARestartedBrokerKeepsTheServiceAndMakesNoDuplicates) {
  Cluster c;
  ASSERT_NO_FATAL_FAILURE(start_cluster(c, {"a1", "a2"}));
  GroupReaper reaper{{}, {c.dir() / "a1", c.dir() / "a2"}};
  create_sleepers(c, "web", 3);
  std::map<int, json> before;
  ASSERT_TRUE(wait_running(c, "web", 3, &before)) << c.logs();

  int port = c.port();
  c.stop_broker(SIGKILL);
  c.start_broker({}, port);
  std::map<int, json> after;
  ASSERT_TRUE(wait_running(c, "web", 3, &after, 45s))
      << service_tasks(c, "web").dump(2) << c.logs();
  for (int slot = 1; slot <= 3; ++slot)
    EXPECT_EQ(after[slot].value("ID", ""), before[slot].value("ID", "")) << "slot " << slot;
  EXPECT_EQ(service_tasks(c, "web").size(), 3u) << "no task was made twice";
  EXPECT_EQ(task_processes(c, {"a1", "a2"}), 3u);
  // Reconciliation still runs after the restart: a scale is honoured.
  ASSERT_EQ(c.cli({"service", "scale", "web=4"}).status.code, 0);
  EXPECT_TRUE(wait_running(c, "web", 4)) << c.logs();
}

TEST(Services, ALostNodesReplicasAreReplacedOnTheOtherNode) {
  Cluster c;
  ASSERT_NO_FATAL_FAILURE(start_cluster(c, {"a1", "a2"}, {"--node-grace", "2s"}));
  GroupReaper reaper{{}, {c.dir() / "a1", c.dir() / "a2"}};
  create_sleepers(c, "web", 2);
  std::map<int, json> slots;
  ASSERT_TRUE(wait_running(c, "web", 2, &slots)) << c.logs();
  ASSERT_EQ(per_node(slots).size(), 2u);

  const Clock& clock = system_clock();
  auto killed_at = clock.now();
  c.agent("a2").signal(SIGKILL);
  ASSERT_TRUE(c.agent("a2").wait(5s).has_value());
  std::map<int, json> moved;
  bool replaced = eventually(
      [&] {
        moved = running_slots(c, "web", 2);
        return !moved.empty() && per_node(moved) == std::map<std::string, int>{{"a1", 2}};
      },
      20s, 100ms);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - killed_at);
  ASSERT_TRUE(replaced) << service_tasks(c, "web").dump(2) << c.logs();
  // The node grace (2 s), one heartbeat and the restart's start: well within grace + 3 s.
  EXPECT_LT(took, 5000ms);
}

TEST(Services, RmStopsEveryTaskAndForgetsTheService) {
  Cluster c;
  ASSERT_NO_FATAL_FAILURE(start_cluster(c, {"a1"}));
  GroupReaper reaper{{}, {c.dir() / "a1"}};
  create_sleepers(c, "web", 2);
  ASSERT_TRUE(wait_running(c, "web", 2)) << c.logs();
  std::vector<std::string> ids;
  for (const auto& t : service_tasks(c, "web"))
    ids.push_back(t.value("ID", ""));

  auto rm = c.cli({"service", "rm", "web"});
  ASSERT_EQ(rm.status.code, 0) << rm.err;
  for (const auto& id : ids) {
    EXPECT_TRUE(c.wait_task(
        id, [](const json& t) { return state_of(t) == 3; }, 20s))
        << c.get(id).dump(2);
  }
  EXPECT_TRUE(eventually([&] { return task_processes(c, {"a1"}) == 0; }, 10s));
  auto ls = c.cli({"service", "ls", "-o", "json"});
  EXPECT_EQ(json::parse(ls.out, nullptr, false), json::array());
  auto gone = c.cli({"service", "inspect", "web"});
  EXPECT_EQ(gone.status.code, 1);
  EXPECT_TRUE(contains(gone.err, "no service named \"web\"")) << gone.err;
}

// --- rolling updates ---

// `service inspect NAME -o json` (null when the call failed).
json service_json(Cluster& c, const std::string& name) {
  auto r = c.cli({"service", "inspect", name, "-o", "json"});
  if (r.status.code != 0)
    return json();
  return json::parse(r.out, nullptr, false);
}

std::string update_state(const json& service) {
  const json& status = service.value("UpdateStatus", json());
  return status.is_object() ? status.value("State", "") : "";
}

// Live tasks that are Running, whichever version.
int running_count(const json& tasks) {
  int n = 0;
  for (const auto& t : live(tasks))
    n += state_of(t) == 2;
  return n;
}

// Waits until the service's rollout is in `state` and (for a finished one) every slot 1..n runs
// one task of template `version`; checks on every sample that at least `min_running` live
// tasks were Running. Returns the slots (empty on a timeout, with what was seen in *why).
std::map<int, json> watch_rollout(Cluster& c, const std::string& name, int n,
                                  const std::string& state, uint64_t version, int min_running,
                                  std::string* why, std::chrono::milliseconds timeout = 60s) {
  std::map<int, json> slots;
  int fewest = n;
  bool reached = eventually(
      [&] {
        json tasks = service_tasks(c, name);
        fewest = std::min(fewest, running_count(tasks));
        json service = service_json(c, name);
        if (update_state(service) != state)
          return false;
        slots = running_slots(c, name, n);
        if (slots.empty())
          return false;
        for (const auto& [slot, t] : slots) {
          if (t.value("ServiceVersion", uint64_t{0}) != version)
            return false;
        }
        return true;
      },
      timeout, 50ms);
  if (fewest < min_running) {
    *why = "only " + std::to_string(fewest) + " Running during the rollout";
    return {};
  }
  if (!reached) {
    *why = "not " + state + " at version " + std::to_string(version) + ":\n" +
           service_json(c, name).dump(2);
    return {};
  }
  return slots;
}

uint64_t template_version(Cluster& c, const std::string& name) {
  return service_json(c, name).value("TemplateVersion", uint64_t{0});
}

// Two exec agents and service web of `replicas` sleepers, created with `update_flags`, all
// Running; returns its template version.
uint64_t start_web(Cluster& c, int replicas, const std::vector<std::string>& update_flags) {
  start_cluster(c, {"a1", "a2"}, {}, {"--slots", "8"});
  std::vector<std::string> args = {"service",  "create",     "--name",
                                   "web",      "--replicas", std::to_string(replicas),
                                   "--driver", "exec"};
  args.insert(args.end(), update_flags.begin(), update_flags.end());
  args.insert(args.end(), {"--", "sleep", "300"});
  auto r = c.cli(args);
  EXPECT_EQ(r.status.code, 0) << r.err;
  EXPECT_TRUE(wait_running(c, "web", replicas)) << c.logs();
  return template_version(c, "web");
}

TEST(ServiceUpdates, ARollingUpdateOfTwoAtATimeKeepsReplicasMinusTwoRunningAndReplacesEveryTask) {
  Cluster c;
  GroupReaper reaper{{}, {c.dir() / "a1", c.dir() / "a2"}};
  start_web(c, 5, {"--update-monitor", "1s"});
  ASSERT_FALSE(::testing::Test::HasFailure());
  std::map<int, json> before = running_slots(c, "web", 5);

  auto update =
      c.cli({"service", "update", "web", "--update-parallelism", "2", "--", "sleep", "301"});
  ASSERT_EQ(update.status.code, 0) << update.err;
  uint64_t version = template_version(c, "web");
  EXPECT_EQ(update.out, "web: rolling out version " + std::to_string(version) + "\n");
  std::string why;
  auto after = watch_rollout(c, "web", 5, "completed", version, 5 - 2, &why);
  ASSERT_FALSE(after.empty()) << why << c.logs();
  for (const auto& [slot, t] : after) {
    EXPECT_NE(t.value("ID", ""), before[slot].value("ID", "")) << "slot " << slot << " replaced";
    EXPECT_EQ(t.value("Cmd", json()), json({"sleep", "301"}));
  }
  EXPECT_TRUE(eventually([&] { return task_processes(c, {"a1", "a2"}) == 5; }, 10s));
  auto ls = c.cli({"service", "ls"});
  EXPECT_TRUE(contains(ls.out, "update completed")) << ls.out;

  // The same definition again changes nothing; a stale expected version is refused.
  auto again = c.cli({"service", "update", "web", "--update-parallelism", "2"});
  EXPECT_EQ(again.status.code, 0) << again.err;
  EXPECT_TRUE(contains(again.out, "nothing to change")) << again.out;

  // restart: every replica replaced with the same template, in rolling steps.
  auto restart = c.cli({"service", "restart", "web"});
  ASSERT_EQ(restart.status.code, 0) << restart.err;
  uint64_t restarted = template_version(c, "web");
  EXPECT_GT(restarted, version);
  auto fresh = watch_rollout(c, "web", 5, "completed", restarted, 5 - 2, &why);
  ASSERT_FALSE(fresh.empty()) << why << c.logs();
  for (const auto& [slot, t] : fresh) {
    EXPECT_NE(t.value("ID", ""), after[slot].value("ID", "")) << "slot " << slot;
    EXPECT_EQ(t.value("Cmd", json()), json({"sleep", "301"}));
  }
}

TEST(ServiceUpdates, ANewVersionThatFailsPausesTheRolloutWithTheReasonAndRollbackRestoresIt) {
  Cluster c;
  GroupReaper reaper{{}, {c.dir() / "a1", c.dir() / "a2"}};
  uint64_t first = start_web(c, 3, {"--update-monitor", "2s"});
  ASSERT_FALSE(::testing::Test::HasFailure());

  auto update = c.cli({"service", "update", "web", "--", "sh", "-c", "exit 3"});
  ASSERT_EQ(update.status.code, 0) << update.err;
  json service;
  bool paused = eventually(
      [&] {
        service = service_json(c, "web");
        return update_state(service) == "paused";
      },
      30s, 50ms);
  ASSERT_TRUE(paused) << service.dump(2) << c.logs();
  std::string message = service["UpdateStatus"].value("Message", "");
  EXPECT_TRUE(contains(message, "web.1 failed")) << message;
  auto ls = c.cli({"service", "ls"});
  EXPECT_TRUE(contains(ls.out, "update paused: web.1 failed")) << ls.out;
  auto inspect = c.cli({"service", "inspect", "web"});
  EXPECT_TRUE(contains(inspect.out, "update paused: web.1 failed")) << inspect.out;
  // Paused: slots 2 and 3 still run the first version.
  int old_running = 0;
  for (const auto& t : live(service_tasks(c, "web")))
    old_running += state_of(t) == 2 && t.value("ServiceVersion", uint64_t{0}) == first;
  EXPECT_EQ(old_running, 2);

  auto rollback = c.cli({"service", "rollback", "web"});
  ASSERT_EQ(rollback.status.code, 0) << rollback.err;
  EXPECT_EQ(rollback.out, "web: rolling back to template version " + std::to_string(first) + "\n");
  std::string why;
  auto back = watch_rollout(c, "web", 3, "rollback_completed", first, 0, &why);
  ASSERT_FALSE(back.empty()) << why << c.logs();
  for (const auto& [slot, t] : back)
    EXPECT_EQ(t.value("Cmd", json()), json({"sleep", "300"}));

  // Bad input: each a clear error, nothing changed.
  auto unknown = c.cli({"service", "update", "nope", "--replicas", "2"});
  EXPECT_EQ(unknown.status.code, 1);
  EXPECT_TRUE(contains(unknown.err, "no service named \"nope\"")) << unknown.err;
  auto bad_order = c.cli({"service", "update", "web", "--update-order", "sideways"});
  EXPECT_EQ(bad_order.status.code, 2);
  EXPECT_TRUE(contains(bad_order.err, "UpdateConfig.Order")) << bad_order.err;
  auto renamed = c.cli({"service", "update", "web", "--name", "other"});
  EXPECT_EQ(renamed.status.code, 2);
  EXPECT_EQ(template_version(c, "web"), first);
}

TEST(ServiceUpdates, FailureActionRollbackReturnsToThePreviousVersionByItself) {
  Cluster c;
  GroupReaper reaper{{}, {c.dir() / "a1", c.dir() / "a2"}};
  uint64_t first =
      start_web(c, 2, {"--update-monitor", "2s", "--update-failure-action", "rollback"});
  ASSERT_FALSE(::testing::Test::HasFailure());
  ASSERT_EQ(c.cli({"service", "update", "web", "--", "sh", "-c", "exit 3"}).status.code, 0);
  std::string why;
  auto back = watch_rollout(c, "web", 2, "rollback_completed", first, 0, &why);
  ASSERT_FALSE(back.empty()) << why << c.logs();
  std::string message = service_json(c, "web")["UpdateStatus"].value("Message", "");
  EXPECT_TRUE(contains(message, "web.1 failed")) << message;
  EXPECT_TRUE(contains(message, "rolling back to version " + std::to_string(first))) << message;
  // No rollback without a previous template.
  auto create =
      c.cli({"service", "create", "--name", "db", "--driver", "exec", "--", "sleep", "300"});
  ASSERT_EQ(create.status.code, 0);
  auto none = c.cli({"service", "rollback", "db"});
  EXPECT_EQ(none.status.code, 1);
  EXPECT_TRUE(contains(none.err, "no previous template")) << none.err;
}

TEST(ServiceUpdates, ABrokerRestartedMidRolloutResumesIt) {
  Cluster c;
  GroupReaper reaper{{}, {c.dir() / "a1", c.dir() / "a2"}};
  start_web(c, 3, {"--update-monitor", "2s"});
  ASSERT_FALSE(::testing::Test::HasFailure());
  ASSERT_EQ(c.cli({"service", "update", "web", "--", "sleep", "302"}).status.code, 0);
  uint64_t version = template_version(c, "web");
  // Slot 1 runs the new version while the rollout goes on: kill the broker there.
  bool midway = eventually(
      [&] {
        int updated = 0;
        for (const auto& t : live(service_tasks(c, "web")))
          updated += state_of(t) == 2 && t.value("ServiceVersion", uint64_t{0}) == version;
        return updated >= 1 && update_state(service_json(c, "web")) == "updating";
      },
      30s, 50ms);
  ASSERT_TRUE(midway) << service_tasks(c, "web").dump(2) << c.logs();
  int port = c.port();
  c.stop_broker(SIGKILL);
  c.start_broker({}, port);
  std::string why;
  auto after = watch_rollout(c, "web", 3, "completed", version, 0, &why);
  ASSERT_FALSE(after.empty()) << why << c.logs();
  EXPECT_TRUE(eventually([&] { return task_processes(c, {"a1", "a2"}) == 3; }, 10s));
}

// The etcd store keeps services under their own keys, with the leader's write guard.
using EtcdServicesTest = OneEtcdTest;

TEST_F(EtcdServicesTest, ServicesComeBackFromANewInstanceAndAFencedWriteChangesNothing) {
  broker::EtcdStoreOptions options;
  options.client.endpoints = etcd_.endpoints();
  options.prefix = "/svc";
  auto store = broker::EtcdStore::open(options);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  Service web;
  web.name = "web";
  web.replicas = 3;
  web.version = 1;
  web.task_template.driver = "exec";
  web.task_template.cmd = {"sleep", "60"};
  Service db = web;
  db.name = "db";
  ASSERT_TRUE((*store)->commit_services(std::vector<Service>{web, db}, {}).is_ok());
  ASSERT_TRUE((*store)->commit_services({}, std::vector<std::string>{"db"}).is_ok());

  auto reopened = broker::EtcdStore::open(options);
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().to_string();
  auto loaded = (*reopened)->load_services();
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(*loaded, std::vector<Service>{web});
  EXPECT_TRUE((*reopened)->load_all()->empty()) << "services are not tasks";

  // A guard that no longer holds (another leader): Conflict, and nothing written.
  (*reopened)->set_write_guard({broker::EtcdCompare::create_revision_is("/svc/leader", 12345)});
  Service changed = web;
  changed.replicas = 9;
  Status fenced = (*reopened)->commit_services(std::vector<Service>{changed}, {});
  EXPECT_EQ(fenced.code(), ErrorCode::Conflict) << fenced.to_string();
  EXPECT_EQ(*(*store)->load_services(), std::vector<Service>{web});
}

// A standby that takes over (from its warm copy of the tasks) reads the services from etcd and
// reconciles them without making any task twice.
TEST_F(EtcdServicesTest, ANewLeaderKeepsTheServicesAndTheirTasks) {
  std::vector<std::string> args = {"--store", etcd_.store_spec("/svc-ha"), "--leader-ttl", "2s"};
  auto role_of = [](const Cluster& c) {
    auto status = client_for(c).status();
    return status.is_ok() ? status->role : std::string();
  };
  Cluster a, b;
  ASSERT_NO_FATAL_FAILURE(a.start_broker(args));
  ASSERT_TRUE(eventually([&] { return role_of(a) == "leader"; }, 15s, 100ms)) << a.logs();
  ASSERT_NO_FATAL_FAILURE(b.start_broker(args));
  ASSERT_TRUE(eventually([&] { return role_of(b) == "standby"; }, 15s, 100ms)) << b.logs();

  // No agents: the replicas stay Pending, which is enough to count them.
  auto created = a.cli({"service", "create", "--name", "web", "--replicas", "3", "--driver", "exec",
                        "--", "sleep", "300"});
  ASSERT_EQ(created.status.code, 0) << created.err << a.logs();
  ASSERT_EQ(a.cli({"service", "scale", "web=2"}).status.code, 0);
  std::set<std::string> before;
  for (const auto& t : live(service_tasks(a, "web")))
    before.insert(t.value("ID", ""));
  ASSERT_EQ(before.size(), 2u) << service_tasks(a, "web").dump(2);

  a.stop_broker(SIGKILL);
  ASSERT_TRUE(eventually([&] { return role_of(b) == "leader"; }, 20s, 100ms)) << b.logs();
  json ls;
  ASSERT_TRUE(eventually(
      [&] {
        ls = json::parse(b.cli({"service", "ls", "-o", "json"}).out, nullptr, false);
        return ls.is_array() && ls.size() == 1;
      },
      10s, 100ms))
      << b.logs();
  EXPECT_EQ(ls[0].value("Name", ""), "web");
  EXPECT_EQ(ls[0].value("Replicas", 0), 2);
  EXPECT_EQ(ls[0].value("Version", 0), 2) << "created, then scaled once";
  std::set<std::string> after;
  for (const auto& t : live(service_tasks(b, "web")))
    after.insert(t.value("ID", ""));
  EXPECT_EQ(after, before) << service_tasks(b, "web").dump(2);
  EXPECT_EQ(service_tasks(b, "web").size(), 3u) << "the two kept and the one scaled away";
}

}  // namespace
}  // namespace cube::test
