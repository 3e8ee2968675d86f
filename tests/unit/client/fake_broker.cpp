#include "tests/unit/client/fake_broker.h"

#include "protocol/codec.h"
#include "protocol/zmq_io.h"

namespace cube::testing {
namespace {

// Short enough that the destructor returns promptly after setting the stop flag.
constexpr std::chrono::milliseconds kPollInterval{20};

}  // namespace

FakeBroker::FakeBroker(Handler handler)
    : handler_(std::move(handler)), context_(1), router_(context_, zmq::socket_type::router) {
  protocol::apply_socket_defaults(router_, protocol::kMaxInboundMessageBytes);
  router_.bind("tcp://127.0.0.1:*");
  endpoint_ = router_.get(zmq::sockopt::last_endpoint);
  thread_ = std::thread([this] { serve(); });
}

FakeBroker::~FakeBroker() {
  stopping_ = true;
  thread_.join();
}

std::string FakeBroker::address() const {
  return endpoint_.substr(std::string("tcp://").size());
}

std::vector<ReceivedRequest> FakeBroker::requests() const {
  MutexLock lock(mu_);
  return requests_;
}

void FakeBroker::serve() {
  size_t index = 0;
  while (!stopping_) {
    zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, kPollInterval) == 0)
      continue;
    Status error;
    auto message = protocol::receive(router_, 1, &error);
    if (!message)
      continue;
    ReceivedRequest request;
    request.type = message->type;
    request.body = std::string(message->body);
    request.request_id = protocol::peek_request_id(message->body);
    {
      MutexLock lock(mu_);
      requests_.push_back(request);
    }
    FakeResponse response = handler_(index++, request);
    std::span<const zmq::message_t> routing(message->frames.data(), message->envelope_start);
    switch (response.kind) {
      case FakeResponse::Kind::Drop:
        break;
      case FakeResponse::Kind::Reply: {
        if (response.reply.request_id == 0)
          response.reply.request_id = request.request_id;
        (void)protocol::send(router_, routing, response.reply);
        break;
      }
      case FakeResponse::Kind::Raw: {
        for (const auto& frame : routing)
          router_.send(zmq::buffer(frame.data(), frame.size()), zmq::send_flags::sndmore);
        for (size_t i = 0; i < response.frames.size(); ++i) {
          bool last = i + 1 == response.frames.size();
          router_.send(zmq::buffer(response.frames[i]),
                       last ? zmq::send_flags::none : zmq::send_flags::sndmore);
        }
        break;
      }
    }
  }
}

std::string unused_local_address() {
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::router);
  socket.set(zmq::sockopt::linger, 0);
  socket.bind("tcp://127.0.0.1:*");
  std::string endpoint = socket.get(zmq::sockopt::last_endpoint);
  socket.close();
  return endpoint.substr(std::string("tcp://").size());
}

}  // namespace cube::testing
