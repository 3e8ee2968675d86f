#include "broker/leader_election.h"

#include "broker/broker_directory.h"

#include <gtest/gtest.h>

namespace cube::broker {
namespace {

constexpr Millis kTtl{3000};
const LeaderRecord kMe{"me", "10.0.0.1:7100"};
const LeaderRecord kOther{"other", "10.0.0.2:7100"};

CampaignOutcome won(int64_t revision) {
  return {CampaignOutcome::Kind::Won, revision, kMe, ""};
}
CampaignOutcome led() {
  return {CampaignOutcome::Kind::Led, 0, kOther, ""};
}
CampaignOutcome failed() {
  return {CampaignOutcome::Kind::Failed, 0, {}, "etcd unreachable"};
}

class ElectionMachineTest : public ::testing::Test {
 protected:
  SteadyTime now() const { return clock_.now(); }
  // Grants lease 42 with the full TTL, asked and answered now.
  void grant() {
    ASSERT_EQ(machine_.next_action(now()), ElectionAction::GrantLease);
    machine_.on_lease_granted(42, kTtl, now(), now());
    ASSERT_EQ(machine_.next_action(now()), ElectionAction::Campaign);
  }
  // Goes from deadline to deadline, every keepalive failing, until the leader steps down.
  void fail_keepalives_until_not_leader() {
    for (int i = 0; i < 10 && machine_.role() == ElectionRole::Leader; ++i) {
      clock_.advance(std::chrono::duration_cast<Millis>(machine_.next_deadline() - now()));
      if (machine_.check_expiry(now()))
        return;
      ASSERT_EQ(machine_.next_action(now()), ElectionAction::KeepAlive);
      machine_.on_keepalive(KeepaliveOutcome::Failed, Millis(0), now(), now());
    }
  }
  ManualClock clock_;
  ElectionMachine machine_{kTtl};
};

TEST(LeaderRecord, RoundTripsAndRefusesWhatIsNotOne) {
  auto decoded = decode_leader_record(encode_leader_record(kMe));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, kMe);
  EXPECT_TRUE(decode_leader_record("not json").status().is_invalid());
  EXPECT_TRUE(decode_leader_record("[]").status().is_invalid());
  EXPECT_TRUE(decode_leader_record(R"({"id":"x"})").status().is_invalid());
  EXPECT_TRUE(decode_leader_record(R"({"id":1,"address":"a:1"})").status().is_invalid());
  // Unknown keys are ignored: a later Cube may add some.
  EXPECT_EQ(decode_leader_record(R"({"id":"x","address":"a:1","zone":"z"})")->address, "a:1");
  // started_ms (the registrations under PREFIX/brokers/) round-trips; missing reads as 0.
  LeaderRecord started{"me", "10.0.0.1:7100", 1'700'000'000'000};
  EXPECT_EQ(*decode_leader_record(encode_leader_record(started)), started);
  EXPECT_EQ(encode_leader_record(kMe).find("started_ms"), std::string::npos);
}

TEST_F(ElectionMachineTest, GrantsALeaseThenCampaignsAndWins) {
  EXPECT_EQ(machine_.role(), ElectionRole::Campaigning);
  grant();
  EXPECT_TRUE(machine_.on_campaign(won(17), now()));
  EXPECT_EQ(machine_.role(), ElectionRole::Leader);
  EXPECT_EQ(machine_.reign(), 17);
  EXPECT_EQ(machine_.leader(), kMe);
  // A leader only keeps its lease alive, every TTL/3.
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::Wait);
  EXPECT_EQ(machine_.next_deadline(), now() + Millis(1000));
  clock_.advance(Millis(999));
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::Wait);
  clock_.advance(Millis(1));
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::KeepAlive);
}

TEST_F(ElectionMachineTest, AFailedGrantIsRetriedAfterAPeriod) {
  machine_.on_lease_failed(now());
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::Wait);
  EXPECT_EQ(machine_.next_deadline(), now() + Millis(1000));
  clock_.advance(Millis(1000));
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::GrantLease);
}

TEST_F(ElectionMachineTest, LosingTheCampaignMakesAStandbyThatCampaignsEveryPeriod) {
  grant();
  EXPECT_TRUE(machine_.on_campaign(led(), now()));
  EXPECT_EQ(machine_.role(), ElectionRole::Standby);
  EXPECT_EQ(machine_.leader(), kOther);
  EXPECT_EQ(machine_.reign(), 0);
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::Wait);
  clock_.advance(Millis(1000));
  // The keepalive and the campaign are both due: the lease first.
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::KeepAlive);
  machine_.on_keepalive(KeepaliveOutcome::Renewed, kTtl, now(), now());
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::Campaign);
  EXPECT_FALSE(machine_.on_campaign(led(), now()));  // still standby
  clock_.advance(Millis(1000));
  machine_.on_keepalive(KeepaliveOutcome::Renewed, kTtl, now(), now());
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::Campaign);
  // The old leader's key expired: this standby's campaign wins.
  EXPECT_TRUE(machine_.on_campaign(won(99), now()));
  EXPECT_EQ(machine_.role(), ElectionRole::Leader);
  EXPECT_EQ(machine_.reign(), 99);
}

TEST_F(ElectionMachineTest, AFailedCampaignIsRetriedWithoutChangingRole) {
  grant();
  EXPECT_FALSE(machine_.on_campaign(failed(), now()));
  EXPECT_EQ(machine_.role(), ElectionRole::Campaigning);
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::Wait);
  EXPECT_EQ(machine_.next_deadline(), now() + Millis(1000));
}

TEST_F(ElectionMachineTest, ALeaderWhoseLeaseIsGoneCampaignsAgainWithANewLease) {
  grant();
  machine_.on_campaign(won(5), now());
  clock_.advance(Millis(1000));
  EXPECT_TRUE(machine_.on_keepalive(KeepaliveOutcome::Gone, Millis(0), now(), now()));
  EXPECT_EQ(machine_.role(), ElectionRole::Campaigning);
  EXPECT_EQ(machine_.reign(), 0);
  EXPECT_EQ(machine_.losses(), 1u);
  EXPECT_EQ(machine_.lease_id(), 0);
  EXPECT_EQ(machine_.leader(), LeaderRecord{});  // not_leader says "not known yet" meanwhile
  EXPECT_NE(machine_.lost_reason().find("lease expired"), std::string::npos);
  // In the same process: a new lease, a new campaign, perhaps a new reign.
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::GrantLease);
  machine_.on_lease_granted(43, kTtl, now(), now());
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::Campaign);
  EXPECT_TRUE(machine_.on_campaign(won(6), now()));
  EXPECT_EQ(machine_.role(), ElectionRole::Leader);
  EXPECT_EQ(machine_.reign(), 6);
  EXPECT_EQ(machine_.losses(), 1u);
}

TEST_F(ElectionMachineTest, ALeaderNotRenewedWithinItsTtlStepsDownCountedFromTheAsking) {
  grant();  // asked at 0: valid until 3000
  machine_.on_campaign(won(5), now());
  clock_.advance(Millis(1000));
  SteadyTime asked = now();
  clock_.advance(Millis(400));  // a slow answer: the lease counts from the asking (1000)
  machine_.on_keepalive(KeepaliveOutcome::Renewed, kTtl, asked, now());
  EXPECT_EQ(machine_.lease_valid_until(), asked + kTtl);
  // Then etcd stops answering.
  clock_.advance(Millis(1000));
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::KeepAlive);
  machine_.on_keepalive(KeepaliveOutcome::Failed, Millis(0), now(), now());
  EXPECT_EQ(machine_.next_deadline(), now() + Millis(500));  // retried sooner
  clock_.advance(Millis(1599));                              // 3999 < 4000
  EXPECT_FALSE(machine_.check_expiry(now()));
  EXPECT_EQ(machine_.role(), ElectionRole::Leader);
  clock_.advance(Millis(1));
  EXPECT_TRUE(machine_.check_expiry(now()));
  EXPECT_EQ(machine_.role(), ElectionRole::Campaigning);
  EXPECT_EQ(machine_.losses(), 1u);
  EXPECT_NE(machine_.lost_reason().find("not renewed"), std::string::npos);
}

TEST_F(ElectionMachineTest, AfterEtcdLostItsQuorumTheSameLeaseAndReignComeBack) {
  grant();
  machine_.on_campaign(won(5), now());
  // etcd without quorum for longer than the TTL: every keepalive fails, the leader steps down.
  ASSERT_NO_FATAL_FAILURE(fail_keepalives_until_not_leader());
  EXPECT_EQ(machine_.role(), ElectionRole::Campaigning);
  // It keeps the lease id and keeps renewing it; it does not campaign on a lease it cannot
  // vouch for.
  EXPECT_EQ(machine_.lease_id(), 42);
  for (int i = 0; i < 5; ++i) {
    clock_.advance(std::chrono::duration_cast<Millis>(machine_.next_deadline() - now()));
    EXPECT_FALSE(machine_.check_expiry(now()));
    ASSERT_EQ(machine_.next_action(now()), ElectionAction::KeepAlive);
    machine_.on_keepalive(KeepaliveOutcome::Failed, Millis(0), now(), now());
  }
  // Quorum is back and etcd extended the lease (a new etcd leader restarts every TTL).
  clock_.advance(std::chrono::duration_cast<Millis>(machine_.next_deadline() - now()));
  machine_.on_keepalive(KeepaliveOutcome::Renewed, kTtl, now(), now());
  ASSERT_EQ(machine_.next_action(now()), ElectionAction::Campaign);
  // The key still carries our lease: the campaign reads it back as won, the same reign.
  EXPECT_TRUE(machine_.on_campaign(won(5), now()));
  EXPECT_EQ(machine_.role(), ElectionRole::Leader);
  EXPECT_EQ(machine_.reign(), 5);
  EXPECT_EQ(machine_.losses(), 1u);  // a new reign for the broker loop all the same
}

TEST_F(ElectionMachineTest, TheLeaderDeadlineIsNeverPastTheLease) {
  grant();
  machine_.on_campaign(won(5), now());
  // Keepalives keep failing: the next deadline is at most the lease's end.
  ASSERT_NO_FATAL_FAILURE(fail_keepalives_until_not_leader());
  EXPECT_EQ(machine_.role(), ElectionRole::Campaigning);
  EXPECT_EQ(now(), SteadyTime(kTtl));
}

TEST_F(ElectionMachineTest, AFencedWriteEndsTheReignAndTheNextCampaignSaysWhoLeads) {
  EXPECT_FALSE(machine_.on_fenced(now()));  // not a leader: nothing to lose
  grant();
  machine_.on_campaign(won(5), now());
  EXPECT_TRUE(machine_.on_fenced(now()));
  EXPECT_EQ(machine_.role(), ElectionRole::Campaigning);
  EXPECT_EQ(machine_.losses(), 1u);
  EXPECT_NE(machine_.lost_reason().find("fencing"), std::string::npos);
  // The lease is still valid: campaign at once; someone else holds the key.
  ASSERT_EQ(machine_.next_action(now()), ElectionAction::Campaign);
  EXPECT_TRUE(machine_.on_campaign(led(), now()));
  EXPECT_EQ(machine_.role(), ElectionRole::Standby);
  EXPECT_EQ(machine_.leader(), kOther);
}

TEST_F(ElectionMachineTest, AStandbyWhoseLeaseIsGoneGrantsAnotherAndCampaignsAgain) {
  grant();
  machine_.on_campaign(led(), now());
  clock_.advance(Millis(1000));
  EXPECT_TRUE(machine_.on_keepalive(KeepaliveOutcome::Gone, Millis(0), now(), now()));
  EXPECT_EQ(machine_.role(), ElectionRole::Campaigning);
  EXPECT_EQ(machine_.lease_id(), 0);
  EXPECT_EQ(machine_.leader(), kOther);  // still known, for not_leader answers
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::GrantLease);

  // etcd silent for a TTL: the standby stops campaigning and keeps asking about its lease
  // until etcd says it is gone.
  machine_.on_lease_granted(43, kTtl, now(), now());
  machine_.on_campaign(led(), now());
  clock_.advance(kTtl);
  EXPECT_FALSE(machine_.check_expiry(now()));
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::KeepAlive);
  machine_.on_keepalive(KeepaliveOutcome::Failed, Millis(0), now(), now());
  clock_.advance(std::chrono::duration_cast<Millis>(machine_.next_deadline() - now()));
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::KeepAlive);
  machine_.on_keepalive(KeepaliveOutcome::Gone, Millis(0), now(), now());
  EXPECT_EQ(machine_.next_action(now()), ElectionAction::GrantLease);
}

TEST(BrokerDirectory, TheStandbysAreEveryRegisteredBrokerButTheLeaderSorted) {
  std::vector<LeaderRecord> brokers = {{"c", "10.0.0.3:7100"}, kMe, {"b", "10.0.0.2:7100"}};
  EXPECT_EQ(standby_addresses(brokers, "me"),
            (std::vector<std::string>{"10.0.0.2:7100", "10.0.0.3:7100"}));
  // No leader known: every broker is listed.
  EXPECT_EQ(standby_addresses(brokers, "").size(), 3u);
  EXPECT_TRUE(standby_addresses({}, "me").empty());
}

TEST(ElectionMachine, TtlIsAtLeastOneSecond) {
  EXPECT_EQ(ElectionMachine(Millis(10)).ttl(), Millis(1000));
  EXPECT_EQ(ElectionMachine(Millis(5000)).ttl(), Millis(5000));
}

}  // namespace
}  // namespace cube::broker
