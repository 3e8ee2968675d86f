// spread: Nomad's ScoreFitSpread, normalised to [0, 1].
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

TEST(PolicySpread, ScoreTable) {
  // (10^freeCpu + 10^freeMem) - 2, over 18; free fractions after the task.
  struct Row {
    const char* name;
    NodeState node;
    Resources request;
    double score;
  } rows[] = {
      {"empty_after_is_best", node(0, 0), {0, 0, 0}, 1.0},
      {"full_after_is_worst", node(0, 0), {4, 4 * kGiB, 0}, 0.0},
      {"half_full_after", node(1, kGiB), {1, kGiB, 0}, (2 * std::pow(10, 0.5) - 2) / 18},
  };
  for (const auto& r : rows)
    EXPECT_NEAR(score_spread(r.node, r.request).primary, r.score, 1e-12) << r.name;
}

TEST(PolicySpread, EmptierNodeScoresHigherAndMirrorsBinpack) {
  Resources task{1, kGiB, 0};
  EXPECT_GT(score_spread(node(1, kGiB), task).primary, score_spread(node(2, kGiB), task).primary);
  for (double cpu : {0.0, 1.0, 2.5}) {
    NodeState s = node(cpu, kGiB);
    // Within Nomad's bounds, binpack + spread = (20 - t) + (t - 2) = 18, i.e. 1 normalised.
    EXPECT_NEAR(score_spread(s, task).primary + score_binpack(s, task).primary, 1.0, 1e-12);
  }
  EXPECT_EQ(score_function(Policy::Spread), &score_spread);
}

}  // namespace
}  // namespace cube::broker::internal
