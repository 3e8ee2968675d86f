#include "broker/liveness.h"

#include <gtest/gtest.h>

namespace cube::broker {
namespace {

constexpr Millis kBeat{1000};
constexpr Millis kGrace{5000};

class LivenessTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  Liveness liveness_{kBeat, 3, kGrace};
};

TEST_F(LivenessTest, SuspectAfterThreeMissedBeatsLostAtGrace) {
  EXPECT_EQ(liveness_.on_traffic("a", clock_.now()), NodeState::Lost);  // new
  EXPECT_EQ(liveness_.state("a", clock_.now()), NodeState::Ready);
  clock_.advance(Millis(2999));
  EXPECT_EQ(liveness_.state("a", clock_.now()), NodeState::Ready);
  clock_.advance(Millis(1));
  EXPECT_EQ(liveness_.state("a", clock_.now()), NodeState::Suspect);
  EXPECT_TRUE(liveness_.expired(clock_.now()).empty());
  clock_.advance(Millis(1999));
  EXPECT_EQ(liveness_.state("a", clock_.now()), NodeState::Suspect);
  EXPECT_TRUE(liveness_.expired(clock_.now()).empty());
  clock_.advance(Millis(1));
  EXPECT_EQ(liveness_.state("a", clock_.now()), NodeState::Lost);
  EXPECT_EQ(liveness_.expired(clock_.now()), (std::vector<std::string>{"a"}));
  // Reported once.
  clock_.advance(Millis(10000));
  EXPECT_TRUE(liveness_.expired(clock_.now()).empty());
  EXPECT_EQ(liveness_.state("a", clock_.now()), NodeState::Lost);
  EXPECT_EQ(liveness_.next_deadline(), std::nullopt);
}

TEST_F(LivenessTest, TrafficRevivesAndPushesTheDeadline) {
  liveness_.on_traffic("a", clock_.now());
  clock_.advance(Millis(3500));
  EXPECT_EQ(liveness_.on_traffic("a", clock_.now()), NodeState::Suspect);
  EXPECT_EQ(liveness_.state("a", clock_.now()), NodeState::Ready);
  EXPECT_EQ(liveness_.next_deadline(), clock_.now() + kGrace);
  clock_.advance(Millis(4999));
  EXPECT_TRUE(liveness_.expired(clock_.now()).empty());
  clock_.advance(Millis(1));
  EXPECT_EQ(liveness_.expired(clock_.now()).size(), 1u);
  // A lost agent comes back.
  EXPECT_EQ(liveness_.on_traffic("a", clock_.now()), NodeState::Lost);
  EXPECT_EQ(liveness_.state("a", clock_.now()), NodeState::Ready);
  EXPECT_EQ(liveness_.next_deadline(), clock_.now() + kGrace);
}

TEST_F(LivenessTest, ExpiresInDeadlineOrderAndNextDeadlineIsTheEarliest) {
  liveness_.on_traffic("a", clock_.now());
  clock_.advance(Millis(1000));
  liveness_.on_traffic("b", clock_.now());
  clock_.advance(Millis(1000));
  liveness_.on_traffic("c", clock_.now());
  EXPECT_EQ(liveness_.next_deadline(), SteadyTime(Millis(5000)));
  clock_.advance(Millis(1));
  liveness_.on_traffic("a", clock_.now());  // a now expires last
  EXPECT_EQ(liveness_.next_deadline(), SteadyTime(Millis(6000)));
  clock_.advance(Millis(10000));
  EXPECT_EQ(liveness_.expired(clock_.now()), (std::vector<std::string>{"b", "c", "a"}));
}

TEST_F(LivenessTest, EachSilenceIsReportedSuspectOnceAtItsTimeBeforeItsLoss) {
  SteadyTime start = clock_.now();
  liveness_.on_traffic("a", clock_.now());
  clock_.advance(Millis(500));
  liveness_.on_traffic("b", clock_.now());
  EXPECT_EQ(liveness_.next_suspicion(), start + Millis(3000)) << "3 beats after a's last";
  clock_.advance(Millis(2499));
  EXPECT_TRUE(liveness_.suspected(clock_.now()).empty());
  clock_.advance(Millis(1));
  EXPECT_EQ(liveness_.suspected(clock_.now()), (std::vector<std::string>{"a"}));
  EXPECT_EQ(liveness_.state("a", clock_.now()), NodeState::Suspect);
  EXPECT_TRUE(liveness_.suspected(clock_.now()).empty()) << "reported once";
  EXPECT_EQ(liveness_.next_suspicion(), start + Millis(3500)) << "b's turn";

  // A beat ends a's silence; its next one is reported again, after b's.
  EXPECT_EQ(liveness_.on_traffic("a", clock_.now()), NodeState::Suspect);
  clock_.advance(Millis(500));
  EXPECT_EQ(liveness_.suspected(clock_.now()), (std::vector<std::string>{"b"}));
  EXPECT_EQ(liveness_.next_suspicion(), start + Millis(6000));
  clock_.advance(Millis(10000));
  EXPECT_EQ(liveness_.suspected(clock_.now()), (std::vector<std::string>{"a"}));
  EXPECT_EQ(liveness_.expired(clock_.now()), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(liveness_.next_suspicion(), std::nullopt);
  EXPECT_TRUE(liveness_.suspected(clock_.now()).empty());
}

TEST(Liveness, NoSuspicionWhenTheGraceIsNotLongerThanTheSuspectTime) {
  Liveness liveness(Millis(1000), 3, Millis(3000));
  liveness.on_traffic("a", SteadyTime(Millis(0)));
  EXPECT_EQ(liveness.next_suspicion(), std::nullopt);
  EXPECT_TRUE(liveness.suspected(SteadyTime(Millis(5000))).empty());
  EXPECT_EQ(liveness.expired(SteadyTime(Millis(5000))), (std::vector<std::string>{"a"}));
}

TEST_F(LivenessTest, LateBeatDoesNotMoveTheDeadlineBackAndRemoveForgets) {
  liveness_.on_traffic("a", SteadyTime(Millis(2000)));
  liveness_.on_traffic("a", SteadyTime(Millis(1000)));  // reordered
  EXPECT_EQ(liveness_.last_seen("a"), SteadyTime(Millis(2000)));
  EXPECT_EQ(liveness_.next_deadline(), SteadyTime(Millis(7000)));
  liveness_.remove("a");
  EXPECT_EQ(liveness_.next_deadline(), std::nullopt);
  EXPECT_EQ(liveness_.state("a", SteadyTime(Millis(2000))), NodeState::Lost);
  EXPECT_EQ(liveness_.last_seen("a"), std::nullopt);
  EXPECT_STREQ(node_state_name(NodeState::Suspect), "suspect");
}

}  // namespace
}  // namespace cube::broker
