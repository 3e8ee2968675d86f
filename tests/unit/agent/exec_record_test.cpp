// The exec driver's record and exit files, the supervisor's report line, and the "is this pid
// still the process we started" check that keeps a restarted agent from adopting or killing a
// reused pid.
#include "agent/drivers/exec/exec_record.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/drivers/exec/exec_supervisor.h"
#include "agent/drivers/exec/process_identity.h"
#include "tests/support/temp_dir.h"

namespace cube::agent {
namespace {

ExecRecord sample_record() {
  ExecRecord r;
  r.task_id = "0190a1b2-task";
  r.attempt = 2;
  r.start_time_ms = 1700000000123;
  r.supervisor = {4100, 987654};
  r.task = {4101, 987655};
  r.pgid = 4101;
  r.log_path = "/var/lib/cube/agent/tasks/0190a1b2-task/2.log";
  r.exit_path = "/var/lib/cube/agent/tasks/0190a1b2-task/2.exit";
  return r;
}

constexpr std::string_view kSampleText =
    "cube-exec-record 1\n"
    "task_id=0190a1b2-task\n"
    "attempt=2\n"
    "start_time_ms=1700000000123\n"
    "supervisor_pid=4100\n"
    "supervisor_start_ticks=987654\n"
    "pid=4101\n"
    "start_ticks=987655\n"
    "pgid=4101\n"
    "log_path=/var/lib/cube/agent/tasks/0190a1b2-task/2.log\n"
    "exit_path=/var/lib/cube/agent/tasks/0190a1b2-task/2.exit\n";

TEST(ExecRecordTest, FormatIsPinnedAndParsesBack) {
  EXPECT_EQ(format_exec_record(sample_record()), kSampleText);
  auto parsed = parse_exec_record(kSampleText);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(*parsed, sample_record());
}

TEST(ExecRecordTest, UnknownKeysAndBlankLinesAreIgnored) {
  std::string text(kSampleText);
  text += "\nadded_later=yes\n";
  auto parsed = parse_exec_record(text);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(*parsed, sample_record());
}

TEST(ExecRecordTest, BadRecordsAreInvalidAndSayWhy) {
  auto replaced = [](std::string_view from, std::string_view to) {
    std::string text(kSampleText);
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  struct Case {
    std::string text;
    std::string message_part;
  };
  const Case cases[] = {
      {"", "empty"},
      {"garbage\x01\x02", "line 1"},
      {replaced("cube-exec-record 1", "cube-exec-record 2"), "line 1"},
      {replaced("attempt=2\n", ""), "\"attempt\" is missing"},
      {replaced("pid=4101\n", "pid=41x1\n"), "\"pid\": \"41x1\" is not a number"},
      {replaced("supervisor_pid=4100", "supervisor_pid=0"), "supervisor_pid"},
      {replaced("pgid=4101", "pgid=1"), "pgid 1 is not the task's pid 4101"},
      {replaced("start_ticks=987655\n", "start_ticks\n"), "is not KEY=VALUE"},
      // Cut short after the task's line.
      {std::string(kSampleText).substr(0, kSampleText.find("\npid=") + 1), "is missing"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_exec_record(c.text);
    ASSERT_FALSE(parsed.is_ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), ErrorCode::Invalid) << c.text;
    EXPECT_NE(parsed.status().message().find(c.message_part), std::string::npos)
        << parsed.status().message() << " | wanted: " << c.message_part;
  }
}

TEST(ExitRecordTest, RoundTripAndRange) {
  ExitRecord exited{{3, 0, ""}, 1700000000999};
  EXPECT_EQ(format_exit_record(exited),
            "cube-exec-exit 1\nexit_code=3\nsignal=0\nfinish_time_ms=1700000000999\n");
  auto parsed = parse_exit_record(format_exit_record(exited));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(*parsed, exited);
  ExitRecord signaled{{0, 9, ""}, 5};
  EXPECT_EQ(*parse_exit_record(format_exit_record(signaled)), signaled);
  EXPECT_FALSE(
      parse_exit_record("cube-exec-exit 1\nexit_code=300\nsignal=0\nfinish_time_ms=1\n").is_ok());
  EXPECT_FALSE(parse_exit_record("cube-exec-exit 1\nexit_code=0\n").is_ok());
  EXPECT_FALSE(parse_exit_record(kSampleText).is_ok());
}

TEST(ExecRecordTest, WrittenAtomicallyAndReadBack) {
  test::TempDir dir;
  auto path = dir / "1.record";
  ASSERT_TRUE(write_file_atomically(path, kSampleText).is_ok());
  auto text = read_small_file(path);
  ASSERT_TRUE(text.is_ok());
  EXPECT_EQ(*text, kSampleText);
  EXPECT_FALSE(std::filesystem::exists(dir / "1.record.tmp"));
  EXPECT_TRUE(read_small_file(dir / "none").status().is_not_found());
  EXPECT_FALSE(write_file_atomically(dir / "no-dir" / "x", "y").is_ok());
}

TEST(ProcStatTest, StartTicksIsField22CountedFromTheLastParenthesis) {
  // A command name with spaces and ')' must not shift the fields.
  const std::string stat =
      "4101 (evil) name) 3 4) S 4100 4101 4100 0 -1 4194560 111 0 0 0 1 2 0 0 20 0 1 0 "
      "987655 2273280 233 18446744073709551615 1 1 0 0 0 0 0 0 65536 0 0 0 17 1 0 0 0 0 0\n";
  auto ticks = parse_stat_start_ticks(stat);
  ASSERT_TRUE(ticks.is_ok()) << ticks.status().to_string();
  EXPECT_EQ(*ticks, 987655u);
  EXPECT_FALSE(parse_stat_start_ticks("4101 no parenthesis S 1 2 3").is_ok());
  EXPECT_FALSE(parse_stat_start_ticks("4101 (short) S 1 2 3\n").is_ok());
  EXPECT_FALSE(
      parse_stat_start_ticks("1 (x) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12ab 1 1\n")
          .is_ok());
}

TEST(ProcessIdentityTest, MatchTable) {
  const ProcessIdentity recorded{4101, 987655};
  EXPECT_EQ(match_start_ticks(recorded, true, 987655), ProcessMatch::Same);
  EXPECT_EQ(match_start_ticks(recorded, true, 987656), ProcessMatch::Reused);
  EXPECT_EQ(match_start_ticks(recorded, false, 0), ProcessMatch::Gone);
}

TEST(ProcessIdentityTest, ThisProcessIsItselfAndNotAReusedPid) {
  auto ticks = read_start_ticks(::getpid());
  ASSERT_TRUE(ticks.is_ok()) << ticks.status().to_string();
  EXPECT_EQ(match_process({::getpid(), *ticks}), ProcessMatch::Same);
  // The same pid with another start time: a reused pid, another program.
  ProcessIdentity stale{::getpid(), *ticks + 1};
  EXPECT_EQ(match_process(stale), ProcessMatch::Reused);
  EXPECT_NE(reused_pid_message(stale).find("is now another program"), std::string::npos);

  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0)
    ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(match_process({child, *ticks}), ProcessMatch::Gone);
  EXPECT_TRUE(read_start_ticks(child).status().is_not_found());
}

TEST(SupervisorReportTest, OkErrorAndGarbage) {
  auto ok = parse_supervisor_report("ok 4101 987655\n");
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(ok->task, (ProcessIdentity{4101, 987655}));
  EXPECT_EQ(ok->spawn_error, 0);
  auto error = parse_supervisor_report("error 2\n");
  ASSERT_TRUE(error.is_ok());
  EXPECT_EQ(error->spawn_error, 2);
  EXPECT_FALSE(parse_supervisor_report("").is_ok());
  EXPECT_FALSE(parse_supervisor_report("ok 0 1\n").is_ok());
  EXPECT_FALSE(parse_supervisor_report("ok 12\n").is_ok());
  EXPECT_FALSE(parse_supervisor_report("error x\n").is_ok());
  EXPECT_FALSE(parse_supervisor_report("hello\n").is_ok());
}

}  // namespace
}  // namespace cube::agent
