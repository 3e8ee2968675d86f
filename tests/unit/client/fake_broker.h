// FakeBroker: a stand-in for the broker's client port in client tests. A ROUTER bound to
// tcp://127.0.0.1:* (the port read back through ZMQ_LAST_ENDPOINT) served by its own thread,
// which polls with a short timeout and a stop flag (no sleeps). Every request is recorded; a
// handler decides, per request, whether to drop it, answer with a Reply, or answer with raw
// frames (to test malformed replies).
//
// Thread-safety: the socket belongs to the broker thread. requests() may be called from any
// thread. The handler runs on the broker thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "common/mutex.h"
#include "protocol/messages.h"

namespace cube::testing {

struct ReceivedRequest {
  uint8_t type = 0;
  std::string body;
  uint64_t request_id = 0;
};

// What the fake broker does with one request.
struct FakeResponse {
  enum class Kind { Drop, Reply, Raw } kind = Kind::Drop;
  protocol::Reply reply;            // Kind::Reply; request_id 0 means "echo the request's id"
  std::vector<std::string> frames;  // Kind::Raw: sent after the routing frames, as given

  static FakeResponse drop() { return {}; }
  static FakeResponse answer(protocol::Reply r) { return {Kind::Reply, std::move(r), {}}; }
  static FakeResponse raw(std::vector<std::string> f) { return {Kind::Raw, {}, std::move(f)}; }
};

class FakeBroker {
 public:
  // `handler(index, request)`: index counts requests from 0.
  using Handler = std::function<FakeResponse(size_t index, const ReceivedRequest& request)>;

  explicit FakeBroker(Handler handler);
  ~FakeBroker();
  FakeBroker(const FakeBroker&) = delete;
  FakeBroker& operator=(const FakeBroker&) = delete;

  // "tcp://127.0.0.1:PORT" and "127.0.0.1:PORT".
  const std::string& endpoint() const { return endpoint_; }
  std::string address() const;

  // Every request received so far, in order.
  std::vector<ReceivedRequest> requests() const;

 private:
  void serve();

  Handler handler_;
  zmq::context_t context_;
  zmq::socket_t router_;  // bound in the constructor, then used only by thread_
  std::string endpoint_;
  std::atomic<bool> stopping_{false};
  mutable Mutex mu_;
  std::vector<ReceivedRequest> requests_ CUBE_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts after everything above exists
};

// A port on 127.0.0.1 that nothing listens on: bound by the OS, read back, and closed again.
std::string unused_local_address();

}  // namespace cube::testing
