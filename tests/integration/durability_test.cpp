// Durability and failure handling with real processes and real signals: a broker SIGKILLed in
// the middle of a stream of submits loses nothing it acknowledged; an agent SIGKILLed (or frozen
// and thawed) has its tasks re-placed on another node, and the stale copy is stopped when it
// returns; restart policies with backoff. Figures are printed for the report.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "client/client.h"
#include "common/clock.h"
#include "common/ids.h"
#include "protocol/latency_histogram.h"
#include "tests/integration/cluster.h"

namespace cube::test {
namespace {

Millis since(SteadyTime start) {
  return std::chrono::duration_cast<Millis>(system_clock().now() - start);
}

// (a) K client threads stream submits; the broker is SIGKILLed mid-stream and restarted on the
// same store: every submit that was acknowledged is there (lost must be 0), and submitting an
// acknowledged ID again is idempotent.
TEST(Durability, BrokerKilledMidStreamLosesNoAcknowledgedSubmit) {
  Cluster c;
  c.start_broker();
  int port = c.port();
  constexpr int kThreads = 4;
  constexpr size_t kKillAfter = 400;  // acknowledged submits before the kill
  KilledStream stream = submit_stream_and_kill_broker(c, kThreads, kKillAfter);
  ASSERT_TRUE(stream.reached_kill_point) << c.logs();
  const std::vector<std::string>& acknowledged = stream.acknowledged;

  c.start_broker({}, port);
  Client client = client_for(c, Millis(5000), 3);
  auto listed = check_listed(client, acknowledged);
  ASSERT_TRUE(listed.is_ok()) << listed.status().to_string();
  size_t lost = listed->missing;
  std::printf(
      "[durability] acknowledged %zu submits from %d threads before kill -9; %zu present "
      "after restart (%zu stored in all, %d in flight at the kill); lost %zu\n",
      acknowledged.size(), kThreads, acknowledged.size() - lost, listed->listed,
      stream.failed_after_kill, lost);
  EXPECT_EQ(lost, 0u);
  EXPECT_GE(listed->listed, acknowledged.size());

  // Idempotent across the restart: the same IDs come back as stored, nothing is added.
  for (size_t i = 0; i < 10 && i < acknowledged.size(); ++i) {
    Task again = exec_task("again", {"true"});
    again.id = acknowledged[i];
    auto stored = client.submit(again);
    ASSERT_TRUE(stored.is_ok()) << stored.status().to_string();
    EXPECT_EQ(stored->id, acknowledged[i]);
    EXPECT_NE(stored->name, "again");  // the stored task, not the resubmitted one
  }
  auto after = client.list();
  ASSERT_TRUE(after.is_ok());
  EXPECT_EQ(after->size(), listed->listed);
  // The history came back too.
  auto details = client.get(acknowledged.front());
  ASSERT_TRUE(details.is_ok());
  ASSERT_FALSE(details->events.empty());
  EXPECT_EQ(details->events.front().state, TaskState::Pending);
}

// (b) Node loss: a task with RestartPolicy always runs on agent a; a is SIGKILLed; with the
// default 5 s grace the task must run on b within 8 s of the kill.
TEST(Durability, KilledAgentsTaskIsReplacedOnAnotherNodeWithinEightSeconds) {
  Cluster c;
  c.start_broker();
  c.start_agent("a");
  GroupReaper reaper;
  std::string id = c.submit({"--name", "survivor", "--driver", "exec", "--restart", "always", "--",
                             "sh", "-c", "echo $$ > pid; exec sleep 300"});
  ASSERT_TRUE(c.wait_task(
      id, [](const auto& t) { return state_of(t) == 2; }, 15s))
      << c.logs();
  ASSERT_EQ(c.get(id).value("Node", ""), "a");
  std::string pid_a = (c.dir() / "a" / "tasks" / id / "work" / "pid").string();
  ASSERT_TRUE(eventually([&] { return read_pid_file(pid_a) > 0; }, 5s));
  reaper.groups.insert(read_pid_file(pid_a));
  c.start_agent("b");

  int64_t killed_ms = to_unix_ms(system_clock().wall());
  c.agent("a").signal(SIGKILL);
  ASSERT_TRUE(c.agent("a").wait(5s).has_value());
  bool ok = c.wait_task(
      id, [](const auto& t) { return state_of(t) == 2 && t.value("Node", "") == "b"; }, 20s);
  std::string pid_b = (c.dir() / "b" / "tasks" / id / "work" / "pid").string();
  if (read_pid_file(pid_b) > 0)
    reaper.groups.insert(read_pid_file(pid_b));
  ASSERT_TRUE(ok) << c.get(id).dump() << c.logs();

  // The broker's own timestamps: when it declared the loss, placed the task on b, and b
  // reported it running.
  Client client = client_for(c, Millis(5000), 3);
  auto details = client.get(id);
  ASSERT_TRUE(details.is_ok());
  int64_t detected = -1, placed = -1, running = -1;
  for (const auto& e : details->events) {
    if (e.state == TaskState::Failed && e.reason == "node lost" && detected < 0)
      detected = e.timestamp_ms - killed_ms;
    if (e.state == TaskState::Scheduled && e.node == "b")
      placed = e.timestamp_ms - killed_ms;
    if (e.state == TaskState::Running && e.node == "b")
      running = e.timestamp_ms - killed_ms;
  }
  std::printf(
      "[durability] node loss (grace 5s, heartbeat 1s): after kill -9 of the agent, "
      "declared lost at +%lld ms, placed on another node at +%lld ms, running there at "
      "+%lld ms\n",
      static_cast<long long>(detected), static_cast<long long>(placed),
      static_cast<long long>(running));
  EXPECT_GE(detected, 4000) << "lost before the grace ran out";
  EXPECT_GE(placed, detected);
  EXPECT_GT(running, 0);
  EXPECT_LT(running, 8000);

  auto t = c.get(id);
  EXPECT_EQ(t.value("RestartCount", -1), 0) << "a node loss is not a restart";
  // The history shows the loss and the move.
  auto history = c.cli({"get", id});
  EXPECT_NE(history.out.find("node lost"), std::string::npos) << history.out;
  bool lost = false;
  for (const auto& n : c.nodes())
    lost |= n.value("Name", "") == "a" && n.value("State", "") == "lost";
  EXPECT_TRUE(lost) << c.nodes().dump();
  auto status = c.cli({"status", "-o", "json"});
  EXPECT_NE(status.out.find("agents.lost"), std::string::npos) << status.out;
}

// (b') The lost agent comes back still running its copy (it was frozen, not killed): the broker
// stops that copy, the task keeps running where it was moved.
TEST(Durability, AReturningAgentsMovedCopyIsStopped) {
  Cluster c;
  c.start_broker({"--node-grace", "2s"});
  c.start_agent("a");
  GroupReaper reaper;
  std::string id = c.submit({"--name", "moved", "--driver", "exec", "--restart", "on-failure", "--",
                             "sh", "-c", "echo $$ > pid; exec sleep 300"});
  ASSERT_TRUE(c.wait_task(
      id, [](const auto& t) { return state_of(t) == 2; }, 15s))
      << c.logs();
  std::string pid_a = (c.dir() / "a" / "tasks" / id / "work" / "pid").string();
  ASSERT_TRUE(eventually([&] { return read_pid_file(pid_a) > 0; }, 5s));
  pid_t copy_a = read_pid_file(pid_a);
  reaper.groups.insert(copy_a);
  c.start_agent("b");

  c.agent("a").signal(SIGSTOP);
  bool moved = c.wait_task(
      id, [](const auto& t) { return state_of(t) == 2 && t.value("Node", "") == "b"; }, 15s);
  std::string pid_b = (c.dir() / "b" / "tasks" / id / "work" / "pid").string();
  eventually([&] { return read_pid_file(pid_b) > 0; }, 5s);
  if (read_pid_file(pid_b) > 0)
    reaper.groups.insert(read_pid_file(pid_b));
  // Checked before a thaws: once it runs again it may be told to stop its copy at once.
  bool copy_ran_while_frozen = ::kill(-copy_a, 0) == 0;
  c.agent("a").signal(SIGCONT);
  ASSERT_TRUE(moved) << c.get(id).dump() << c.logs();
  ASSERT_TRUE(copy_ran_while_frozen) << "a's copy should still be running while a is frozen";

  // a notices it has no session, says HELLO with its copy, and is told to stop it.
  bool stopped = eventually([&] { return ::kill(-copy_a, 0) != 0 && errno == ESRCH; }, 30s, 100ms);
  EXPECT_TRUE(stopped) << "the moved copy on a is still running\n" << c.logs();
  bool a_ready = false;
  for (const auto& n : c.nodes())
    a_ready |= n.value("Name", "") == "a" && n.value("State", "") == "ready";
  EXPECT_TRUE(a_ready) << c.nodes().dump();
  auto t = c.get(id);
  EXPECT_EQ(state_of(t), 2) << t.dump();
  EXPECT_EQ(t.value("Node", ""), "b") << t.dump();
  EXPECT_GT(read_pid_file(pid_b), 0);
  EXPECT_EQ(::kill(-read_pid_file(pid_b), 0), 0) << "the copy on b must keep running";
}

// (c) on-failure: `exit 1` is restarted with backoff (1 s, 2 s, 4 s nominal) until RestartCount
// is 3, then the task is Failed with the reason.
TEST(Durability, OnFailureRestartsThreeTimesThenGivesUp) {
  Cluster c;
  c.start_broker();
  c.start_agent("a");
  SteadyTime start = system_clock().now();
  std::string id = c.submit({"--name", "crasher", "--driver", "exec", "--restart", "on-failure",
                             "--", "sh", "-c", "exit 1"});
  bool done = c.wait_task(
      id, [](const auto& t) { return state_of(t) == 4 && t.value("RestartCount", 0) == 3; }, 30s);
  Millis took = since(start);
  auto t = c.get(id);
  ASSERT_TRUE(done) << t.dump() << c.logs();
  EXPECT_EQ(t.value("Reason", ""), "restarted 3 times; giving up: exit code 1") << t.dump();
  EXPECT_EQ(t.value("ExitCode", -1), 1);
  std::printf(
      "[durability] on-failure: 4 attempts and 3 restarts took %lld ms (nominal backoff "
      "7 s, jitter shortens it by up to 20%%)\n",
      static_cast<long long>(took.count()));
  // 1 + 2 + 4 s nominal, each shortened by at most 20%: at least 5.6 s.
  EXPECT_GE(took, 5600ms);

  Client client = client_for(c, Millis(5000), 3);
  auto details = client.get(id);
  ASSERT_TRUE(details.is_ok());
  int failures = 0;
  int restarts = 0;
  for (const auto& e : details->events) {
    failures += e.state == TaskState::Failed;
    restarts += e.reason.find("; restart ") != std::string::npos;
  }
  EXPECT_EQ(failures, 4);
  EXPECT_EQ(restarts, 3);
  // It stays given up.
  auto again = c.get(id);
  EXPECT_EQ(state_of(again), 4);
  EXPECT_EQ(again.value("RestartCount", -1), 3);
}

// A restarted broker reconciles: a task its agent still runs stays Running; a task the store
// says was Running on an agent that never comes back fails "node lost" after the grace and is
// rescheduled where its policy allows.
TEST(Durability, RestartedBrokerKeepsRunningTasksAndReschedulesOrphans) {
  Cluster c;
  const std::vector<std::string> flags = {"--node-grace", "2s"};
  c.start_broker(flags);
  int port = c.port();
  GroupReaper reaper;
  auto remember_groups = [&] {
    for (const auto& t : c.list()) {
      std::string node = t.value("Node", "");
      std::string pid_file = (c.dir() / node / "tasks" / t.value("ID", "") / "work" / "pid");
      if (!node.empty() && read_pid_file(pid_file) > 0)
        reaper.groups.insert(read_pid_file(pid_file));
    }
  };
  const std::vector<std::string> sleeper = {"--driver", "exec", "--",
                                            "sh",       "-c",   "echo $$ > pid; exec sleep 300"};
  auto submit = [&](const std::string& name, const std::string& restart) {
    std::vector<std::string> args = {"--name", name, "--restart", restart};
    args.insert(args.end(), sleeper.begin(), sleeper.end());
    std::string id = c.submit(args);
    EXPECT_TRUE(c.wait_task(
        id, [](const auto& t) { return state_of(t) == 2; }, 15s))
        << c.logs();
    return id;
  };
  // "stays" is filled by kept and filler, so the orphan has to go to "goes".
  c.start_agent("stays", {"--slots", "2"});
  std::string kept = submit("kept", "no");
  std::string filler = submit("filler", "no");
  c.start_agent("goes", {"--slots", "2"});
  std::string orphan = submit("orphan", "always");
  remember_groups();
  ASSERT_EQ(c.get(kept).value("Node", ""), "stays");
  ASSERT_EQ(c.get(orphan).value("Node", ""), "goes");
  // Make room on "stays" for the orphan.
  ASSERT_EQ(c.cli({"stop", filler}).status.code, 0);
  ASSERT_TRUE(c.wait_task(
      filler, [](const auto& t) { return state_of(t) == 3; }, 20s));

  c.stop_broker(SIGKILL);
  c.agent("goes").signal(SIGKILL);
  ASSERT_TRUE(c.agent("goes").wait(5s).has_value());
  c.start_broker(flags, port);

  bool rescheduled = c.wait_task(
      orphan, [](const auto& t) { return state_of(t) == 2 && t.value("Node", "") == "stays"; },
      30s);
  remember_groups();
  EXPECT_TRUE(rescheduled) << c.get(orphan).dump() << c.logs();
  auto history = c.cli({"get", orphan});
  EXPECT_NE(history.out.find("node lost"), std::string::npos) << history.out;
  EXPECT_EQ(c.get(orphan).value("Attempt", -1), 2);
  auto k = c.get(kept);
  EXPECT_EQ(state_of(k), 2) << k.dump();
  EXPECT_EQ(k.value("Node", ""), "stays");
  EXPECT_EQ(k.value("Attempt", -1), 1) << "the kept task was not restarted";
  EXPECT_EQ(state_of(c.get(filler)), 3);
}

// Submit throughput by store: N submits through cube::Client from K threads (one request in
// flight per thread), no agents, so each submit is one task row and one history row. The broker
// group-commits each poll iteration; its commit-latency histogram (STATUS) tells how much of the
// loop's time went into commits. Figures are printed; the assertion is that nothing was lost.
TEST(Durability, SubmitThroughputSqliteVsMemory) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  for (const std::string store : {"memory", "sqlite", "sqlite?sync=full"}) {
    Cluster c;
    c.start_broker({"--store", store});
    std::atomic<int> acknowledged{0};
    std::vector<std::thread> threads;
    SteadyTime start = system_clock().now();
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        Client client = client_for(c, Millis(5000), 3);
        for (int n = 0; n < kPerThread; ++n) {
          Task t = exec_task("tp-" + std::to_string(i) + "-" + std::to_string(n), {"true"});
          t.id = new_uuid_v7(system_clock().wall());
          if (client.submit(t).is_ok())
            ++acknowledged;
        }
      });
    }
    for (auto& t : threads)
      t.join();
    Millis took = since(start);
    Client client = client_for(c, Millis(5000), 3);
    auto status = client.status();
    ASSERT_TRUE(status.is_ok());
    auto list = client.list();
    ASSERT_TRUE(list.is_ok());
    EXPECT_EQ(acknowledged.load(), kThreads * kPerThread) << store;
    EXPECT_EQ(list->size(), static_cast<size_t>(kThreads * kPerThread)) << store;
    auto commits =
        protocol::LatencyHistogram::import_from(protocol::kStoreCommitLatency, status->counters);
    uint64_t count = commits ? commits->count() : 0;
    double sum_ms = commits ? static_cast<double>(commits->sum_us()) / 1000.0 : 0;
    std::printf(
        "[durability] store %-16s %5d submits from %d threads in %6lld ms: %7.0f "
        "submits/s; %llu commits (%.1f submits each), mean commit %.3f ms, %.0f%% of the "
        "wall time in commits\n",
        store.c_str(), acknowledged.load(), kThreads, static_cast<long long>(took.count()),
        acknowledged.load() * 1000.0 / static_cast<double>(std::max<int64_t>(took.count(), 1)),
        static_cast<unsigned long long>(count),
        count ? static_cast<double>(acknowledged.load()) / static_cast<double>(count) : 0.0,
        count ? sum_ms / static_cast<double>(count) : 0.0,
        100.0 * sum_ms / static_cast<double>(std::max<int64_t>(took.count(), 1)));
  }
}

}  // namespace
}  // namespace cube::test
