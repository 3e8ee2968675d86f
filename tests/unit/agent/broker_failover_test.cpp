// BrokerFailover: the agent's choice of broker in an HA set, as tables of answers.
#include "agent/broker_failover.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace cube::agent {
namespace {

using Next = BrokerFailover::Next;

const BrokerAddress kA{"10.0.0.1", 7100};
const BrokerAddress kB{"10.0.0.2", 7100};
const BrokerAddress kC{"10.0.0.3", 7100};
const BrokerAddress kElsewhere{"10.0.0.9", 7100};

TEST(BrokerFailover, StartsWithTheFirstAndMovesOnWhenItIsSilent) {
  BrokerFailover f({kA, kB, kC});
  EXPECT_EQ(f.current(), kA);
  EXPECT_EQ(f.on_silent(), Next::HelloNow);
  EXPECT_EQ(f.current(), kB);
  EXPECT_EQ(f.on_silent(), Next::HelloNow);
  EXPECT_EQ(f.current(), kC);
  // A whole round silent: the backoff before the next HELLO.
  EXPECT_EQ(f.on_silent(), Next::BackOff);
  EXPECT_EQ(f.current(), kA);
}

TEST(BrokerFailover, OneBrokerIsRetriedWithTheBackoff) {
  BrokerFailover f({kA});
  EXPECT_EQ(f.on_silent(), Next::BackOff);
  EXPECT_EQ(f.current(), kA);
}

TEST(BrokerFailover, FollowsNotLeaderToTheNamedLeaderListedOrNot) {
  BrokerFailover f({kA, kB});
  EXPECT_EQ(f.on_not_leader(kElsewhere), Next::HelloNow);
  EXPECT_EQ(f.current(), kElsewhere);
  f.on_welcome();
  // The redirect's target goes silent: back to the list after the broker that sent us there.
  EXPECT_EQ(f.on_silent(), Next::HelloNow);
  EXPECT_EQ(f.current(), kA);
}

TEST(BrokerFailover, DoesNotFollowAStandbyNamingTheBrokerThatJustWentSilent) {
  // A killed leader: its standbys name it until its lease ends.
  BrokerFailover f({kA, kB, kC});
  f.on_welcome();
  EXPECT_EQ(f.on_silent(), Next::HelloNow);  // A silent
  EXPECT_EQ(f.current(), kB);
  EXPECT_EQ(f.on_not_leader(kA), Next::HelloLater);
  EXPECT_EQ(f.current(), kC);
  EXPECT_EQ(f.on_not_leader(kA), Next::HelloLater);
  EXPECT_EQ(f.current(), kB) << "A is skipped while the others may answer";
  // B has won meanwhile, or names C, who has.
  EXPECT_EQ(f.on_not_leader(kC), Next::HelloNow);
  EXPECT_EQ(f.current(), kC);
}

TEST(BrokerFailover, NotKnownYetAsksTheNextBrokerLater) {
  BrokerFailover f({kA, kB});
  EXPECT_EQ(f.on_not_leader(std::nullopt), Next::HelloLater);
  EXPECT_EQ(f.current(), kB);
  EXPECT_EQ(f.on_not_leader(std::nullopt), Next::HelloLater);
  EXPECT_EQ(f.current(), kA);
}

TEST(BrokerFailover, RedirectsAreBoundedUntilAWelcome) {
  BrokerFailover f({kA, kB});
  int followed = 0;
  for (int i = 0; i < 20; ++i) {
    const BrokerAddress& other = f.current() == kA ? kB : kA;
    if (f.on_not_leader(other) == Next::HelloNow)
      ++followed;
  }
  EXPECT_EQ(followed, BrokerFailover::kMaxRedirects);
  f.on_welcome();
  EXPECT_EQ(f.on_not_leader(f.current() == kA ? kB : kA), Next::HelloNow);
}

TEST(BrokerFailover, AnAnswerEndsARoundOfSilences) {
  BrokerFailover f({kA, kB});
  EXPECT_EQ(f.on_silent(), Next::HelloNow);
  EXPECT_EQ(f.on_not_leader(std::nullopt), Next::HelloLater);
  // Not a whole round of silences in a row any more.
  EXPECT_EQ(f.on_silent(), Next::HelloNow);
}

}  // namespace
}  // namespace cube::agent
