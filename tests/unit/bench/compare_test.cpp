// cube-bench --compare's pure parts (reading reports old and new, ratio, median, tables) and
// run_compare's order and failure naming, with a fake runner instead of processes; and
// run_for_stdout against /bin/sh.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_report.h"
#include "bench/child_output.h"
#include "bench/compare.h"

namespace cube::bench {
namespace {

TEST(CompareTest, MedianOfOddAndEvenCountsAndNothing) {
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_EQ(median({7}), 7);
  EXPECT_EQ(median({}), std::nullopt);
}

TEST(CompareTest, RatioIsThisOverOtherAndUnknownWithoutBoth) {
  EXPECT_DOUBLE_EQ(*ratio(150.0, 100.0), 1.5);
  EXPECT_EQ(ratio(std::nullopt, 100.0), std::nullopt);
  EXPECT_EQ(ratio(100.0, std::nullopt), std::nullopt);
  EXPECT_EQ(ratio(100.0, 0.0), std::nullopt) << "no ratio to a zero";
}

TEST(CompareTest, ReadsThisVersionsReport) {
  BenchResult r;
  r.config.tasks = 1000;
  r.ended = 1000;
  r.completed_at_broker = 1000;
  r.placements_per_s = 5000;
  r.broker_cpu_s = 0.085;
  r.process_cpu_s = 0.236;
  auto figures = figures_from_json(to_json(r).dump());
  ASSERT_TRUE(figures.is_ok()) << figures.status().to_string();
  EXPECT_EQ(figures->placements_per_s, 5000);
  EXPECT_DOUBLE_EQ(*figures->broker_cpu_us_per_task, 85);
  EXPECT_DOUBLE_EQ(*figures->process_cpu_us_per_task, 236);
}

TEST(CompareTest, DerivesPerTaskFiguresFromAnOlderReport) {
  // An older cube-bench: broker_cpu_s and the counts, no per-task fields, no process CPU.
  auto old = figures_from_json(R"({"tasks": 2000, "completed": 2000,
      "completed_at_broker": 1000, "placements_per_s": 5808.5, "broker_cpu_s": 0.129})");
  ASSERT_TRUE(old.is_ok()) << old.status().to_string();
  EXPECT_EQ(old->placements_per_s, 5808.5);
  EXPECT_DOUBLE_EQ(*old->broker_cpu_us_per_task, 129) << "over the broker's count";
  EXPECT_EQ(old->process_cpu_us_per_task, std::nullopt);

  auto no_broker_count =
      figures_from_json(R"({"completed": 500, "completed_at_broker": null, "broker_cpu_s": 0.05})");
  ASSERT_TRUE(no_broker_count.is_ok());
  EXPECT_DOUBLE_EQ(*no_broker_count->broker_cpu_us_per_task, 100) << "over the agents' count";
}

TEST(CompareTest, MissingOrNullFiguresStayUnknown) {
  // An external broker without --broker-pid: broker_cpu_s null.
  auto no_cpu = figures_from_json(R"({"completed": 500, "broker_cpu_s": null})");
  ASSERT_TRUE(no_cpu.is_ok());
  EXPECT_EQ(no_cpu->broker_cpu_us_per_task, std::nullopt);
  EXPECT_EQ(no_cpu->placements_per_s, std::nullopt);

  auto none_completed = figures_from_json(R"({"completed": 0, "broker_cpu_s": 1.5})");
  ASSERT_TRUE(none_completed.is_ok());
  EXPECT_EQ(none_completed->broker_cpu_us_per_task, std::nullopt);

  // A new report's null is not re-derived from the seconds.
  auto null_per_task = figures_from_json(
      R"({"completed": 10, "broker_cpu_s": 1.0, "broker_cpu_us_per_task": null})");
  ASSERT_TRUE(null_per_task.is_ok());
  EXPECT_EQ(null_per_task->broker_cpu_us_per_task, std::nullopt);

  EXPECT_TRUE(figures_from_json("cube-bench: usage").status().is_invalid());
  EXPECT_TRUE(figures_from_json("[1, 2]").status().is_invalid());
}

CompareRound make_round(double other_rate, double this_rate, std::optional<double> other_cpu,
                        double this_cpu) {
  CompareRound round;
  round.other.placements_per_s = other_rate;
  round.other.broker_cpu_us_per_task = other_cpu;
  round.self.placements_per_s = this_rate;
  round.self.broker_cpu_us_per_task = this_cpu;
  round.self.process_cpu_us_per_task = 200;
  return round;
}

TEST(CompareTest, TablesShowEachRoundAndTheMedianRatios) {
  std::vector<CompareRound> rounds = {make_round(1000, 3000, 100, 25),
                                      make_round(1000, 2000, 100, 50),
                                      make_round(2000, 10000, std::nullopt, 10)};
  std::string first = round_table(0, 3, rounds[0]);
  EXPECT_NE(first.find("round 1 of 3"), std::string::npos) << first;
  EXPECT_NE(first.find("3.00x"), std::string::npos) << first;
  EXPECT_NE(first.find("0.25x"), std::string::npos) << first;
  EXPECT_NE(first.find("n/a"), std::string::npos) << "other has no process CPU\n" << first;

  std::string summary = summary_table(rounds);
  EXPECT_NE(summary.find("median over 3 rounds"), std::string::npos) << summary;
  // placements: ratios 3, 2, 5 -> 3; broker CPU: 0.25, 0.5 (round 3 has no other) -> 0.375.
  EXPECT_NE(summary.find("3.00x"), std::string::npos) << summary;
  EXPECT_NE(summary.find("0.38x"), std::string::npos) << summary;
  EXPECT_NE(summary.find("1,000/s"), std::string::npos) << "median of other's rates\n" << summary;
  EXPECT_NE(summary.find("3,000/s"), std::string::npos) << "median of this's rates\n" << summary;
}

// A runner that records each command line and answers from a script of outputs.
struct FakeRunner {
  std::vector<std::vector<std::string>> calls;
  std::vector<Result<ChildOutput>> answers;
  Result<ChildOutput> operator()(const std::vector<std::string>& argv) {
    calls.push_back(argv);
    return answers.at(calls.size() - 1);
  }
};

ChildOutput report(double placements_per_s) {
  return ChildOutput{nlohmann::json{{"placements_per_s", placements_per_s}}.dump(), 0, 0};
}

CompareOptions two_rounds() {
  CompareOptions options;
  options.other_binary = "/old/cube-bench";
  options.this_binary = "/new/cube-bench";
  options.rounds = 2;
  options.args = {"--agents", "2", "--tasks=50"};
  return options;
}

TEST(CompareTest, RunsOtherAndThisInterleavedWithTheSameArguments) {
  FakeRunner fake;
  fake.answers = {report(100), report(300), report(200), report(200)};
  std::vector<size_t> reported;
  auto outcome = run_compare(two_rounds(), std::ref(fake),
                             [&](size_t index, const CompareRound&) { reported.push_back(index); });
  ASSERT_TRUE(outcome.status.is_ok()) << outcome.status.to_string();
  ASSERT_EQ(fake.calls.size(), 4u);
  std::vector<std::string> args = {"--agents", "2", "--tasks=50", "-o", "json"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(fake.calls[i][0], i % 2 == 0 ? "/old/cube-bench" : "/new/cube-bench") << i;
    EXPECT_EQ(std::vector<std::string>(fake.calls[i].begin() + 1, fake.calls[i].end()), args);
  }
  EXPECT_EQ(reported, (std::vector<size_t>{0, 1}));
  ASSERT_EQ(outcome.rounds.size(), 2u);
  EXPECT_EQ(outcome.rounds[0].other.placements_per_s, 100);
  EXPECT_EQ(outcome.rounds[0].self.placements_per_s, 300);
  EXPECT_EQ(outcome.rounds[1].other.placements_per_s, 200);
}

TEST(CompareTest, ThisOnlyArgumentsGoToThisBinaryAlone) {
  FakeRunner fake;
  fake.answers = {report(100), report(300), report(200), report(200)};
  CompareOptions options = two_rounds();
  options.this_args = {"--batch", "64"};
  auto outcome = run_compare(options, std::ref(fake), {});
  ASSERT_TRUE(outcome.status.is_ok()) << outcome.status.to_string();
  ASSERT_EQ(fake.calls.size(), 4u);
  std::vector<std::string> other = {"/old/cube-bench", "--agents", "2", "--tasks=50", "-o", "json"};
  std::vector<std::string> self = {"/new/cube-bench", "--agents", "2",  "--tasks=50",
                                   "--batch",         "64",       "-o", "json"};
  for (size_t i = 0; i < 4; ++i)
    EXPECT_EQ(fake.calls[i], i % 2 == 0 ? other : self) << i;
}

TEST(CompareTest, StopsAtTheFirstFailedRunAndNamesIt) {
  FakeRunner exits;
  exits.answers = {report(100), report(300), report(200), ChildOutput{"{}", 1, 0}};
  auto outcome = run_compare(two_rounds(), std::ref(exits), {});
  EXPECT_FALSE(outcome.status.is_ok());
  EXPECT_EQ(outcome.status.message(), "round 2, this (/new/cube-bench): exited with code 1");
  EXPECT_EQ(outcome.rounds.size(), 1u) << "the first round completed";

  FakeRunner cannot_start;
  cannot_start.answers = {Status::unavailable("cannot run /old/cube-bench: No such file")};
  outcome = run_compare(two_rounds(), std::ref(cannot_start), {});
  EXPECT_EQ(outcome.status.message(),
            "round 1, other (/old/cube-bench): cannot run /old/cube-bench: No such file");
  EXPECT_EQ(cannot_start.calls.size(), 1u) << "nothing runs after a failure";

  FakeRunner no_json;
  no_json.answers = {ChildOutput{"placements 5,000/s\n", 0, 0}};
  outcome = run_compare(two_rounds(), std::ref(no_json), {});
  EXPECT_NE(outcome.status.message().find("round 1, other (/old/cube-bench): not a cube-bench"),
            std::string::npos)
      << outcome.status.message();

  FakeRunner killed;
  killed.answers = {ChildOutput{"", 0, 9}};
  outcome = run_compare(two_rounds(), std::ref(killed), {});
  EXPECT_NE(outcome.status.message().find("killed by signal 9"), std::string::npos)
      << outcome.status.message();
}

TEST(ChildOutputTest, CapturesStdoutAndHowTheChildEnded) {
  auto ok = run_for_stdout({"/bin/sh", "-c", "echo report; echo progress >&2"});
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(ok->out, "report\n") << "stderr is not captured";
  EXPECT_TRUE(ok->succeeded());

  auto failed = run_for_stdout({"/bin/sh", "-c", "printf partial; exit 3"});
  ASSERT_TRUE(failed.is_ok());
  EXPECT_EQ(failed->out, "partial");
  EXPECT_FALSE(failed->succeeded());
  EXPECT_EQ(failed->describe_exit(), "exited with code 3");

  auto killed = run_for_stdout({"/bin/sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(killed.is_ok());
  EXPECT_EQ(killed->signal, 9);
  EXPECT_FALSE(killed->succeeded());

  auto missing = run_for_stdout({"/nonexistent/cube-bench"});
  EXPECT_TRUE(missing.status().is_unavailable()) << missing.status().to_string();
  EXPECT_NE(missing.status().message().find("/nonexistent/cube-bench"), std::string::npos);
}

}  // namespace
}  // namespace cube::bench
