// cube::Client with several brokers (docs/ha.md): not_leader redirects with the same request id,
// moving on from a silent broker, remembering the leader, the bounded redirects and the final
// message naming every broker.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client/client.h"
#include "protocol/codec.h"
#include "tests/unit/client/fake_broker.h"

namespace cube {
namespace {

using testing::FakeBroker;
using testing::FakeResponse;
using testing::ReceivedRequest;

FakeResponse not_leader(const std::string& leader) {
  protocol::Reply reply;
  reply.status = Status::unavailable(leader.empty() ? "not_leader: not known yet"
                                                    : "not_leader: leader is " + leader);
  return FakeResponse::answer(reply);
}

FakeResponse stored_task() {
  protocol::Reply reply;
  Task task;
  task.id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";
  task.name = "web";
  reply.task = task;
  return FakeResponse::answer(reply);
}

ClientOptions options_for(const std::vector<std::string>& endpoints, Millis per_try,
                          Millis overall) {
  ClientOptions options;
  options.endpoint = endpoints.front();
  options.other_endpoints.assign(endpoints.begin() + 1, endpoints.end());
  options.timeout_per_try = per_try;
  options.failover_timeout = overall;
  return options;
}

Task web() {
  Task t;
  t.id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";
  t.name = "web";
  t.image = "nginx";
  return t;
}

TEST(BrokerEndpoints, ReadsAListInOrderAndRefusesEmptyOrRepeatedItems) {
  auto list = broker_endpoints("127.0.0.1:7100,10.0.0.2:7200,[::1]:7300");
  ASSERT_TRUE(list.is_ok()) << list.status().to_string();
  EXPECT_EQ(*list, (std::vector<std::string>{"tcp://127.0.0.1:7100", "tcp://10.0.0.2:7200",
                                             "tcp://[::1]:7300"}));
  EXPECT_EQ(broker_endpoints("127.0.0.1:7100")->size(), 1u);
  auto empty = broker_endpoints("127.0.0.1:7100,,10.0.0.2:7100");
  ASSERT_FALSE(empty.is_ok());
  EXPECT_NE(empty.status().message().find("empty item"), std::string::npos);
  auto twice = broker_endpoints("127.0.0.1:7100,127.0.0.1:7100");
  ASSERT_FALSE(twice.is_ok());
  EXPECT_NE(twice.status().message().find("twice"), std::string::npos);
  auto bad = broker_endpoints("127.0.0.1:7100,nohost");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("nohost"), std::string::npos);
  auto options = client_options_for("127.0.0.1:7100,10.0.0.2:7200");
  ASSERT_TRUE(options.is_ok());
  EXPECT_EQ(options->endpoint, "tcp://127.0.0.1:7100");
  EXPECT_EQ(options->other_endpoints, std::vector<std::string>{"tcp://10.0.0.2:7200"});
}

TEST(ClientFailover, FollowsNotLeaderWithTheSameRequestIdAndRemembersTheLeader) {
  FakeBroker leader([](size_t, const ReceivedRequest&) { return stored_task(); });
  std::string leader_address = leader.address();
  FakeBroker standby(
      [leader_address](size_t, const ReceivedRequest&) { return not_leader(leader_address); });
  ManualClock clock;
  // The leader is not in the list: it is named by the standby's answer. With one broker,
  // failover is asked for explicitly (as the gateway does).
  ClientOptions one = options_for({standby.endpoint()}, Millis(2000), Millis(15000));
  one.failover = true;
  Client client(one, clock);

  auto stored = client.submit(web());

  ASSERT_TRUE(stored.is_ok()) << stored.status().to_string();
  ASSERT_EQ(standby.requests().size(), 1u);
  ASSERT_EQ(leader.requests().size(), 1u);
  EXPECT_EQ(standby.requests()[0].request_id, leader.requests()[0].request_id)
      << "a redirected submit is the same request, so the broker stores it once";
  EXPECT_EQ(client.address(), leader_address);

  // The next call goes straight to the leader.
  ASSERT_TRUE(client.list().is_ok());
  EXPECT_EQ(standby.requests().size(), 1u);
  EXPECT_EQ(leader.requests().size(), 2u);
}

TEST(ClientFailover, OneBrokerWithoutFailoverReturnsTheStandbysAnswer) {
  FakeBroker standby([](size_t, const ReceivedRequest&) { return not_leader("10.0.0.9:7100"); });
  ManualClock clock;
  ClientOptions options;
  options.endpoint = standby.endpoint();
  Client client(options, clock);

  auto listed = client.list();

  ASSERT_FALSE(listed.is_ok());
  EXPECT_EQ(listed.status().message(), "not_leader: leader is 10.0.0.9:7100");
  EXPECT_EQ(standby.requests().size(), 1u);
}

TEST(ClientFailover, MovesOnFromASilentBrokerToTheNextOfTheList) {
  std::string dead = "tcp://" + testing::unused_local_address();
  FakeBroker alive([](size_t, const ReceivedRequest&) { return stored_task(); });
  Client client(options_for({dead, alive.endpoint()}, Millis(200), Millis(5000)), system_clock());

  auto stored = client.submit(web());

  ASSERT_TRUE(stored.is_ok()) << stored.status().to_string();
  EXPECT_EQ(client.address(), alive.address());
  // Remembered: the dead one is not asked again.
  SteadyTime before = system_clock().now();
  ASSERT_TRUE(client.list().is_ok());
  EXPECT_LT(system_clock().now() - before, Millis(200));
  EXPECT_EQ(alive.requests().size(), 2u);
}

TEST(ClientFailover, ARedirectToTheBrokerThatWasSilentIsNotFollowed) {
  // A standby still names the dead leader until its lease ends; the client asks the others.
  std::string dead_address = testing::unused_local_address();
  FakeBroker stale(
      [dead_address](size_t, const ReceivedRequest&) { return not_leader(dead_address); });
  FakeBroker successor([](size_t, const ReceivedRequest&) { return stored_task(); });
  Client client(options_for({"tcp://" + dead_address, stale.endpoint(), successor.endpoint()},
                            Millis(200), Millis(5000)),
                system_clock());

  auto stored = client.submit(web());

  ASSERT_TRUE(stored.is_ok()) << stored.status().to_string();
  EXPECT_EQ(stale.requests().size(), 1u);
  EXPECT_EQ(successor.requests().size(), 1u);
}

TEST(ClientFailover, RedirectsAreBoundedAndTheFinalErrorNamesEveryBroker) {
  // Two standbys naming each other forever: hops stop, the round pauses, the deadline ends it.
  std::unique_ptr<FakeBroker> a, b;
  b = std::make_unique<FakeBroker>(
      [&a](size_t, const ReceivedRequest&) { return not_leader(a->address()); });
  std::string b_address = b->address();
  a = std::make_unique<FakeBroker>(
      [b_address](size_t, const ReceivedRequest&) { return not_leader(b_address); });
  ManualClock clock;
  Client client(options_for({a->endpoint(), b->endpoint()}, Millis(2000), Millis(3000)), clock);

  auto listed = client.list();

  ASSERT_FALSE(listed.is_ok());
  EXPECT_TRUE(listed.status().is_unavailable());
  EXPECT_TRUE(client.was_unanswered());
  std::string message = listed.status().message();
  EXPECT_NE(message.find("no broker answered as leader within 3 s"), std::string::npos) << message;
  EXPECT_NE(message.find(a->address() + ": not_leader: leader is " + b_address), std::string::npos)
      << message;
  EXPECT_NE(message.find(b_address + ": not_leader: leader is " + a->address()), std::string::npos)
      << message;
  // 3 s of 250 ms pauses: about a dozen rounds of two answers, plus the bounded hops.
  size_t asked = a->requests().size() + b->requests().size();
  EXPECT_GE(asked, 12u);
  EXPECT_LE(asked, 40u);
}

TEST(ClientFailover, SilenceEverywhereEndsAtTheDeadlineNamingEachBroker) {
  std::string one = testing::unused_local_address();
  std::string two = testing::unused_local_address();
  Client client(options_for({"tcp://" + one, "tcp://" + two}, Millis(100), Millis(700)),
                system_clock());

  SteadyTime before = system_clock().now();
  auto status = client.status();
  Millis took = std::chrono::duration_cast<Millis>(system_clock().now() - before);

  ASSERT_FALSE(status.is_ok());
  EXPECT_TRUE(client.was_unanswered());
  std::string message = status.status().message();
  EXPECT_NE(message.find(one + ": did not answer"), std::string::npos) << message;
  EXPECT_NE(message.find(two + ": did not answer"), std::string::npos) << message;
  EXPECT_GE(took, Millis(650));
  EXPECT_LT(took, Millis(3000));
}

TEST(ClientFailover, NotKnownYetIsAskedAgainUntilALeaderIsNamed) {
  FakeBroker leader([](size_t, const ReceivedRequest&) { return stored_task(); });
  std::string leader_address = leader.address();
  FakeBroker standby([leader_address](size_t index, const ReceivedRequest&) {
    return index < 3 ? not_leader("") : not_leader(leader_address);
  });
  ManualClock clock;
  ClientOptions options = options_for({standby.endpoint()}, Millis(2000), Millis(15000));
  options.failover = true;
  Client client(options, clock);
  SteadyTime start = clock.now();

  auto stored = client.submit(web());

  ASSERT_TRUE(stored.is_ok()) << stored.status().to_string();
  EXPECT_EQ(standby.requests().size(), 4u);
  // A round of one broker that names no leader pauses kFailoverRoundPause.
  EXPECT_EQ(clock.now() - start, 3 * Client::kFailoverRoundPause);
}

}  // namespace
}  // namespace cube
