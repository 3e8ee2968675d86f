#include "protocol/zmq_io.h"

#include <algorithm>
#include <charconv>

namespace cube::protocol {
namespace {

// A hostile peer can send a multipart message of millions of frames; we keep this many and
// discard the rest (a valid message has at most 2 routing frames + 3 envelope frames).
constexpr size_t kMaxFramesKept = 8;

// Reads every frame of one multipart message without blocking. nullopt when nothing is waiting
// or the read failed (`error` says which).
std::optional<Received> read_frames(zmq::socket_t& socket, Status* error) {
  Received out;
  try {
    bool more = true;
    while (more) {
      zmq::message_t frame;
      auto got = socket.recv(
          frame, out.frames.empty() ? zmq::recv_flags::dontwait : zmq::recv_flags::none);
      if (!got)
        return std::nullopt;  // EAGAIN before the first frame: nothing waiting
      more = frame.more();
      if (out.frames.size() < kMaxFramesKept)
        out.frames.push_back(std::move(frame));
    }
  } catch (const zmq::error_t& e) {
    if (error)
      *error = Status::unavailable(std::string("receive failed: ") + e.what());
    return std::nullopt;
  }
  return out;
}

// Parses the envelope that begins at frame `start`.
Received parse_from(Received out, size_t start, Status* error) {
  out.envelope_start = start;
  std::vector<std::string_view> envelope;
  for (size_t i = start; i < out.frames.size(); ++i) {
    envelope.emplace_back(static_cast<const char*>(out.frames[i].data()), out.frames[i].size());
  }
  auto parsed = parse_envelope(envelope);
  if (!parsed.is_ok()) {
    if (error)
      *error = parsed.status();
    out.type = 0;
    return out;
  }
  if (error)
    *error = Status::ok();
  out.type = parsed->type;
  out.body = parsed->body;
  return out;
}

}  // namespace

void apply_socket_defaults(zmq::socket_t& socket, int64_t max_message_bytes) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::maxmsgsize, max_message_bytes);
}

void enable_zmtp_heartbeats(zmq::socket_t& socket, int interval_ms, int timeout_ms) {
  socket.set(zmq::sockopt::heartbeat_ivl, interval_ms);
  socket.set(zmq::sockopt::heartbeat_timeout, timeout_ms);
  socket.set(zmq::sockopt::heartbeat_ttl, timeout_ms);
}

std::string tcp_endpoint(std::string_view host, int port) {
  std::string h(host);
  if (h.find(':') != std::string::npos && !h.starts_with("["))
    h = "[" + h + "]";
  return "tcp://" + h + ":" + std::to_string(port);
}

Status parse_host_port(std::string_view text, std::string& host, int& port, bool allow_zero) {
  auto bad = [&] {
    // Built with append(): GCC 12 at -O3 raises a false -Wrestrict on "..." + std::string.
    std::string message = "\"";
    message.append(text).append("\" is not HOST:PORT (for example 127.0.0.1:7100)");
    return Status::invalid(std::move(message));
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= text.size())
    return bad();
  std::string_view h = text.substr(0, colon);
  if (h.starts_with("[") && h.ends_with("]"))
    h = h.substr(1, h.size() - 2);
  if (h.empty())
    return bad();
  std::string_view p = text.substr(colon + 1);
  int value = -1;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || ptr != p.data() + p.size())
    return bad();
  if (value > 65535 || value < 0 || (value == 0 && !allow_zero)) {
    return Status::invalid("port " + std::string(p) + " is outside 1..65535");
  }
  host = std::string(h);
  port = value;
  return Status::ok();
}

Result<std::vector<HostPort>> parse_host_port_list(std::string_view list) {
  std::vector<HostPort> out;
  size_t start = 0;
  while (true) {
    size_t comma = list.find(',', start);
    std::string_view item = list.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) {
      return Status::invalid("\"" + std::string(list) +
                             "\" has an empty item (write HOST:PORT or HOST:PORT,HOST:PORT,...)");
    }
    HostPort address;
    CUBE_RETURN_IF_ERROR(parse_host_port(item, address.host, address.port));
    if (std::find(out.begin(), out.end(), address) != out.end())
      return Status::invalid("\"" + std::string(list) + "\" names " + std::string(item) + " twice");
    out.push_back(std::move(address));
    if (comma == std::string_view::npos)
      return out;
    start = comma + 1;
  }
}

std::optional<Received> receive(zmq::socket_t& socket, size_t routing_frames, Status* error) {
  auto out = read_frames(socket, error);
  if (!out)
    return std::nullopt;
  size_t start = std::min(routing_frames, out->frames.size());
  // A REQ peer puts an empty delimiter between its identity and the envelope.
  if (routing_frames > 0 && start < out->frames.size() && out->frames[start].size() == 0)
    ++start;
  return parse_from(std::move(*out), start, error);
}

std::optional<Received> receive_published(zmq::socket_t& socket, Status* error) {
  auto out = read_frames(socket, error);
  if (!out)
    return std::nullopt;
  const zmq::message_t& first = out->frames.front();
  bool topic = out->frames.size() > 1 && first.to_string_view() != kProtocolVersion;
  return parse_from(std::move(*out), topic ? 1 : 0, error);
}

Status send_raw(zmq::socket_t& socket, std::span<const zmq::message_t> routing, MessageType type,
                std::string_view body) {
  try {
    for (const auto& frame : routing) {
      zmq::message_t copy(frame.data(), frame.size());
      if (!socket.send(copy, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        return Status::unavailable("peer queue full");
      }
    }
    zmq::message_t magic(kMagic.data(), kMagic.size());
    auto type_byte = static_cast<uint8_t>(type);
    zmq::message_t type_frame(&type_byte, 1);
    zmq::message_t body_frame(body.data(), body.size());
    // After the first frame is accepted, the rest of a multipart message is never refused.
    if (!socket.send(magic, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return Status::unavailable("peer queue full");
    }
    socket.send(type_frame, zmq::send_flags::sndmore);
    socket.send(body_frame, zmq::send_flags::none);
    return Status::ok();
  } catch (const zmq::error_t& e) {
    // EHOSTUNREACH from a ROUTER with ROUTER_MANDATORY: the peer disconnected.
    return Status::unavailable(std::string("send failed: ") + e.what());
  }
}

}  // namespace cube::protocol
