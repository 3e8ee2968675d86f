// common/check.h: CUBE_CHECK aborts with the condition, the place and the explanation.
#include "common/check.h"

#include <gtest/gtest.h>

namespace cube {
namespace {

int evaluations = 0;
bool counted(bool value) {
  ++evaluations;
  return value;
}

TEST(Check, PassingCheckDoesNothingAndEvaluatesOnce) {
  evaluations = 0;
  CUBE_CHECK(counted(true)) << "never printed";
  EXPECT_EQ(evaluations, 1);
}

TEST(CheckDeathTest, FailingCheckAbortsWithItsExplanation) {
  int credit = -1;
  EXPECT_DEATH(CUBE_CHECK(credit >= 0) << "plan_apply re-checks credit, got " << credit,
               "CUBE_CHECK\\(credit >= 0\\) failed: plan_apply re-checks credit, got -1");
}

}  // namespace
}  // namespace cube
