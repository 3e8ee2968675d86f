// protocol/beacon_slices.h: the topics, an agent's slice, and receive_published() on a real
// PUB/SUB pair whose subscriptions are an agent's (plain beacons and one slice).
#include "protocol/beacon_slices.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "protocol/zmq_io.h"

namespace cube::test {
namespace {

using protocol::beacon_slice_of;
using protocol::beacon_topic;
using protocol::kBeaconSlices;

// Long enough for a loaded 2-core CI machine; a passing test never waits for it.
constexpr int kWaitMs = 10000;

TEST(BeaconSlicesTest, TopicsAreDistinctAndNoneIsAPrefixOfAnotherOrOfTheVersion) {
  EXPECT_EQ(beacon_topic(0), "B00");
  EXPECT_EQ(beacon_topic(7), "B07");
  EXPECT_EQ(beacon_topic(kBeaconSlices - 1), "B63");
  std::set<std::string> topics;
  for (int i = 0; i < kBeaconSlices; ++i)
    topics.insert(beacon_topic(i));
  ASSERT_EQ(topics.size(), static_cast<size_t>(kBeaconSlices));
  for (const auto& a : topics) {
    EXPECT_FALSE(std::string(protocol::kProtocolVersion).starts_with(a)) << a;
    for (const auto& b : topics)
      EXPECT_TRUE(a == b || !b.starts_with(a)) << a << " is a prefix of " << b;
  }
}

TEST(BeaconSlicesTest, AnAgentsSliceComesFromItsIdAloneAndAFleetCoversEverySlice) {
  const std::string id = "0190a3c4-1111-7000-8000-000000000001";
  EXPECT_EQ(beacon_slice_of(id), beacon_slice_of(std::string(id)));
  std::vector<int> agents_per_slice(kBeaconSlices);
  for (int i = 0; i < 1000; ++i) {
    int slice = beacon_slice_of("agent-" + std::to_string(i));
    ASSERT_GE(slice, 0);
    ASSERT_LT(slice, kBeaconSlices);
    ++agents_per_slice[slice];
  }
  // 1,000 agents over 64 slices: about 16 each. An uneven hash would bring back the burst.
  for (int slice = 0; slice < kBeaconSlices; ++slice) {
    EXPECT_GE(agents_per_slice[slice], 4) << "slice " << slice;
    EXPECT_LE(agents_per_slice[slice], 40) << "slice " << slice;
  }
}

class PublishedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pub_.bind("inproc://beacon");
    sub_.set(zmq::sockopt::subscribe, protocol::kProtocolVersion);
    sub_.set(zmq::sockopt::subscribe, beacon_topic(5));
    sub_.connect("inproc://beacon");
  }

  void publish(const std::string& epoch, std::optional<int> slice) {
    std::vector<zmq::message_t> topic;
    if (slice)
      topic.emplace_back(beacon_topic(*slice));
    ASSERT_TRUE(protocol::send(pub_, topic, protocol::Beacon{epoch, 1000}).is_ok());
  }

  // The next message's epoch and where its envelope began.
  std::pair<std::string, size_t> next() {
    zmq::pollitem_t item{sub_.handle(), 0, ZMQ_POLLIN, 0};
    EXPECT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(kWaitMs)), 1) << "no message";
    Status error;
    auto got = protocol::receive_published(sub_, &error);
    EXPECT_TRUE(got.has_value());
    if (!got)
      return {};
    EXPECT_TRUE(error.is_ok()) << error.to_string();
    auto beacon = protocol::decode_as<protocol::Beacon>(got->body);
    EXPECT_TRUE(beacon.is_ok()) << beacon.status().to_string();
    return {beacon.is_ok() ? beacon->broker_epoch : "", got->envelope_start};
  }

  zmq::context_t ctx_;
  zmq::socket_t pub_{ctx_, zmq::socket_type::pub};
  zmq::socket_t sub_{ctx_, zmq::socket_type::sub};
};

TEST_F(PublishedTest, PlainAndOwnSliceBeaconsArriveOtherSlicesAreFilteredOut) {
  publish("plain", std::nullopt);
  publish("other-slice", 6);
  publish("own-slice", 5);
  publish("other-slice", 50);
  publish("plain-again", std::nullopt);
  EXPECT_EQ(next(), (std::pair<std::string, size_t>{"plain", 0}));
  EXPECT_EQ(next(), (std::pair<std::string, size_t>{"own-slice", 1}));
  EXPECT_EQ(next(), (std::pair<std::string, size_t>{"plain-again", 0}));
}

TEST_F(PublishedTest, ATopicWithNothingAfterItIsAnError) {
  ASSERT_TRUE(pub_.send(zmq::buffer(beacon_topic(5)), zmq::send_flags::none));
  zmq::pollitem_t item{sub_.handle(), 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(kWaitMs)), 1);
  Status error;
  auto got = protocol::receive_published(sub_, &error);
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(error.is_ok());
  EXPECT_EQ(got->type, 0);
}

}  // namespace
}  // namespace cube::test
