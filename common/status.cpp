#include "common/status.h"

namespace cube {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::Ok:
      return "ok";
    case ErrorCode::NotFound:
      return "not_found";
    case ErrorCode::Invalid:
      return "invalid";
    case ErrorCode::Conflict:
      return "conflict";
    case ErrorCode::Unavailable:
      return "unavailable";
    case ErrorCode::Unauthorized:
      return "unauthorized";
    case ErrorCode::Internal:
      return "internal";
    case ErrorCode::TooOld:
      return "too_old";
  }
  return "internal";
}

std::optional<ErrorCode> error_code_from_name(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::TooOld); ++i) {
    auto code = static_cast<ErrorCode>(i);
    if (error_code_name(code) == name)
      return code;
  }
  return std::nullopt;
}

ErrorCode error_code_from_int(int64_t value) {
  if (value < 0 || value > static_cast<int64_t>(ErrorCode::TooOld))
    return ErrorCode::Internal;
  return static_cast<ErrorCode>(value);
}

std::string Status::to_string() const {
  if (is_ok())
    return "ok";
  std::string out(error_code_name(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::with_context(std::string_view context) const {
  if (is_ok())
    return *this;
  return Status(code_, std::string(context) + ": " + message_);
}

}  // namespace cube
