// Table alignment and the list/nodes views built on it.
#include "client/table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "client/views.h"
#include "protocol/latency_histogram.h"

namespace cube {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

// Byte offset where `word` starts in `line`, or npos.
size_t column_of(const std::string& line, const std::string& word) {
  return line.find(word);
}

TEST(Table, AlignsEveryColumnOnItsWidestCell) {
  Table table({"ID", "NAME", "STATE"});
  table.add_row({"1", "a-very-long-name", "Running"});
  table.add_row({"22222", "b", "Pending"});

  EXPECT_EQ(table.render(),
            "ID      NAME               STATE\n"
            "1       a-very-long-name   Running\n"
            "22222   b                  Pending\n");
}

TEST(Table, NoTrailingBlanksAndShortRowsArePadded) {
  Table table({"A", "B", "C"});
  table.add_row({"x"});
  table.add_row({"y", "z", "", "dropped"});

  std::string out = table.render();
  for (const auto& line : lines_of(out))
    EXPECT_FALSE(!line.empty() && line.back() == ' ') << "[" << line << "]";
  EXPECT_EQ(out, "A   B   C\nx\ny   z\n");
  EXPECT_EQ(table.row_count(), 2u);
}

TEST(Table, CountsUtf8CodePointsNotBytes) {
  Table table({"NAME", "STATE"});
  table.add_row({"café", "Running"});
  table.add_row({"cafe", "Failed"});

  auto lines = lines_of(table.render());
  ASSERT_EQ(lines.size(), 3u);
  // "café" is 5 bytes but 4 columns wide: both STATE cells start at display column 7.
  EXPECT_EQ(lines[1], "café   Running");
  EXPECT_EQ(lines[2], "cafe   Failed");
  EXPECT_EQ(display_width("café"), 4u);
}

TEST(Shorten, CutsWithAnEllipsisAndNeverSplitsACodePoint) {
  EXPECT_EQ(shorten("short", 10), "short");
  EXPECT_EQ(shorten("no node has 2 GiB free memory", 14), "no node has...");
  EXPECT_EQ(shorten("ééééééé", 5), "éé...");
  EXPECT_EQ(shorten("abcdef", 2), "..");
}

Task task(const std::string& id, const std::string& name, TaskState state,
          const std::string& reason = "") {
  Task t;
  t.id = id;
  t.name = name;
  t.state = state;
  t.reason = reason;
  t.node = state == TaskState::Running ? "node-1" : "";
  t.created_ms = 1'000'000;
  return t;
}

TEST(TaskTable, ColumnsLineUpAndReasonsShowForPendingAndFailed) {
  std::string long_reason(80, 'r');
  std::vector<Task> tasks = {
      task("id-1", "web", TaskState::Running, "restarted"),
      task("id-22", "database", TaskState::Pending, "no node has 2 GiB free memory"),
      task("id-333", "job", TaskState::Failed, long_reason),
  };
  SystemTime now = from_unix_ms(1'000'000 + 90'000);

  auto lines = lines_of(render_task_table(tasks, now, /*wide=*/false));

  ASSERT_EQ(lines.size(), 4u);
  for (const char* header : {"NAME", "STATE", "NODE", "AGE", "REASON"}) {
    size_t col = column_of(lines[0], header);
    ASSERT_NE(col, std::string::npos) << header;
    for (size_t i = 1; i < lines.size(); ++i) {
      if (std::string(header) == "REASON" && i == 1) {
        EXPECT_LE(lines[i].size(), col) << "a Running task shows no reason";
        continue;
      }
      // Every cell starts exactly under its header, after a blank.
      ASSERT_GT(lines[i].size(), col) << header << " row " << i;
      EXPECT_NE(lines[i][col], ' ') << header << " row " << i << ": " << lines[i];
      EXPECT_EQ(lines[i][col - 1], ' ') << header << " row " << i;
    }
  }
  EXPECT_THAT(lines[1], HasSubstr("web"));
  EXPECT_THAT(lines[1], ::testing::Not(HasSubstr("restarted")));  // Running: no reason
  EXPECT_THAT(lines[1], HasSubstr("90s"));
  EXPECT_THAT(lines[2], HasSubstr("no node has 2 GiB free memory"));
  EXPECT_THAT(lines[3], HasSubstr("rrr..."));
  EXPECT_THAT(lines[3], ::testing::Not(HasSubstr(long_reason)));
  EXPECT_THAT(lines[2], HasSubstr("   -   "));  // no node yet
}

TEST(TaskTable, NoReasonColumnWhenNothingIsStuck) {
  std::vector<Task> tasks = {task("id-1", "web", TaskState::Running, "")};
  std::string out = render_task_table(tasks, from_unix_ms(1'000'000), false);
  EXPECT_THAT(out, ::testing::Not(HasSubstr("REASON")));
  EXPECT_EQ(lines_of(out)[0], "ID     NAME   STATE     NODE     AGE");
}

TEST(TaskTable, WideShowsResourcesPortsAndFullReasons) {
  Task t = task("id-1", "web", TaskState::Failed, std::string(60, 'x'));
  t.image = "nginx:1.25";
  t.cpu = 0.5;
  t.memory_bytes = 512ll << 20;
  t.exposed_ports = {"80/tcp"};
  t.port_bindings["80/tcp"] = {PortBinding{"", "32768"}};
  std::string out = render_task_table({t}, from_unix_ms(1'000'000), /*wide=*/true);
  EXPECT_THAT(out, HasSubstr("nginx:1.25"));
  EXPECT_THAT(out, HasSubstr("docker"));
  EXPECT_THAT(out, HasSubstr("0.5"));
  EXPECT_THAT(out, HasSubstr("512 MiB"));
  EXPECT_THAT(out, HasSubstr("80/tcp -> 0.0.0.0:32768"));
  EXPECT_THAT(out, HasSubstr(std::string(60, 'x')));
}

TEST(NodeTable, ShowsShortIdTasksAndDashesBeforeTheFirstStats) {
  protocol::NodeInfo n;
  n.id = "5b0c7e2a-1111-4000-8000-000000000001";
  n.name = "node-1";
  n.state = "ready";
  n.capacity = {1.5, 3ll << 30, 0, 8};
  n.running = 3;
  n.last_seen_ms = 1'000'000;

  auto lines = lines_of(render_node_table({n}, from_unix_ms(1'002'000), false));

  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "NAME     ID         STATE   TASKS   CPU   MEMORY   DISK   LOAD   LABELS   LAST SEEN");
  EXPECT_EQ(lines[1],
            "node-1   5b0c7e2a   ready   3/8     -     -        -      -      -        2s ago");
}

TEST(NodeTable, ShowsLiveUsageAsUsedOverTotalWithHumanSizes) {
  protocol::NodeInfo n;
  n.id = "5b0c7e2a-1111-4000-8000-000000000001";
  n.name = "node-1";
  n.state = "ready";
  n.capacity = {2, 1ll << 30, 0, 4};
  n.labels = {{"zone", "eu"}, {"disk", "ssd"}};
  n.running = 1;
  n.last_seen_ms = 1'000'000;
  protocol::NodeUsage u;
  u.cpu_used = 0.347;
  u.cpu_total = 4;
  u.memory_used_bytes = 1536ll << 20;
  u.memory_total_bytes = 16ll << 30;
  u.disk_used_bytes = 40ll << 30;
  u.disk_total_bytes = 100ll << 30;
  u.load_1 = 1.5;
  u.load_5 = 0.75;
  u.load_15 = 0.1;
  n.usage = u;

  auto lines = lines_of(render_node_table({n}, from_unix_ms(1'002'000), false));

  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1],
            "node-1   5b0c7e2a   ready   1/4     0.35/4   1.5 GiB/16 GiB   40 GiB/100 GiB   "
            "1.5 0.75 0.1   disk=ssd,zone=eu   2s ago");
}

TEST(NodeTable, WideAddsCapacityAndAllocation) {
  protocol::NodeInfo n;
  n.id = "5b0c7e2a-1111-4000-8000-000000000001";
  n.name = "node-1";
  n.drivers = {"exec"};
  n.capacity = {2, 1ll << 30, 0, 4};
  n.allocated = {0.5, 600ll << 20, 0, 1};
  n.version = "0.1.0";

  std::string out = render_node_table({n}, from_unix_ms(1'002'000), true);

  EXPECT_THAT(out, HasSubstr("CAPACITY"));
  EXPECT_THAT(out, HasSubstr("ALLOCATED"));
  EXPECT_THAT(out, HasSubstr("5b0c7e2a-1111-4000-8000-000000000001"));
  EXPECT_THAT(out, HasSubstr("2 CPU, 1 GiB, -"));  // disk 0: not declared
  EXPECT_THAT(out, HasSubstr("0.5 CPU, 600 MiB, -"));
}

TEST(Views, FormatsLoadAndResources) {
  EXPECT_EQ(format_load(0.5, 1.0, 10.126), "0.5 1 10.13");
  EXPECT_EQ(format_resources(1.5, 3ll << 30, 0), "1.5 CPU, 3 GiB, -");
  EXPECT_EQ(format_resources(0, 0, 0), "-, -, -");
}

TEST(Views, TaskDetailsShowTheLatestUsageWhenKnown) {
  TaskDetails d;
  d.task = task("id-1", "web", TaskState::Running, "");
  EXPECT_THAT(render_task_details(d, from_unix_ms(1'010'000)), ::testing::Not(HasSubstr("Usage:")));
  d.stats = protocol::TaskStats{"id-1", 1, 1'007'000, 0.254, 48ll << 20};
  EXPECT_THAT(render_task_details(d, from_unix_ms(1'010'000)),
              HasSubstr("0.25 CPU, 48 MiB (3s ago)"));
}

TEST(Views, BrokerStatusShowsThePolicy) {
  protocol::BrokerStatus s;
  s.version = "0.1.0";
  s.scheduler = "epvm";
  std::string out = render_broker_status(s, "127.0.0.1:7100", from_unix_ms(1'000'000));
  EXPECT_THAT(out, HasSubstr("Scheduler:"));
  EXPECT_THAT(out, HasSubstr("epvm"));
  // Alone on its store (or older than the field): a leader, with no Leader line.
  EXPECT_THAT(out, HasSubstr("Role:"));
  EXPECT_THAT(out, HasSubstr("leader"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("Leader:")));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("Standbys:")));
}

// The summary has no raw counters (histogram buckets, message counts) unless asked: it shows
// nodes and tasks by state, the p99s rebuilt from the histograms, the store.
TEST(Views, BrokerStatusIsAShortSummaryWithCountersOnlyWhenAsked) {
  protocol::BrokerStatus s;
  s.store = "sqlite:/var/lib/cube/cube.db (sync=normal)";
  s.nodes_total = 4;
  s.nodes_ready = 3;
  s.nodes_by_state = {{"ready", 3}, {"lost", 1}};
  s.tasks_by_state = {{"Pending", 1}, {"Running", 3}, {"Completed", 0}};
  protocol::LatencyHistogram commits({1000, 2500, 5000});
  for (int i = 0; i < 99; ++i)
    commits.observe(std::chrono::microseconds(800));
  commits.observe(std::chrono::microseconds(4000));
  commits.export_to(protocol::kStoreCommitLatency, s.counters);
  s.counters["client.received.STATUS"] = 7;

  std::string out = render_broker_status(s, "127.0.0.1:7100", from_unix_ms(1'000'000));
  EXPECT_THAT(out, HasSubstr("sqlite:/var/lib/cube/cube.db (sync=normal)"));
  EXPECT_THAT(out, HasSubstr("3 ready, 1 lost (4 total)"));
  EXPECT_THAT(out, HasSubstr("4 total: 1 Pending, 3 Running"));
  EXPECT_THAT(out, HasSubstr("p99 <= 1 ms over 100 commits"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("le_us")));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("client.received.STATUS")));
  EXPECT_LE(std::count(out.begin(), out.end(), '\n'), 14);

  std::string with_counters =
      render_broker_status(s, "127.0.0.1:7100", from_unix_ms(1'000'000), true);
  EXPECT_THAT(with_counters, HasSubstr("client.received.STATUS"));
  EXPECT_THAT(with_counters, HasSubstr("latency.store_commit.le_us.1000"));
}

TEST(Views, BrokerStatusShowsAStandbysLeader) {
  protocol::BrokerStatus s;
  s.role = "standby";
  s.leader = "10.0.0.1:7100";
  s.standbys = {"10.0.0.2:7100", "10.0.0.3:7100"};
  std::string out = render_broker_status(s, "10.0.0.2:7100", from_unix_ms(1'000'000));
  EXPECT_THAT(out, HasSubstr("standby"));
  EXPECT_THAT(out, HasSubstr("Leader:"));
  EXPECT_THAT(out, HasSubstr("10.0.0.1:7100"));
  EXPECT_THAT(out, HasSubstr("Standbys:"));
  EXPECT_THAT(out, HasSubstr("10.0.0.2:7100, 10.0.0.3:7100"));
}

TEST(Views, FormatsCpuAndAges) {
  EXPECT_EQ(format_cpu(0.5), "0.5");
  EXPECT_EQ(format_cpu(2), "2");
  EXPECT_EQ(format_cpu(1.25), "1.25");
  EXPECT_EQ(format_age_since(0, from_unix_ms(5000)), "-");
  EXPECT_EQ(format_age_since(1000, from_unix_ms(1000 + 3 * 3600 * 1000)), "3h");
  EXPECT_EQ(format_local_time(0), "-");
  EXPECT_EQ(format_local_time(1'700'000'000'123, true).size(), 23u);  // "YYYY-MM-DD hh:mm:ss.mmm"
}

TEST(Views, TaskDetailsShowSetFieldsAndHistory) {
  TaskDetails d;
  d.task = task("id-1", "web", TaskState::Failed, "exit code 2");
  d.task.image = "busybox:latest";
  d.task.cmd = {"sh", "-c", "exit 2"};
  d.task.exit_code = 2;
  d.events = {TaskEvent{TaskState::Pending, 1'000'000, "", ""},
              TaskEvent{TaskState::Failed, 1'005'000, "exit code 2", "node-1"}};

  std::string out = render_task_details(d, from_unix_ms(1'010'000));

  EXPECT_THAT(out, HasSubstr("Name:"));
  EXPECT_THAT(out, HasSubstr("Command:"));
  EXPECT_THAT(out, HasSubstr("sh -c \"exit 2\""));
  EXPECT_THAT(out, HasSubstr("Exit code:"));
  EXPECT_THAT(out, HasSubstr("Reason:"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("Health check:")));  // unset fields are left out
  EXPECT_THAT(out, HasSubstr("Events:"));
  EXPECT_THAT(out, HasSubstr("node-1"));
  // Field values start in one column.
  auto lines = lines_of(out);
  size_t value_col = lines[0].find("id-1");
  EXPECT_EQ(lines[1].find("web"), value_col);
}

}  // namespace
}  // namespace cube
