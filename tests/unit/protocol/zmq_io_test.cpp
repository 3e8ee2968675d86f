// protocol/zmq_io.h on real sockets: inproc:// where the transport does not matter, and
// tcp://127.0.0.1:* (read back through ZMQ_LAST_ENDPOINT) where it does (ZMQ_MAXMSGSIZE is
// enforced by the ZMTP decoder, which inproc does not use).
#include "protocol/zmq_io.h"

#include <gtest/gtest.h>

#include <zmq_addon.hpp>

#include "common/clock.h"
#include "tests/unit/protocol/samples.h"

namespace cube::test {
namespace {

using protocol::receive;
using protocol::Received;
using protocol::send;

// Long enough for a loaded 2-core CI machine; a passing test never waits for it.
constexpr int kWaitMs = 10000;

bool wait_readable(zmq::socket_t& socket, int timeout_ms = kWaitMs) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  return zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) == 1;
}

// Waits for the next message and parses it; fails the test when nothing comes.
Received receive_one(zmq::socket_t& socket, size_t routing_frames, Status* error) {
  EXPECT_TRUE(wait_readable(socket)) << "no message within " << kWaitMs << " ms";
  auto got = receive(socket, routing_frames, error);
  EXPECT_TRUE(got.has_value());
  return got ? std::move(*got) : Received{};
}

template <typename M>
M decode_received(const Received& r) {
  EXPECT_EQ(r.type, static_cast<uint8_t>(MessageTraits<M>::kType));
  auto decoded = protocol::decode_as<M>(r.body);
  EXPECT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  return decoded.is_ok() ? *decoded : M{};
}

std::string last_endpoint(zmq::socket_t& socket) {
  return socket.get(zmq::sockopt::last_endpoint);
}

std::vector<zmq::message_t> routing_of(const Received& r) {
  std::vector<zmq::message_t> routing;
  for (size_t i = 0; i < r.envelope_start; ++i)
    routing.emplace_back(r.frames[i].data(), r.frames[i].size());
  return routing;
}

class ZmqIoTest : public ::testing::Test {
 protected:
  zmq::context_t ctx_;
};

TEST_F(ZmqIoTest, RouterDealerRoundTrip) {
  zmq::socket_t router(ctx_, zmq::socket_type::router);
  protocol::apply_socket_defaults(router, protocol::kMaxInboundMessageBytes);
  router.bind("inproc://router-dealer");
  zmq::socket_t dealer(ctx_, zmq::socket_type::dealer);
  protocol::apply_socket_defaults(dealer, protocol::kMaxInboundMessageBytes);
  dealer.set(zmq::sockopt::routing_id, "agent-1");
  dealer.connect("inproc://router-dealer");

  ASSERT_TRUE(send(dealer, sample<Hello>()).is_ok());
  Status error = Status::internal("untouched");
  Received hello = receive_one(router, 1, &error);
  EXPECT_TRUE(error.is_ok()) << error.to_string();
  ASSERT_EQ(hello.frames.size(), 4u);  // routing id, CUBE1, type, body
  EXPECT_EQ(hello.envelope_start, 1u);
  EXPECT_EQ(hello.frames[0].to_string(), "agent-1");
  EXPECT_EQ(decode_received<Hello>(hello), sample<Hello>());

  // The reply goes back through the routing frame the request came with.
  auto routing = routing_of(hello);
  ASSERT_TRUE(send(router, routing, sample<Welcome>()).is_ok());
  Received welcome = receive_one(dealer, 0, &error);
  EXPECT_TRUE(error.is_ok());
  EXPECT_EQ(welcome.envelope_start, 0u);
  EXPECT_EQ(welcome.frames.size(), 3u);
  EXPECT_EQ(decode_received<Welcome>(welcome), sample<Welcome>());
}

TEST_F(ZmqIoTest, RouterReqRoundTripFindsTheDelimiter) {
  zmq::socket_t router(ctx_, zmq::socket_type::router);
  protocol::apply_socket_defaults(router, protocol::kMaxInboundMessageBytes);
  router.bind("inproc://router-req");
  zmq::socket_t req(ctx_, zmq::socket_type::req);
  protocol::apply_socket_defaults(req, protocol::kMaxReplyBytes);
  req.connect("inproc://router-req");

  ASSERT_TRUE(send(req, sample<SubmitRequest>()).is_ok());
  Status error;
  Received request = receive_one(router, 1, &error);
  EXPECT_TRUE(error.is_ok()) << error.to_string();
  ASSERT_EQ(request.frames.size(), 5u);  // routing id, empty delimiter, CUBE1, type, body
  EXPECT_EQ(request.frames[1].size(), 0u);
  EXPECT_EQ(request.envelope_start, 2u);
  EXPECT_EQ(decode_received<SubmitRequest>(request), sample<SubmitRequest>());

  // Routing id and delimiter go back, so the REQ socket accepts the reply.
  Reply reply = sample<Reply>();
  ASSERT_TRUE(send(router, routing_of(request), reply).is_ok());
  Received got = receive_one(req, 0, &error);
  EXPECT_TRUE(error.is_ok()) << error.to_string();
  EXPECT_EQ(decode_received<Reply>(got), reply);
}

TEST_F(ZmqIoTest, ReceiveReturnsNothingWhenNothingIsWaiting) {
  zmq::socket_t router(ctx_, zmq::socket_type::router);
  router.bind("inproc://empty");
  Status error;
  EXPECT_FALSE(receive(router, 1, &error).has_value());
  EXPECT_TRUE(error.is_ok());
}

// A peer speaking another version still gets an answer: receive returns its frames with the
// error, and the ERROR reply reaches it.
TEST_F(ZmqIoTest, InvalidEnvelopeKeepsFramesForTheAnswer) {
  zmq::socket_t router(ctx_, zmq::socket_type::router);
  router.bind("inproc://bad-envelope");
  zmq::socket_t dealer(ctx_, zmq::socket_type::dealer);
  dealer.connect("inproc://bad-envelope");
  std::vector<zmq::const_buffer> frames = {zmq::str_buffer("CUBE2"), zmq::str_buffer("\x01"),
                                           zmq::str_buffer("\x80")};
  ASSERT_TRUE(zmq::send_multipart(dealer, frames));

  Status error;
  Received bad = receive_one(router, 1, &error);
  EXPECT_TRUE(error.is_invalid());
  EXPECT_NE(error.message().find("CUBE2"), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("CUBE1"), std::string::npos) << error.message();
  EXPECT_EQ(bad.type, 0);
  ASSERT_EQ(bad.frames.size(), 4u);

  ASSERT_TRUE(
      send(router, routing_of(bad), ErrorMessage{ErrorCode::Invalid, error.message()}).is_ok());
  Received answer = receive_one(dealer, 0, &error);
  EXPECT_TRUE(error.is_ok());
  EXPECT_EQ(decode_received<ErrorMessage>(answer).code, ErrorCode::Invalid);
}

// A multipart message of many frames is consumed whole (only the first few are kept), so the
// next message starts at its own first frame.
TEST_F(ZmqIoTest, ManyFramesAreDrainedAndTheNextMessageParses) {
  zmq::socket_t router(ctx_, zmq::socket_type::router);
  router.bind("inproc://many-frames");
  zmq::socket_t dealer(ctx_, zmq::socket_type::dealer);
  dealer.connect("inproc://many-frames");
  for (int i = 0; i < 1000; ++i)
    dealer.send(zmq::str_buffer("x"), zmq::send_flags::sndmore);
  dealer.send(zmq::str_buffer("x"), zmq::send_flags::none);
  ASSERT_TRUE(send(dealer, sample<Credit>()).is_ok());

  Status error;
  Received junk = receive_one(router, 1, &error);
  EXPECT_TRUE(error.is_invalid());
  EXPECT_LE(junk.frames.size(), 8u);
  Received credit = receive_one(router, 1, &error);
  EXPECT_TRUE(error.is_ok()) << error.to_string();
  EXPECT_EQ(decode_received<Credit>(credit), sample<Credit>());
}

// Counts the monitor events the MAXMSGSIZE test waits for.
class ConnectionMonitor : public zmq::monitor_t {
 public:
  void on_event_accepted(const zmq_event_t&, const char*) override { ++accepted; }
  void on_event_disconnected(const zmq_event_t&, const char*) override { ++disconnected; }
  int accepted = 0;
  int disconnected = 0;
};

// Polls the monitor until `done` holds, for at most kWaitMs.
template <typename Done>
bool wait_for(ConnectionMonitor& monitor, Done done) {
  const Clock& clock = system_clock();
  SteadyTime deadline = clock.now() + Millis(kWaitMs);
  while (!done()) {
    int64_t left = millis_until(clock.now(), deadline);
    if (left == 0)
      return false;
    monitor.check_event(static_cast<int>(left));
  }
  return true;
}

TEST_F(ZmqIoTest, MaxMsgSizeDropsTheOversizedMessageAndKeepsServingOthers) {
  constexpr int64_t kLimit = 1024;
  zmq::socket_t router(ctx_, zmq::socket_type::router);
  protocol::apply_socket_defaults(router, kLimit);
  ConnectionMonitor monitor;
  monitor.init(router, "inproc://monitor-maxmsgsize", ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED);
  router.bind("tcp://127.0.0.1:*");
  std::string endpoint = last_endpoint(router);
  ASSERT_EQ(endpoint.rfind("tcp://127.0.0.1:", 0), 0u) << endpoint;

  zmq::socket_t hostile(ctx_, zmq::socket_type::dealer);
  protocol::apply_socket_defaults(hostile, protocol::kMaxInboundMessageBytes);
  hostile.connect(endpoint);
  ASSERT_TRUE(send(hostile, Sync{std::string(4 * kLimit, 'x')}).is_ok());

  // The router drops the connection when the frame header announces more than the limit.
  ASSERT_TRUE(wait_for(monitor, [&] { return monitor.disconnected >= 1; }))
      << "the oversized message did not drop the connection";
  Status error;
  EXPECT_FALSE(receive(router, 1, &error).has_value()) << "the oversized message was delivered";

  // A well-behaved peer is served as before.
  zmq::socket_t normal(ctx_, zmq::socket_type::dealer);
  protocol::apply_socket_defaults(normal, protocol::kMaxInboundMessageBytes);
  normal.set(zmq::sockopt::routing_id, "normal");
  normal.connect(endpoint);
  ASSERT_TRUE(send(normal, sample<Credit>()).is_ok());
  Received got = receive_one(router, 1, &error);
  EXPECT_TRUE(error.is_ok()) << error.to_string();
  EXPECT_EQ(got.frames[0].to_string(), "normal");
  EXPECT_EQ(decode_received<Credit>(got), sample<Credit>());
  // Nothing else arrived: the oversized message is gone for good.
  EXPECT_FALSE(receive(router, 1, &error).has_value());
  monitor.abort();
}

TEST_F(ZmqIoTest, SendToAGonePeerIsUnavailable) {
  zmq::socket_t router(ctx_, zmq::socket_type::router);
  router.set(zmq::sockopt::router_mandatory, 1);
  router.bind("inproc://mandatory");
  std::vector<zmq::message_t> routing;
  routing.emplace_back(std::string_view("nobody"));
  Status s = send(router, routing, sample<Welcome>());
  EXPECT_TRUE(s.is_unavailable()) << s.to_string();
  EXPECT_NE(s.message().find("send failed"), std::string::npos) << s.message();
}

// A send that cannot be queued returns at once instead of blocking the poll loop.
TEST_F(ZmqIoTest, SendWithoutPeerIsUnavailableAndDoesNotBlock) {
  zmq::socket_t lonely(ctx_, zmq::socket_type::dealer);
  protocol::apply_socket_defaults(lonely, protocol::kMaxInboundMessageBytes);
  Status s = send(lonely, sample<Credit>());
  EXPECT_TRUE(s.is_unavailable()) << s.to_string();
  EXPECT_EQ(s.message(), "peer queue full");

  // Connected to an endpoint nobody bound yet: messages queue up to the high-water mark, then
  // the next send is refused.
  zmq::socket_t dealer(ctx_, zmq::socket_type::dealer);
  protocol::apply_socket_defaults(dealer, protocol::kMaxInboundMessageBytes);
  dealer.set(zmq::sockopt::sndhwm, 2);
  dealer.connect("inproc://nobody-bound-here");
  int sent = 0;
  while ((s = send(dealer, sample<Credit>())).is_ok() && sent < 10000)
    ++sent;
  EXPECT_TRUE(s.is_unavailable()) << s.to_string();
  EXPECT_GE(sent, 1);
  EXPECT_LT(sent, 10000);
}

TEST_F(ZmqIoTest, SocketDefaults) {
  zmq::socket_t socket(ctx_, zmq::socket_type::router);
  protocol::apply_socket_defaults(socket, 12345);
  EXPECT_EQ(socket.get(zmq::sockopt::linger), 0);
  EXPECT_EQ(socket.get(zmq::sockopt::maxmsgsize), 12345);
  protocol::enable_zmtp_heartbeats(socket, 1000, 5000);
  EXPECT_EQ(socket.get(zmq::sockopt::heartbeat_ivl), 1000);
  EXPECT_EQ(socket.get(zmq::sockopt::heartbeat_timeout), 5000);
}

// --- endpoints ---

struct HostPortCase {
  std::string text;
  bool allow_zero;
  bool ok;
  std::string host;
  int port;
};

TEST(HostPort, Table) {
  const HostPortCase cases[] = {
      {"127.0.0.1:7100", false, true, "127.0.0.1", 7100},
      {"localhost:1", false, true, "localhost", 1},
      {"broker.example.com:65535", false, true, "broker.example.com", 65535},
      {"[::1]:7100", false, true, "::1", 7100},
      {"[2001:db8::1]:80", false, true, "2001:db8::1", 80},
      {"0.0.0.0:0", true, true, "0.0.0.0", 0},
      {"0.0.0.0:0", false, false, "", 0},
      {"host:65536", false, false, "", 0},
      {"host:-1", false, false, "", 0},
      {"host:", false, false, "", 0},
      {":7100", false, false, "", 0},
      {"[]:7100", false, false, "", 0},
      {"host", false, false, "", 0},
      {"", false, false, "", 0},
      {"host:71x0", false, false, "", 0},
      {"host:+80", false, false, "", 0},
      {"host: 80", false, false, "", 0},
      {"host:99999999999999999999", false, false, "", 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    std::string host = "unchanged";
    int port = -7;
    Status s = protocol::parse_host_port(c.text, host, port, c.allow_zero);
    EXPECT_EQ(s.is_ok(), c.ok) << s.to_string();
    if (c.ok) {
      EXPECT_EQ(host, c.host);
      EXPECT_EQ(port, c.port);
    } else {
      EXPECT_TRUE(s.is_invalid());
      // The message quotes the input or the port so the user sees what was wrong.
      EXPECT_TRUE(s.message().find(c.text) != std::string::npos ||
                  s.message().find("outside 1..65535") != std::string::npos)
          << s.message();
      EXPECT_EQ(host, "unchanged") << "outputs are untouched on error";
      EXPECT_EQ(port, -7);
    }
  }
}

TEST(HostPort, TcpEndpoint) {
  EXPECT_EQ(protocol::tcp_endpoint("127.0.0.1", 7100), "tcp://127.0.0.1:7100");
  EXPECT_EQ(protocol::tcp_endpoint("::1", 7101), "tcp://[::1]:7101");
  EXPECT_EQ(protocol::tcp_endpoint("[::1]", 7101), "tcp://[::1]:7101");
  EXPECT_EQ(protocol::tcp_endpoint("*", 0), "tcp://*:0");
  // parse_host_port and tcp_endpoint agree.
  std::string host;
  int port = 0;
  ASSERT_TRUE(protocol::parse_host_port("[fe80::1]:7102", host, port).is_ok());
  EXPECT_EQ(protocol::tcp_endpoint(host, port), "tcp://[fe80::1]:7102");
}

}  // namespace
}  // namespace cube::test
