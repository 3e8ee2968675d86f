#include "protocol/envelope.h"

#include <algorithm>
#include <string>

namespace cube::protocol {

Result<EnvelopeView> parse_envelope(std::span<const std::string_view> frames) {
  if (frames.empty())
    return Status::invalid("empty message");
  std::string_view magic = frames[0];
  if (magic != kMagic) {
    // Only a printable version name is echoed: the message ends up in logs and replies, and a
    // hostile first frame must not put control bytes there.
    auto printable = [](std::string_view s) {
      return std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7f; });
    };
    if (magic.size() <= 16 && magic.starts_with("CUBE") && printable(magic)) {
      return Status::invalid("protocol version " + std::string(magic) +
                             " is not supported: this peer speaks " +
                             std::string(kProtocolVersion));
    }
    return Status::invalid("not a Cube message (first frame is not " + std::string(kMagic) + ")");
  }
  if (frames.size() != 3) {
    return Status::invalid("expected 3 frames (CUBE1, type, body), got " +
                           std::to_string(frames.size()));
  }
  if (frames[1].size() != 1)
    return Status::invalid("type frame must be exactly one byte");
  return EnvelopeView{static_cast<uint8_t>(frames[1][0]), frames[2]};
}

}  // namespace cube::protocol
