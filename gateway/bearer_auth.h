// Bearer-token authentication for the HTTP gateway (`cube-broker --http-token-file FILE`): every
// request except GET /healthz must carry `Authorization: Bearer <token>`.
//
// Thread-safety: pure functions, except read_token_file (reads a file; blocks briefly).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace cube::gateway {

// Shorter tokens are refused: 16 bytes of printable text is the least that resists guessing
// over the network.
inline constexpr size_t kMinTokenBytes = 16;

// Reads the token: the file's content with surrounding whitespace (a trailing newline) removed.
//   Invalid      the file cannot be read, is empty, the token is shorter than kMinTokenBytes or
//                contains whitespace or control characters inside (a pasted second line).
// `world_readable` is set when other users may read the file (the caller warns).
Result<std::string> read_token_file(const std::string& path, bool* world_readable = nullptr);

// True when `authorization` is "Bearer <token>" (scheme case-insensitive, as RFC 6750 allows)
// and <token> equals `token`. Compares in time independent of where the tokens differ.
bool bearer_matches(std::string_view authorization, std::string_view token);

}  // namespace cube::gateway
