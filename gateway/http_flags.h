// cube-broker's HTTP flags, checked: `--http HOST:PORT` (off when absent), `--http-token-file
// FILE` (bearer token), and the broker's `--insecure`. Like --bind, a non-loopback HTTP address
// is refused unless the operator accepts plaintext (`--insecure`) or requires a token.
//
// Thread-safety: reads the token file; call from main before threads start.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "gateway/gateway.h"

namespace cube::gateway {

// True for "localhost", 127.0.0.0/8 and "::1".
bool is_loopback_host(std::string_view host);

struct HttpFlags {
  std::optional<std::string> http;        // --http HOST:PORT (PORT 0: any free port)
  std::optional<std::string> token_file;  // --http-token-file FILE
  std::optional<std::string> ready_file;  // --http-ready-file FILE (only checked here)
  bool insecure = false;                  // --insecure
};

// The gateway's options from the flags; nullopt when --http is absent (no gateway). The broker
// endpoint is left empty: it is known once the broker has bound (broker_connect_endpoint()).
// Invalid, each message naming the flag:
//   --http not HOST:PORT; --http-token-file or --http-ready-file without --http; a
//   non-loopback --http host with
//   neither --insecure nor --http-token-file; a token file that read_token_file() refuses.
// `token_world_readable` is set when the token file is readable by other users (warn).
Result<std::optional<GatewayOptions>> gateway_options_from_flags(const HttpFlags& flags,
                                                                 bool* token_world_readable);

}  // namespace cube::gateway
