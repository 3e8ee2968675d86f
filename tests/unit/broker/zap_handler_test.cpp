#include "broker/zap_handler.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "protocol/curve.h"
#include "tests/support/process.h"

namespace cube::broker {
namespace {

using protocol::kZapDomainAgents;
using protocol::kZapDomainClients;

TEST(ZapDecisionTest, Table) {
  ZapAllowlists lists;
  lists.agents["AGENTKEY"] = "agent-1";
  lists.clients["CLIENTKEY"] = "alice";
  struct Case {
    std::string_view domain, mechanism, key;
    bool allowed;
    std::string user_id;
  };
  for (const auto& c : std::vector<Case>{
           {kZapDomainAgents, "CURVE", "AGENTKEY", true, "agent-1"},
           {kZapDomainClients, "CURVE", "CLIENTKEY", true, "alice"},
           // A client key cannot act as an agent, nor the reverse.
           {kZapDomainAgents, "CURVE", "CLIENTKEY", false, ""},
           {kZapDomainClients, "CURVE", "AGENTKEY", false, ""},
           {kZapDomainAgents, "CURVE", "STRANGER", false, ""},
           {kZapDomainAgents, "NULL", "AGENTKEY", false, ""},
           {"other", "CURVE", "AGENTKEY", false, ""},
       }) {
    ZapDecision d = decide_zap(lists, c.domain, c.mechanism, c.key);
    EXPECT_EQ(d.allowed, c.allowed) << c.domain << " " << c.mechanism << " " << c.key;
    EXPECT_EQ(d.user_id, c.user_id);
    EXPECT_EQ(d.reason.empty(), c.allowed) << d.reason;
  }
}

struct Keys {
  protocol::CurveKeyPair server = *protocol::generate_curve_keypair();
  protocol::CurveKeyPair client = *protocol::generate_curve_keypair();
};

// A CURVE ROUTER in domain "clients" on an ephemeral port.
std::string bind_server(zmq::socket_t& server, const Keys& keys) {
  server.set(zmq::sockopt::linger, 0);
  EXPECT_TRUE(
      protocol::apply_curve_server(server, keys.server.secret_key, protocol::kZapDomainClients)
          .is_ok());
  server.bind("tcp://127.0.0.1:*");
  return server.get(zmq::sockopt::last_endpoint);
}

TEST(ZapHandlerTest, AdmitsListedKeysWithTheirNameAsUserId) {
  Keys keys;
  zmq::context_t context(1);
  ZapHandler zap(context, ZapAllowlists::from({}, {{keys.client.public_key, "alice"}}));
  ASSERT_TRUE(zap.start().is_ok());
  zmq::socket_t server(context, zmq::socket_type::router);
  std::string endpoint = bind_server(server, keys);

  zmq::context_t client_context(1);
  zmq::socket_t client(client_context, zmq::socket_type::dealer);
  client.set(zmq::sockopt::linger, 0);
  ASSERT_TRUE(protocol::apply_curve_client(client, {keys.server.public_key, keys.client}).is_ok());
  client.connect(endpoint);
  client.send(zmq::str_buffer("hi"), zmq::send_flags::none);

  server.set(zmq::sockopt::rcvtimeo, 5000);
  zmq::message_t routing;
  zmq::message_t body;
  ASSERT_TRUE(server.recv(routing));
  ASSERT_TRUE(server.recv(body));
  EXPECT_EQ(body.to_string(), "hi");
  EXPECT_STREQ(body.gets("User-Id"), "alice");
  EXPECT_EQ(zap.admitted(), 1u);
  EXPECT_EQ(zap.refusals(), 0u);
}

TEST(ZapHandlerTest, SelfCheckPassesWhenStrangersAreRefusedAndReloadTakesEffect) {
  Keys keys;
  zmq::context_t context(1);
  ZapHandler zap(context, ZapAllowlists{});
  ASSERT_TRUE(zap.start().is_ok());
  zmq::socket_t server(context, zmq::socket_type::router);
  std::string endpoint = bind_server(server, keys);
  Status s = check_zap_refuses_strangers(endpoint, keys.server.public_key, zap, system_clock(),
                                         Millis(5000));
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_GE(zap.refusals(), 1u);
  // Counted in the domain of the socket that refused it (the server is a "clients" socket).
  ZapCounts counts = zap.counts();
  EXPECT_EQ(counts.refused_clients, zap.refusals());
  EXPECT_EQ(counts.refused_agents, 0u);
  EXPECT_EQ(counts.refused_other, 0u);

  // After a reload the new key gets in.
  zap.reload(ZapAllowlists::from({}, {{keys.client.public_key, "bob"}}));
  zmq::context_t client_context(1);
  zmq::socket_t client(client_context, zmq::socket_type::dealer);
  client.set(zmq::sockopt::linger, 0);
  ASSERT_TRUE(protocol::apply_curve_client(client, {keys.server.public_key, keys.client}).is_ok());
  client.connect(endpoint);
  client.send(zmq::str_buffer("x"), zmq::send_flags::none);
  server.set(zmq::sockopt::rcvtimeo, 5000);
  zmq::message_t routing;
  zmq::message_t body;
  ASSERT_TRUE(server.recv(routing));
  ASSERT_TRUE(server.recv(body));
  EXPECT_STREQ(body.gets("User-Id"), "bob");
}

TEST(ZapHandlerTest, SelfCheckFailsWithoutAHandler) {
  // libzmq admits every CURVE client when no ZAP handler is bound: the check must catch it.
  Keys keys;
  zmq::context_t context(1);
  zmq::socket_t server(context, zmq::socket_type::router);
  std::string endpoint = bind_server(server, keys);
  zmq::context_t other(1);
  ZapHandler not_serving_this_context(other, ZapAllowlists{});
  Status s = check_zap_refuses_strangers(endpoint, keys.server.public_key, not_serving_this_context,
                                         system_clock(), Millis(5000));
  EXPECT_EQ(s.code(), ErrorCode::Internal);
  EXPECT_NE(s.message().find("refusing to start"), std::string::npos) << s.message();
}

// Routes spdlog's default logger into a ring buffer while it lives, so a test can read the log.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink_));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  // Lines logged so far that contain `text`. Any thread.
  long count(const std::string& text) const {
    auto lines = sink_->last_formatted();
    return std::count_if(lines.begin(), lines.end(), [&](const std::string& line) {
      return line.find(text) != std::string::npos;
    });
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(ZapHandlerTest, TheSelfChecksProbeIsNotLoggedAsAStrangerButAStrangerIs) {
  CapturedLog log;
  Keys keys;
  zmq::context_t context(1);
  ZapHandler zap(context, ZapAllowlists{});
  ASSERT_TRUE(zap.start().is_ok());
  zmq::socket_t server(context, zmq::socket_type::router);
  std::string endpoint = bind_server(server, keys);
  ASSERT_TRUE(check_zap_refuses_strangers(endpoint, keys.server.public_key, zap, system_clock(),
                                          Millis(5000))
                  .is_ok());
  EXPECT_EQ(log.count("refused a connection"), 0) << "the probe is no stranger";

  zmq::context_t client_context(1);
  zmq::socket_t stranger(client_context, zmq::socket_type::dealer);
  stranger.set(zmq::sockopt::linger, 0);
  ASSERT_TRUE(
      protocol::apply_curve_client(stranger, {keys.server.public_key, keys.client}).is_ok());
  stranger.connect(endpoint);
  EXPECT_TRUE(test::eventually([&] { return log.count("refused a connection") == 1; },
                               std::chrono::milliseconds(5000)))
      << "a stranger's refusal is logged";
}

}  // namespace

}  // namespace cube::broker
