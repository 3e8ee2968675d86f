#include "protocol/envelope.h"

#include <string>

namespace cube::protocol {

Result<EnvelopeView> parse_envelope(std::span<const std::string_view> frames) {
  if (frames.empty())
    return Status::invalid("empty message");
  std::string_view magic = frames[0];
  if (magic != kMagic) {
    if (magic.size() <= 16 && magic.starts_with("CUBE")) {
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
