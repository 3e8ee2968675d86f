// handshake_verdict as a table, and HandshakeWatch against real sockets: a plaintext client and
// a CURVE server disagree on the mechanism, which the client's monitor must report.
#include "client/handshake_watch.h"

#include <gtest/gtest.h>

#include "protocol/curve.h"

namespace cube {
namespace {

TEST(HandshakeVerdictTest, Table) {
  HandshakeEvents none;
  EXPECT_FALSE(handshake_verdict(none, false, "b:1", true));
  EXPECT_FALSE(handshake_verdict(none, true, "b:1", true));

  HandshakeEvents mismatch;
  mismatch.mechanism_mismatch = true;
  auto no_key = handshake_verdict(mismatch, /*curve=*/false, "b:1", false);
  ASSERT_TRUE(no_key);
  EXPECT_EQ(no_key->code(), ErrorCode::Unauthorized);
  EXPECT_NE(no_key->message().find("the broker at b:1 requires CURVE encryption"),
            std::string::npos);
  EXPECT_NE(no_key->message().find("cube-client keygen"), std::string::npos);
  auto plain_broker = handshake_verdict(mismatch, /*curve=*/true, "b:1", false);
  ASSERT_TRUE(plain_broker);
  EXPECT_NE(plain_broker->message().find("does not use CURVE"), std::string::npos);

  HandshakeEvents refused;
  refused.auth_failure_status = 400;
  auto unlisted = handshake_verdict(refused, true, "b:1", false);
  ASSERT_TRUE(unlisted);
  EXPECT_NE(unlisted->message().find("ZAP status 400"), std::string::npos);
  EXPECT_NE(unlisted->message().find("--authorized-clients"), std::string::npos);

  // Hung up mid-handshake: a suspicion only once every try is over, and only with CURVE.
  HandshakeEvents closed;
  closed.connected = true;
  closed.closed_in_handshake = true;
  EXPECT_FALSE(handshake_verdict(closed, true, "b:1", /*final=*/false));
  auto wrong_key = handshake_verdict(closed, true, "b:1", /*final=*/true);
  ASSERT_TRUE(wrong_key);
  EXPECT_NE(wrong_key->message().find("check that --broker-key"), std::string::npos);
  EXPECT_FALSE(handshake_verdict(closed, false, "b:1", true)) << "one hang-up proves nothing";
  // A keyless client hung up on again and again: the broker wants CURVE (it often closes
  // before the client read its greeting, so no mismatch event comes).
  HandshakeEvents hung_up = closed;
  hung_up.hangups = kHangupsMeaningCurve - 1;
  EXPECT_FALSE(handshake_verdict(hung_up, false, "b:1", false));
  hung_up.hangups = kHangupsMeaningCurve;
  auto wants_curve = handshake_verdict(hung_up, false, "b:1", false);
  ASSERT_TRUE(wants_curve);
  EXPECT_NE(wants_curve->message().find("requires CURVE encryption and this client has no key"),
            std::string::npos);
  EXPECT_TRUE(handshake_verdict(hung_up, true, "b:1", true)) << "with a key: the wrong key";
  // One good handshake clears the suspicion (the broker accepts us; it is just slow).
  closed.succeeded = true;
  EXPECT_FALSE(handshake_verdict(closed, true, "b:1", true));
}

TEST(HandshakeWatchTest, SeesAMechanismMismatchWithACurveServer) {
  auto server_keys = protocol::generate_curve_keypair();
  ASSERT_TRUE(server_keys.is_ok());
  zmq::context_t context(1);
  zmq::socket_t server(context, zmq::socket_type::router);
  server.set(zmq::sockopt::linger, 0);
  ASSERT_TRUE(protocol::apply_curve_server(server, server_keys->secret_key, "clients").is_ok());
  server.bind("tcp://127.0.0.1:*");
  std::string endpoint = server.get(zmq::sockopt::last_endpoint);

  zmq::socket_t client(context, zmq::socket_type::req);
  client.set(zmq::sockopt::linger, 0);
  auto watch = HandshakeWatch::start(context, client);
  ASSERT_TRUE(watch.is_ok()) << watch.status().to_string();
  client.connect(endpoint);
  bool seen = false;
  // Each event wakes the poll; 50 events or 5 s of silence end the wait.
  for (int i = 0; i < 50 && !seen; ++i) {
    zmq::pollitem_t item{(*watch)->handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(5000)) == 0)
      break;
    (*watch)->read_pending();
    seen = (*watch)->events().mechanism_mismatch;
  }
  EXPECT_TRUE(seen);
  EXPECT_TRUE((*watch)->events().connected);
  EXPECT_FALSE((*watch)->events().succeeded);
  watch->reset();  // before the socket closes
}

}  // namespace
}  // namespace cube
