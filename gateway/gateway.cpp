#include "gateway/gateway.h"

#include <utility>

#include "protocol/zmq_io.h"

namespace cube::gateway {
namespace {

ClientOptions client_options(const std::string& endpoint) {
  ClientOptions o;
  o.endpoint = endpoint;
  return o;
}

}  // namespace

std::string broker_connect_endpoint(std::string_view bind_host, int port) {
  std::string_view host = bind_host;
  if (host.empty() || host == "*" || host == "0.0.0.0")
    host = "127.0.0.1";
  else if (host == "::" || host == "[::]")
    host = "::1";
  return protocol::tcp_endpoint(host, port);
}

Gateway::Gateway(GatewayOptions options, const Clock& clock)
    : pool_(client_options(options.broker_endpoint), clock),
      api_(pool_, RestApiOptions{options.bearer_token}, clock),
      server_(std::move(options.http),
              [this](const HttpRequest& request) { return api_.handle(request); }) {}

Gateway::~Gateway() {
  stop();
}

}  // namespace cube::gateway
