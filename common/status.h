// Status and Result<T>: how Cube reports expected failures (bad input, unreachable peers,
// dockerd errors) as values. The error codes are the closed set carried on the wire in every
// reply, so a Status can travel from any layer to a client unchanged.
//
// Thread-safety: values; safe to copy and move between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/check.h"

namespace cube {

// Wire values are frozen: they are sent as integers in protocol replies.
enum class ErrorCode : uint8_t {
  Ok = 0,
  NotFound = 1,
  Invalid = 2,
  Conflict = 3,
  Unavailable = 4,
  Unauthorized = 5,
  Internal = 6,
  // EVENTS: the `since` index fell out of the broker's event ring (or is from the future, e.g.
  // from before a broker restart): resynchronise from a snapshot, then continue from the
  // reply's next_index (docs/events.md).
  TooOld = 7,
};

// "not_found", "invalid", ... as in the architecture and in JSON error bodies.
std::string_view error_code_name(ErrorCode code);
// The inverse of error_code_name; nullopt for an unknown name.
std::optional<ErrorCode> error_code_from_name(std::string_view name);
// Maps a wire integer to a code; unknown integers become Internal so that a newer peer's
// code is never mistaken for success.
ErrorCode error_code_from_int(int64_t value);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  static Status not_found(std::string m) { return {ErrorCode::NotFound, std::move(m)}; }
  static Status invalid(std::string m) { return {ErrorCode::Invalid, std::move(m)}; }
  static Status conflict(std::string m) { return {ErrorCode::Conflict, std::move(m)}; }
  static Status unavailable(std::string m) { return {ErrorCode::Unavailable, std::move(m)}; }
  static Status unauthorized(std::string m) { return {ErrorCode::Unauthorized, std::move(m)}; }
  static Status internal(std::string m) { return {ErrorCode::Internal, std::move(m)}; }
  static Status too_old(std::string m) { return {ErrorCode::TooOld, std::move(m)}; }

  bool is_ok() const { return code_ == ErrorCode::Ok; }
  bool is_not_found() const { return code_ == ErrorCode::NotFound; }
  bool is_invalid() const { return code_ == ErrorCode::Invalid; }
  bool is_unavailable() const { return code_ == ErrorCode::Unavailable; }
  bool is_too_old() const { return code_ == ErrorCode::TooOld; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid: field \"Memory\": ..." for logs and CLI output.
  std::string to_string() const;

  // Returns a copy whose message is "context: message"; OK stays OK.
  Status with_context(std::string_view context) const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  ErrorCode code_ = ErrorCode::Ok;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    CUBE_CHECK(!std::get<Status>(v_).is_ok()) << "Result built from an OK Status has no value";
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }

  // Precondition: is_ok().
  T& value() & {
    CUBE_CHECK(is_ok()) << "value() on an error Result: " << status().to_string();
    return std::get<T>(v_);
  }
  const T& value() const& {
    CUBE_CHECK(is_ok()) << "value() on an error Result: " << status().to_string();
    return std::get<T>(v_);
  }
  T&& value() && {
    CUBE_CHECK(is_ok()) << "value() on an error Result: " << status().to_string();
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // OK when a value is held.
  Status status() const { return is_ok() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace cube

// Returns early from a function returning Status or Result<T> when expr is not OK.
#define CUBE_RETURN_IF_ERROR(expr)        \
  do {                                    \
    ::cube::Status cube_status_ = (expr); \
    if (!cube_status_.is_ok())            \
      return cube_status_;                \
  } while (0)
