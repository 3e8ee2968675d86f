#include "broker/zap_handler.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace cube::broker {
namespace {

// Refused keys remembered for "log once"; past this the memory is reset (a flood of distinct
// keys is then logged once more, but never grows memory without bound).
constexpr size_t kMaxReportedKeys = 10000;

std::string frame_text(const zmq::message_t& frame) {
  return std::string(static_cast<const char*>(frame.data()), frame.size());
}

}  // namespace

ZapAllowlists ZapAllowlists::from(const std::vector<protocol::AuthorizedKey>& agents,
                                  const std::vector<protocol::AuthorizedKey>& clients) {
  ZapAllowlists lists;
  for (const auto& k : agents)
    lists.agents.emplace(k.public_key, k.name);
  for (const auto& k : clients)
    lists.clients.emplace(k.public_key, k.name);
  return lists;
}

ZapDecision decide_zap(const ZapAllowlists& lists, std::string_view domain,
                       std::string_view mechanism, std::string_view public_key) {
  if (mechanism != "CURVE")
    return {false, "", "mechanism " + std::string(mechanism) + " is not allowed (CURVE only)"};
  const std::map<std::string, std::string, std::less<>>* list = nullptr;
  if (domain == protocol::kZapDomainAgents)
    list = &lists.agents;
  else if (domain == protocol::kZapDomainClients)
    list = &lists.clients;
  else
    return {false, "", "unknown ZAP domain \"" + std::string(domain) + "\""};
  auto it = list->find(public_key);
  if (it == list->end()) {
    return {false, "",
            "key " + std::string(public_key) + " is not in the authorized " + std::string(domain)};
  }
  return {true, it->second, ""};
}

ZapHandler::ZapHandler(zmq::context_t& context, ZapAllowlists lists)
    : context_(context), lists_(std::move(lists)) {}

ZapHandler::~ZapHandler() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    // An eventfd write of 1 cannot fail short of a bug; the thread wakes on it.
    [[maybe_unused]] ssize_t n = ::write(stop_.get(), &one, sizeof one);
    thread_.join();
  }
}

Status ZapHandler::start() {
  stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_.valid())
    return Status::unavailable(std::string("cannot create an eventfd: ") + std::strerror(errno));
  try {
    socket_ = zmq::socket_t(context_, zmq::socket_type::rep);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return Status::unavailable(std::string("cannot bind the ZAP handler on ") + kZapEndpoint +
                               ": " + e.what());
  }
  try {
    // The socket moves to the new thread; std::thread's start is the memory barrier libzmq
    // requires for that.
    thread_ = std::thread([this] { serve(); });
  } catch (const std::system_error& e) {
    return Status::unavailable(std::string("cannot start the ZAP thread: ") + e.what());
  }
  return Status::ok();
}

ZapCounts ZapHandler::counts() const {
  ZapCounts c;
  c.admitted = admitted_.load();
  c.refused_agents = refused_agents_.load();
  c.refused_clients = refused_clients_.load();
  c.refused_other = refused_other_.load();
  return c;
}

void ZapHandler::reload(ZapAllowlists lists) {
  MutexLock lock(mutex_);
  lists_ = std::move(lists);
}

void ZapHandler::expect_probe(std::string public_key) {
  MutexLock lock(mutex_);
  probe_key_ = std::move(public_key);
}

void ZapHandler::serve() {
  std::array<zmq::pollitem_t, 2> items = {{
      {socket_.handle(), 0, ZMQ_POLLIN, 0},
      {nullptr, stop_.get(), ZMQ_POLLIN, 0},
  }};
  while (true) {
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(-1));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR)
        continue;
      spdlog::error("ZAP handler stopped: {}", e.what());
      break;
    }
    if (items[1].revents & ZMQ_POLLIN)
      break;
    if (!(items[0].revents & ZMQ_POLLIN))
      continue;
    std::vector<zmq::message_t> request;
    try {
      while (true) {
        zmq::message_t frame;
        if (!socket_.recv(frame, zmq::recv_flags::dontwait))
          break;
        bool more = frame.more();
        request.push_back(std::move(frame));
        if (!more)
          break;
      }
      if (!request.empty())
        answer(request);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM)
        break;
      spdlog::warn("ZAP handler: {}", e.what());
    }
  }
  socket_.close();
}

void ZapHandler::answer(std::vector<zmq::message_t>& request) {
  // RFC 27: version, request id, domain, address, routing id, mechanism, credentials...
  std::string request_id = request.size() > 1 ? frame_text(request[1]) : "";
  ZapDecision decision;
  std::string key_text = "(none)";
  std::string peer;
  bool probe = false;  // the self-check's own key
  std::string domain;
  if (request.size() < 6 || frame_text(request[0]) != "1.0") {
    decision = {false, "", "malformed ZAP request"};
  } else {
    domain = frame_text(request[2]);
    std::string mechanism = frame_text(request[5]);
    if (mechanism == "CURVE" && request.size() >= 7 && request[6].size() == 32) {
      std::array<char, protocol::kCurveKeyChars + 1> z85{};
      zmq_z85_encode(z85.data(), static_cast<const uint8_t*>(request[6].data()), 32);
      key_text = z85.data();
    }
    MutexLock lock(mutex_);
    decision = decide_zap(lists_, domain, mechanism, key_text);
    probe = !key_text.empty() && key_text == probe_key_;
    peer = frame_text(request[3]);
  }
  if (decision.allowed) {
    admitted_.fetch_add(1);
  } else {
    if (domain == protocol::kZapDomainAgents)
      refused_agents_.fetch_add(1);
    else if (domain == protocol::kZapDomainClients)
      refused_clients_.fetch_add(1);
    else
      refused_other_.fetch_add(1);
    if (reported_.size() > kMaxReportedKeys)
      reported_.clear();
    if (probe)
      spdlog::debug("refused the self-check's probe, as it must be: {}", decision.reason);
    else if (reported_.emplace(key_text, true).second)
      spdlog::warn("refused a connection from {}: {}", peer.empty() ? "?" : peer, decision.reason);
  }
  std::array<std::string, 6> reply = {"1.0",
                                      request_id,
                                      decision.allowed ? "200" : "400",
                                      decision.allowed ? "OK" : decision.reason,
                                      decision.user_id,
                                      ""};
  for (size_t i = 0; i < reply.size(); ++i) {
    socket_.send(zmq::buffer(reply[i]),
                 i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

Status check_zap_refuses_strangers(const std::string& endpoint, const std::string& server_key,
                                   ZapHandler& zap, const Clock& clock, Millis timeout) {
  auto stranger = protocol::generate_curve_keypair();
  if (!stranger.is_ok())
    return stranger.status();
  zap.expect_probe(stranger->public_key);
  uint64_t before = zap.refusals();
  auto fail = [](const std::string& why) {
    return Status::internal("CURVE self-check failed, refusing to start: " + why);
  };
  bool refused = false;
  try {
    zmq::context_t context(1);
    zmq::socket_t req(context, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    CUBE_RETURN_IF_ERROR(protocol::apply_curve_client(
        req, {server_key, {stranger->public_key, stranger->secret_key}}));
    const char* monitor_endpoint = "inproc://cube-zap-self-check";
    if (zmq_socket_monitor(req.handle(), monitor_endpoint,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
      return fail(std::string("cannot monitor the probe socket: ") + zmq_strerror(zmq_errno()));
    }
    zmq::socket_t monitor(context, zmq::socket_type::pair);
    monitor.set(zmq::sockopt::linger, 0);
    monitor.connect(monitor_endpoint);
    req.connect(endpoint);
    SteadyTime deadline = clock.now() + timeout;
    while (!refused) {
      auto left = std::chrono::duration_cast<Millis>(deadline - clock.now());
      if (left.count() <= 0)
        break;
      zmq::pollitem_t item{monitor.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, left);
      // A poll of the whole remaining time that saw nothing ends the wait, so a clock that
      // stands still (ManualClock) cannot make it last forever.
      if (!(item.revents & ZMQ_POLLIN))
        break;
      zmq::message_t event;
      zmq::message_t address;
      if (!monitor.recv(event) || !event.more() || !monitor.recv(address) || event.size() < 2)
        continue;
      uint16_t id = 0;
      std::memcpy(&id, event.data(), sizeof id);
      if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        return fail("a connection with a random key to " + endpoint + " was accepted");
      refused = id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    }
    zmq_socket_monitor(req.handle(), nullptr, 0);
  } catch (const zmq::error_t& e) {
    return fail(std::string("probe failed: ") + e.what());
  }
  if (!refused)
    return fail("a connection with a random key to " + endpoint + " was not refused within " +
                std::to_string(timeout.count()) + " ms");
  if (zap.refusals() <= before)
    return fail("the connection was refused, but not by Cube's ZAP handler");
  return Status::ok();
}

}  // namespace cube::broker
