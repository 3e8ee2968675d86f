// The CUBE1 envelope: every message is the frames  "CUBE1" | type (1 byte) | body  after any
// routing frames. The first frame names the protocol major version; a peer speaking another
// major gets an error naming both, never a mis-parse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/status.h"

namespace cube::protocol {

inline constexpr std::string_view kMagic = "CUBE1";
inline constexpr std::string_view kProtocolVersion = "CUBE1";

// ZMQ_MAXMSGSIZE on sockets that take input from untrusted peers (broker ROUTERs, SUB, agent
// DEALER): a task spec with a large Env is a few KiB, so 1 MiB leaves room without letting a
// peer make us allocate gigabytes.
inline constexpr int64_t kMaxInboundMessageBytes = 1 << 20;
// Client sockets receive replies that list every task (about 400 bytes each): 256 MiB covers
// several hundred thousand tasks.
inline constexpr int64_t kMaxReplyBytes = 256ll << 20;

struct EnvelopeView {
  uint8_t type = 0;
  std::string_view body;
};

// Checks the three frames after routing. Errors (Invalid):
//   wrong frame count, "CUBE2" (names both versions), not a Cube message, empty type frame.
Result<EnvelopeView> parse_envelope(std::span<const std::string_view> frames);

}  // namespace cube::protocol
