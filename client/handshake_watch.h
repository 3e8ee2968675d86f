// HandshakeWatch: tells a client why the broker never answers when the reason is the ZeroMQ
// handshake, not the network. A broker with CURVE refuses a client without a key (mechanism
// mismatch), a key that is not on its --authorized-clients list (ZAP status 400) or a wrong
// --broker-key (the broker cannot decrypt the HELLO and hangs up) without ever seeing a request,
// so without this the user would get "did not answer within 7.5 s", the same as for a broker
// that is down. The watch reads the REQ socket's monitor events (zmq_socket_monitor) and turns
// them into an Unauthorized Status that names the likely cause and the fix.
//
// Thread-safety: a HandshakeWatch belongs to the thread that owns the watched socket (a
// cube::Client); nothing blocks. It must be destroyed before the watched socket's context.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "common/status.h"

namespace cube {

// What the monitor said about one connection attempt; pure input of handshake_verdict().
struct HandshakeEvents {
  bool connected = false;            // a TCP connection was made at least once
  bool succeeded = false;            // a handshake completed (the broker accepts us)
  int auth_failure_status = 0;       // ZAP status of a refusal (400: key not listed), 0 if none
  bool mechanism_mismatch = false;   // CURVE on one side only
  bool crypto_failure = false;       // the CURVE handshake could not be decrypted
  bool closed_in_handshake = false;  // disconnected after connecting, before any handshake
  // How many times that happened. A CURVE broker often hangs up on a keyless client before
  // the client has read the broker's greeting (the client then sees its write fail, not the
  // mechanism mismatch), and libzmq reconnects every 100 ms: several hang-ups in a row are
  // the mismatch, where one could be a broker that died mid-handshake.
  int hangups = 0;
};

// Hang-ups during the handshake that make a keyless client conclude the broker requires CURVE.
inline constexpr int kHangupsMeaningCurve = 3;

// The refusal the events prove, or nullopt. A keyless client hung up on kHangupsMeaningCurve
// times is told the broker requires CURVE (or is not a Cube broker's client port). `curve`: this
// client uses CURVE keys; `address` names the broker ("127.0.0.1:7100"). `final`: every try is
// over, so a connection that was closed during the handshake (the broker could not decrypt our
// HELLO: wrong --broker-key) is reported too; before that only certain refusals are. Unauthorized;
// pure.
std::optional<Status> handshake_verdict(const HandshakeEvents& events, bool curve,
                                        const std::string& address, bool final);

class HandshakeWatch {
 public:
  // Starts monitoring `socket`, which must not be connected yet, through a PAIR socket in
  // `context` (the socket's own). Internal when libzmq refuses the monitor.
  static Result<std::unique_ptr<HandshakeWatch>> start(zmq::context_t& context,
                                                       zmq::socket_t& socket);
  // Stops the monitor and closes the PAIR socket (before the context goes).
  ~HandshakeWatch();
  HandshakeWatch(const HandshakeWatch&) = delete;
  HandshakeWatch& operator=(const HandshakeWatch&) = delete;

  // The PAIR socket to poll for ZMQ_POLLIN next to the watched socket.
  void* handle() { return events_socket_.handle(); }
  // Reads every pending event into events(). Never blocks; never throws.
  void read_pending();
  const HandshakeEvents& events() const { return events_; }

 private:
  HandshakeWatch(zmq::socket_t& watched, zmq::socket_t events_socket);

  zmq::socket_t& watched_;
  zmq::socket_t events_socket_;
  HandshakeEvents events_;
};

}  // namespace cube
