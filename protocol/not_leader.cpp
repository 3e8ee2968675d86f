#include "protocol/not_leader.h"

#include "protocol/zmq_io.h"

namespace cube::protocol {

std::optional<NotLeader> parse_not_leader(ErrorCode code, std::string_view message) {
  if (code != ErrorCode::Unavailable || !message.starts_with(kNotLeaderPrefix))
    return std::nullopt;
  NotLeader out;
  if (message.starts_with(kLeaderIsPrefix)) {
    std::string_view address = message.substr(kLeaderIsPrefix.size());
    std::string host;
    int port = 0;
    if (parse_host_port(address, host, port).is_ok())
      out.leader = std::string(address);
  }
  return out;
}

std::optional<NotLeader> parse_not_leader(const Status& status) {
  return parse_not_leader(status.code(), status.message());
}

}  // namespace cube::protocol
