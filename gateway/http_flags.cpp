#include "gateway/http_flags.h"

#include "gateway/bearer_auth.h"
#include "protocol/zmq_io.h"

namespace cube::gateway {

bool is_loopback_host(std::string_view host) {
  return host == "localhost" || host.starts_with("127.") || host == "::1";
}

Result<std::optional<GatewayOptions>> gateway_options_from_flags(const HttpFlags& flags,
                                                                 bool* token_world_readable) {
  if (!flags.http) {
    if (flags.token_file)
      return Status::invalid("--http-token-file needs --http HOST:PORT");
    if (flags.ready_file)
      return Status::invalid("--http-ready-file needs --http HOST:PORT");
    return std::optional<GatewayOptions>();
  }
  GatewayOptions options;
  Status parsed = protocol::parse_host_port(*flags.http, options.http.host, options.http.port,
                                            /*allow_zero=*/true);
  if (!parsed.is_ok())
    return parsed.with_context("--http");
  if (flags.token_file) {
    auto token = read_token_file(*flags.token_file, token_world_readable);
    if (!token)
      return token.status().with_context("--http-token-file");
    options.bearer_token = std::move(*token);
  }
  if (!is_loopback_host(options.http.host) && !flags.insecure && !options.bearer_token) {
    return Status::invalid("--http: refusing to serve HTTP on " + options.http.host +
                           " without a token: pass --http-token-file FILE to require "
                           "\"Authorization: Bearer <token>\", or --insecure to accept anyone");
  }
  return std::optional<GatewayOptions>(std::move(options));
}

}  // namespace cube::gateway
