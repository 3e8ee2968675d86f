// binpack: Nomad's ScoreFitBinPack, normalised to [0, 1].
#include <gtest/gtest.h>

#include <cmath>

#include "broker/scheduler_internal.h"

namespace cube::broker::internal {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

NodeState node(double cpu_used, int64_t memory_used) {
  NodeState s;
  s.cpu_capacity = 4;
  s.cpu_used = cpu_used;
  s.memory_capacity = 4 * kGiB;
  s.memory_used = memory_used;
  s.credit = 1;
  return s;
}

struct Row {
  const char* name;
  NodeState node;
  Resources request;
  double score;
};

TEST(PolicyBinpack, ScoreTable) {
  // 20 - (10^freeCpu + 10^freeMem), over 18; free fractions after the task.
  const double half = (20 - 2 * std::pow(10, 0.5)) / 18;
  const Row rows[] = {
      {"exact_fit_is_best", node(0, 0), {4, 4 * kGiB, 0}, 1.0},
      {"empty_after_nothing_is_worst", node(0, 0), {0, 0, 0}, 0.0},
      {"half_full_after", node(1, kGiB), {1, kGiB, 0}, half},
      {"fills_to_full", node(3, 3 * kGiB), {1, kGiB, 0}, 1.0},
      {"undeclared_cpu_counts_as_free",
       [] {
         NodeState s = node(0, 0);
         s.cpu_capacity = 0;
         return s;
       }(),
       {1, 4 * kGiB, 0},
       (20 - 10 - 1) / 18.0},
  };
  for (const auto& r : rows)
    EXPECT_NEAR(score_binpack(r.node, r.request).primary, r.score, 1e-12) << r.name;
}

TEST(PolicyBinpack, FullerNodeScoresHigher) {
  Resources task{1, kGiB, 0};
  EXPECT_GT(score_binpack(node(2, 2 * kGiB), task).primary,
            score_binpack(node(1, 2 * kGiB), task).primary);
  EXPECT_GT(score_binpack(node(1, 2 * kGiB), task).primary,
            score_binpack(node(1, kGiB), task).primary);
}

TEST(PolicyBinpack, IsTheDefaultAndTheScoreOfItsPolicy) {
  EXPECT_EQ(kDefaultPolicy, Policy::Binpack);
  EXPECT_EQ(score_function(Policy::Binpack), &score_binpack);
}

}  // namespace
}  // namespace cube::broker::internal
