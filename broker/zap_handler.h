// ZapHandler: the broker's ZeroMQ authentication (ZAP, RFC 27) handler. libzmq asks it, over
// inproc://zeromq.zap.01 in the broker's context, whether each new CURVE connection may proceed;
// it answers from two allowlists (protocol/curve.h authorized-keys files): the "clients" domain
// (client ROUTER) admits client keys, the "agents" domain (work ROUTER, events SUB, beacon PUB)
// admits agent keys. An admitted connection's ZAP User-Id is its key's name, which the broker
// reads from each message's metadata (an agent's identity is its key's name).
//
// Refusals are counted and logged once per key (a key that keeps retrying does not flood the
// log). The lists can be replaced at any time (SIGHUP reload).
//
// Thread-safety: decide_zap() is pure. A ZapHandler runs its own thread (ZAP requests arrive
// while the broker's poll loop is busy, and libzmq needs the handler before the first bind);
// start(), reload(), refusals() and the destructor may be called from any one owning thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "protocol/curve.h"

namespace cube::broker {

// The ZAP endpoint libzmq uses; fixed by RFC 27.
inline constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

struct ZapAllowlists {
  std::map<std::string, std::string, std::less<>> agents;   // Z85 public key -> name
  std::map<std::string, std::string, std::less<>> clients;  // Z85 public key -> name

  static ZapAllowlists from(const std::vector<protocol::AuthorizedKey>& agents,
                            const std::vector<protocol::AuthorizedKey>& clients);
};

// Connections counted by a ZapHandler since start(), by ZAP domain. A refusal in a domain that
// is neither (a malformed request, an unknown domain) counts in refused_other.
struct ZapCounts {
  uint64_t admitted = 0;
  uint64_t refused_agents = 0;
  uint64_t refused_clients = 0;
  uint64_t refused_other = 0;
  uint64_t refused() const { return refused_agents + refused_clients + refused_other; }
};

struct ZapDecision {
  bool allowed = false;
  std::string user_id;  // the key's name when allowed
  std::string reason;   // why not, for the log and the ZAP status text
};

// The answer for one connection: `domain` is the socket's ZAP domain, `mechanism` "CURVE"
// (anything else is refused: every Cube server socket is CURVE when keys are in use),
// `public_key` the peer's key in Z85. Pure.
ZapDecision decide_zap(const ZapAllowlists& lists, std::string_view domain,
                       std::string_view mechanism, std::string_view public_key);

class ZapHandler {
 public:
  // `context` must outlive the handler (it is the broker's context: ZAP is per context).
  ZapHandler(zmq::context_t& context, ZapAllowlists lists);
  // Stops and joins the thread. Blocks briefly.
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Binds kZapEndpoint on the calling thread and starts serving. Call once, BEFORE any CURVE
  // socket binds. Unavailable when the endpoint is taken (another handler in this context) or
  // the thread cannot start.
  Status start();

  // Replaces the allowlists for connections from now on (existing ones stay). Never blocks
  // for long.
  void reload(ZapAllowlists lists);

  // Refusals of `public_key` (Z85) are counted but logged at debug level only: the key of the
  // startup self-check's probe, which is no stranger knocking. Any thread; never blocks long.
  void expect_probe(std::string public_key);

  // Connections refused / admitted since start().
  uint64_t refusals() const { return counts().refused(); }
  uint64_t admitted() const { return admitted_.load(); }
  // The same by domain (for STATUS counters and /metrics). Any thread; never blocks.
  ZapCounts counts() const;

 private:
  void serve();
  void answer(std::vector<zmq::message_t>& request);

  zmq::context_t& context_;
  zmq::socket_t socket_;  // REP; owned by the thread once started
  UniqueFd stop_;         // eventfd: readable when the thread must return
  std::thread thread_;
  Mutex mutex_;
  ZapAllowlists lists_ CUBE_GUARDED_BY(mutex_);
  std::string probe_key_ CUBE_GUARDED_BY(mutex_);
  std::atomic<uint64_t> admitted_{0};
  std::atomic<uint64_t> refused_agents_{0};
  std::atomic<uint64_t> refused_clients_{0};
  std::atomic<uint64_t> refused_other_{0};
  std::map<std::string, bool> reported_;  // thread only: keys already logged
};

// The broker's startup self-check: a CURVE REQ with a fresh random key connects to `endpoint`
// (the client port, server public key `server_key`) and must be refused by `zap` within
// `timeout` (measured on `clock`). OK when the handshake failed with an authentication error
// and `zap` counted the refusal; Internal, saying the broker must not start, when the stranger
// got in or nothing was refused in time (a CURVE socket without a working ZAP handler admits
// anyone). The probe's refusal is not logged as a warning (ZapHandler::expect_probe). Blocks up
// to `timeout`; any thread except the ZAP handler's.
Status check_zap_refuses_strangers(const std::string& endpoint, const std::string& server_key,
                                   ZapHandler& zap, const Clock& clock,
                                   Millis timeout = Millis(1000));

}  // namespace cube::broker
