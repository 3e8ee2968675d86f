// Many tasks in one submission, end to end: `cube-client submit -f` with a file of tasks (one per
// line, and a JSON array) against a real cube-broker and exec agent. The valid tasks run; the
// invalid one is reported with its reason, in its place, and stored nowhere. And a broker
// SIGKILLed while batches stream in: every acknowledged task is stored, a batch whose reply never
// came is stored whole or not at all, and sending it again stores none twice.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "tests/integration/cluster.h"

namespace cube::test {
namespace {

using ::testing::HasSubstr;

// Three exec tasks that exit 0 and, third of four, one without the command an exec task needs.
std::vector<std::string> task_lines(const std::string& prefix) {
  std::vector<std::string> lines;
  for (int i = 0; i < 4; ++i) {
    std::string name = prefix + (i == 2 ? "-bad" : "-ok" + std::to_string(i));
    std::string cmd = i == 2 ? "" : R"(, "Cmd": ["sh", "-c", "exit 0"])";
    lines.push_back(R"({"Name": ")" + name + R"(", "Driver": "exec")" + cmd + "}");
  }
  return lines;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

// Submits `file`, expects the three good tasks' IDs in order and the bad one's error at
// `bad_place` (its index or line), and waits until each good task completed with exit code 0.
void submit_and_run(Cluster& c, const std::string& file, const std::string& prefix,
                    const std::string& bad_place) {
  auto r = c.cli({"submit", "-f", file});
  EXPECT_EQ(r.status.code, 1) << "one task was refused: exit 1\n" << r.out << r.err;
  EXPECT_EQ(r.err, "ERROR " + bad_place + " (" + prefix +
                       "-bad): invalid: field \"Cmd\": required for the exec driver (the command "
                       "to run)\n");
  std::vector<std::string> ids = split_lines(r.out);
  EXPECT_EQ(ids.size(), 3u) << r.out;
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(c.wait_task(
        ids[i], [](const auto& t) { return state_of(t) == 3; }, 20s))
        << ids[i] << "\n"
        << c.logs();
    auto t = c.get(ids[i]);
    EXPECT_EQ(t.value("Name", ""), prefix + "-ok" + std::to_string(i == 2 ? 3 : i)) << t.dump();
    EXPECT_EQ(t.value("ExitCode", -1), 0) << t.dump();
    EXPECT_EQ(t.value("Node", ""), "a1") << t.dump();
  }
}

TEST(SubmitBatch, CubeClientSubmitsAFileOfTasksAndReportsTheInvalidOneInItsPlace) {
  Cluster c;
  c.start_broker();
  c.start_agent("a1", {"--slots", "4"});

  std::string ndjson = (c.dir() / "tasks.ndjson").string();
  {
    std::ofstream out(ndjson);
    for (const auto& line : task_lines("lines"))
      out << line << "\n\n";  // blank lines between tasks are skipped
  }
  submit_and_run(c, ndjson, "lines", "line 5");  // its third task, after two blank lines

  std::string array = (c.dir() / "tasks.json").string();
  {
    std::ofstream out(array);
    std::vector<std::string> lines = task_lines("array");
    out << "[\n";
    for (size_t i = 0; i < lines.size(); ++i)
      out << "  " << lines[i] << (i + 1 < lines.size() ? ",\n" : "\n");
    out << "]\n";
  }
  submit_and_run(c, array, "array", "task #2");

  // Six tasks ran; the two refused ones were stored nowhere.
  auto tasks = c.list();
  ASSERT_TRUE(tasks.is_array());
  EXPECT_EQ(tasks.size(), 6u) << tasks.dump();
  for (const auto& t : tasks)
    EXPECT_FALSE(contains(t.value("Name", ""), "-bad")) << t.dump();
  auto status = c.cli({"status", "-o", "json"});
  ASSERT_EQ(status.status.code, 0) << status.err;
  auto counters = nlohmann::json::parse(status.out)["Counters"];
  EXPECT_EQ(counters.value("client.submit_batches", 0), 2) << status.out;
  EXPECT_EQ(counters.value("client.submit_batch_refused", 0), 2) << status.out;
  EXPECT_EQ(counters.value("client.submits", 0), 6) << status.out;
}

// `count` exec tasks named <prefix>-<i>, each with its ID chosen before the first send (as a
// client that retries must).
std::vector<Task> batch_of(const std::string& prefix, size_t count) {
  std::vector<Task> tasks;
  SystemClock clock;
  for (size_t i = 0; i < count; ++i) {
    tasks.push_back(exec_task(prefix + "-" + std::to_string(i), {"sh", "-c", "exit 0"}));
    choose_task_id(tasks.back(), clock.wall());
  }
  return tasks;
}

TEST(SubmitBatch, ABrokerKilledMidStreamKeepsEveryAcknowledgedTaskAndEachBatchWhole) {
  constexpr size_t kBatch = 200;
  constexpr size_t kBatchesBeforeKill = 5;  // acknowledged before the kill lands
  Cluster c;
  // No agent: the tasks stay Pending, so what is stored is exactly what was submitted.
  c.start_broker({"--store", "sqlite:" + (c.dir() / "cube.db").string() + "?sync=full"});

  std::vector<std::vector<Task>> sent;  // every batch the submitter sent, in order
  std::set<std::string> acknowledged;
  std::atomic<size_t> batches_acknowledged{0};
  std::atomic<bool> broker_gone{false};
  std::thread submitter([&] {
    Client client = client_for(c, Millis(2000));
    for (size_t n = 0; !broker_gone; ++n) {
      sent.push_back(batch_of("b" + std::to_string(n), kBatch));
      auto outcomes = client.submit_many(sent.back());
      if (!outcomes.is_ok())
        return;  // the broker died under this batch: its reply never came
      for (const auto& outcome : *outcomes) {
        EXPECT_TRUE(outcome.status().is_ok()) << outcome.error_message;
        acknowledged.insert(outcome.task_id);
      }
      ++batches_acknowledged;
    }
  });
  ASSERT_TRUE(eventually([&] { return batches_acknowledged >= kBatchesBeforeKill; }, 30s))
      << c.logs();
  c.stop_broker(SIGKILL);  // lands while a batch is on its way or being committed
  broker_gone = true;
  submitter.join();
  ASSERT_GE(acknowledged.size(), kBatchesBeforeKill * kBatch);

  c.start_broker({"--store", "sqlite:" + (c.dir() / "cube.db").string() + "?sync=full"}, c.port());
  auto stored_ids = [&] {
    std::set<std::string> ids;
    for (const auto& t : c.list())
      ids.insert(t.value("ID", ""));
    return ids;
  };
  std::set<std::string> stored = stored_ids();
  for (const auto& id : acknowledged)
    EXPECT_TRUE(stored.contains(id)) << "acknowledged task " << id << " was lost";
  // Each batch is all or nothing: the acknowledged ones whole, the last one (cut by the kill)
  // either whole or absent.
  for (const auto& batch : sent) {
    size_t present = 0;
    for (const auto& task : batch)
      present += stored.contains(task.id);
    EXPECT_TRUE(present == 0 || present == batch.size())
        << present << " of " << batch.size() << " tasks of one batch were stored";
  }
  bool cut_batch_stored = stored.contains(sent.back().front().id);
  // Sending the unanswered batch again, with the same IDs, stores each of its tasks once.
  Client client = client_for(c, Millis(5000));
  auto again = client.submit_many(sent.back());
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  size_t total = 0;
  for (const auto& batch : sent)
    total += batch.size();
  stored = stored_ids();
  EXPECT_EQ(stored.size(), total) << "every task sent is stored exactly once";
  std::printf(
      "[ figures ] %zu batches of %zu sent, %zu tasks acknowledged before the kill; the "
      "unanswered batch was stored: %s\n",
      sent.size(), kBatch, acknowledged.size(), cut_batch_stored ? "yes (reply lost)" : "no");
}

}  // namespace
}  // namespace cube::test
