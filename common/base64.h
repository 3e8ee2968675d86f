// Base64 (RFC 4648 section 4, the standard alphabet with '=' padding): how etcd's HTTP/JSON
// gateway carries keys and values (proto3 JSON maps `bytes` fields to padded standard base64).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace cube {

// `bytes` as padded base64 ("" for "").
std::string base64_encode(std::string_view bytes);

// The bytes `text` encodes. Accepts padded input only, as base64_encode and etcd write it.
//   Invalid  a length that is not a multiple of 4, a character outside the alphabet, or '='
//            anywhere but in the last two places (naming the offset).
Result<std::string> base64_decode(std::string_view text);

}  // namespace cube
