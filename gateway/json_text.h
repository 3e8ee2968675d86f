// json_text: how the gateway writes JSON bodies. Compact, one trailing newline (like Go's
// json.Encoder, which the prior orchestrators used), and invalid UTF-8 replaced instead of
// thrown: task names that came in over the CLI (MessagePack strings) are not checked for UTF-8,
// and nlohmann::json::dump() would otherwise throw type_error 316 on them.
//
// Thread-safety: pure.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace cube::gateway {

inline std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace cube::gateway
