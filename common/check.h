// CUBE_CHECK: the crash tier of error handling. Use it only for broken invariants that Cube
// itself guarantees (a transition not in the table, a plan over-committing a node), never for
// anything the environment or a peer controls: those are Status values.
//
//   CUBE_CHECK(credit >= 0) << "plan_apply re-checks credit before every ASSIGN";
#pragma once

#include <sstream>

namespace cube::internal {

// Collects the streamed explanation and aborts in its destructor.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Lets the CUBE_CHECK macro be an expression that accepts a trailing `<< ...`.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace cube::internal

#define CUBE_CHECK(condition)                 \
  (condition) ? (void)0                       \
              : ::cube::internal::Voidify() & \
                    ::cube::internal::CheckFailure(__FILE__, __LINE__, #condition).stream()
