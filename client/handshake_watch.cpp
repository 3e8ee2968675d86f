#include "client/handshake_watch.h"

#include <atomic>
#include <cstdint>
#include <cstring>

namespace cube {
namespace {

constexpr int kWatchedEvents = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;

// A unique inproc endpoint per watch (several Clients may share nothing but the process).
std::string monitor_endpoint() {
  static std::atomic<uint64_t> next{0};
  return "inproc://cube-client-handshake-" + std::to_string(next.fetch_add(1));
}

}  // namespace

std::optional<Status> handshake_verdict(const HandshakeEvents& e, bool curve,
                                        const std::string& address, bool final) {
  const std::string broker = "the broker at " + address;
  if (e.mechanism_mismatch) {
    if (!curve) {
      return Status::unauthorized(
          broker +
          " requires CURVE encryption and this client has no key: make one with `cube-client "
          "keygen --out DIR`, have DIR/NAME.pub added to the broker's --authorized-clients, then "
          "pass --curve-secret DIR/NAME.key and --broker-key KEY|FILE (or set CUBE_BROKER_KEY)");
    }
    return Status::unauthorized(broker +
                                " does not use CURVE encryption: drop --curve-secret and "
                                "--broker-key (and CUBE_BROKER_KEY)");
  }
  if (e.auth_failure_status != 0) {
    return Status::unauthorized(
        broker + " refused this client's key (ZAP status " + std::to_string(e.auth_failure_status) +
        "): its public key is not in the broker's --authorized-clients file; give the operator "
        "the .pub file of the key passed with --curve-secret");
  }
  if (e.succeeded)
    return std::nullopt;
  if (!curve && e.hangups >= kHangupsMeaningCurve) {
    return Status::unauthorized(
        broker +
        " hangs up during the ZeroMQ handshake, so it requires CURVE encryption and this client "
        "has no key (or it is not a Cube broker's client port): make one with `cube-client "
        "keygen --out DIR`, have DIR/NAME.pub added to the broker's --authorized-clients, then "
        "pass --curve-secret DIR/NAME.key and --broker-key KEY|FILE (or set CUBE_BROKER_KEY)");
  }
  if (curve && (e.crypto_failure || (final && e.closed_in_handshake))) {
    return Status::unauthorized(broker +
                                " closed the connection during the CURVE handshake: check that "
                                "--broker-key (or CUBE_BROKER_KEY) is this broker's public key, "
                                "its broker.pub");
  }
  return std::nullopt;
}

Result<std::unique_ptr<HandshakeWatch>> HandshakeWatch::start(zmq::context_t& context,
                                                              zmq::socket_t& socket) {
  std::string endpoint = monitor_endpoint();
  if (zmq_socket_monitor(socket.handle(), endpoint.c_str(), kWatchedEvents) != 0) {
    return Status::internal(std::string("cannot monitor the client socket: ") +
                            zmq_strerror(zmq_errno()));
  }
  try {
    zmq::socket_t events(context, zmq::socket_type::pair);
    events.set(zmq::sockopt::linger, 0);
    events.connect(endpoint);
    return std::unique_ptr<HandshakeWatch>(new HandshakeWatch(socket, std::move(events)));
  } catch (const zmq::error_t& e) {
    zmq_socket_monitor(socket.handle(), nullptr, 0);
    return Status::internal(std::string("cannot read the client socket's events: ") + e.what());
  }
}

HandshakeWatch::HandshakeWatch(zmq::socket_t& watched, zmq::socket_t events_socket)
    : watched_(watched), events_socket_(std::move(events_socket)) {}

HandshakeWatch::~HandshakeWatch() {
  // Stops the monitor while the watched socket is still open (the owner closes it after).
  if (watched_.handle() != nullptr)
    zmq_socket_monitor(watched_.handle(), nullptr, 0);
}

void HandshakeWatch::read_pending() {
  try {
    while (true) {
      zmq::message_t event;
      if (!events_socket_.recv(event, zmq::recv_flags::dontwait))
        return;
      bool more = event.more();
      if (more) {
        zmq::message_t address;  // the second frame: the endpoint; not needed
        (void)events_socket_.recv(address, zmq::recv_flags::dontwait);
      }
      if (event.size() < 6)
        continue;
      uint16_t id = 0;
      uint32_t value = 0;
      std::memcpy(&id, event.data(), sizeof id);
      std::memcpy(&value, static_cast<const char*>(event.data()) + sizeof id, sizeof value);
      switch (id) {
        case ZMQ_EVENT_CONNECTED:
          events_.connected = true;
          break;
        case ZMQ_EVENT_DISCONNECTED:
          if (events_.connected && !events_.succeeded) {
            events_.closed_in_handshake = true;
            ++events_.hangups;
          }
          break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
          events_.succeeded = true;
          break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
          events_.auth_failure_status = static_cast<int>(value);
          break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
          if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
            events_.mechanism_mismatch = true;
          else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
            events_.crypto_failure = true;
          break;
        default:
          break;
      }
    }
  } catch (const zmq::error_t&) {
    // Only a closing context gets here; the caller is going away.
  }
}

}  // namespace cube
