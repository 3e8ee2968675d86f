// protocol/task.h: state numbers, names and the transition table of docs/architecture.md.
#include "protocol/task.h"

#include <gtest/gtest.h>

#include <set>
#include <utility>

namespace cube {
namespace {

TEST(TaskState, NumbersAreThePriorOrchestrators) {
  EXPECT_EQ(static_cast<int>(TaskState::Pending), 0);
  EXPECT_EQ(static_cast<int>(TaskState::Scheduled), 1);
  EXPECT_EQ(static_cast<int>(TaskState::Running), 2);
  EXPECT_EQ(static_cast<int>(TaskState::Completed), 3);
  EXPECT_EQ(static_cast<int>(TaskState::Failed), 4);
}

TEST(TaskState, FromInt) {
  for (int i = 0; i < kTaskStateCount; ++i)
    EXPECT_EQ(task_state_from_int(i), static_cast<TaskState>(i));
  EXPECT_EQ(task_state_from_int(-1), std::nullopt);
  EXPECT_EQ(task_state_from_int(5), std::nullopt);
  EXPECT_EQ(task_state_from_int(9), std::nullopt);
  EXPECT_EQ(task_state_from_int(INT64_MIN), std::nullopt);
}

TEST(TaskState, NamesRoundTripInAnyCase) {
  for (int i = 0; i < kTaskStateCount; ++i) {
    auto state = static_cast<TaskState>(i);
    std::string name(task_state_name(state));
    EXPECT_EQ(task_state_from_name(name), state);
    for (char& c : name)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(task_state_from_name(name), state) << name;
  }
  EXPECT_EQ(task_state_name(TaskState::Running), "Running");
  EXPECT_EQ(task_state_from_name("Runnin"), std::nullopt);
  EXPECT_EQ(task_state_from_name(""), std::nullopt);
  EXPECT_EQ(task_state_from_name("2"), std::nullopt);
}

TEST(TaskState, TransitionTable) {
  using S = TaskState;
  // docs/architecture.md, plus Pending/Scheduled -> Completed for a user's stop (task.h).
  const std::set<std::pair<S, S>> allowed = {
      {S::Pending, S::Scheduled}, {S::Pending, S::Completed}, {S::Scheduled, S::Scheduled},
      {S::Scheduled, S::Running}, {S::Scheduled, S::Failed},  {S::Scheduled, S::Completed},
      {S::Running, S::Running},   {S::Running, S::Completed}, {S::Running, S::Failed},
      {S::Running, S::Scheduled}, {S::Failed, S::Scheduled},
  };
  for (int from = 0; from < kTaskStateCount; ++from) {
    for (int to = 0; to < kTaskStateCount; ++to) {
      auto f = static_cast<S>(from);
      auto t = static_cast<S>(to);
      EXPECT_EQ(is_valid_transition(f, t), allowed.count({f, t}) == 1)
          << task_state_name(f) << " -> " << task_state_name(t);
    }
  }
}

TEST(TaskState, Terminal) {
  EXPECT_TRUE(is_terminal(TaskState::Completed));
  EXPECT_TRUE(is_terminal(TaskState::Failed));
  EXPECT_FALSE(is_terminal(TaskState::Pending));
  EXPECT_FALSE(is_terminal(TaskState::Scheduled));
  EXPECT_FALSE(is_terminal(TaskState::Running));
}

}  // namespace
}  // namespace cube
