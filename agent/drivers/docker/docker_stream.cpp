#include "agent/drivers/docker/docker_stream.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace cube::agent {

StreamDemuxer::StreamDemuxer(Sink sink, size_t max_frame_bytes)
    : sink_(std::move(sink)), max_frame_bytes_(max_frame_bytes) {}

Status StreamDemuxer::feed(std::string_view bytes) {
  if (!error_.is_ok())
    return error_;
  while (!bytes.empty()) {
    if (payload_left_ > 0) {
      size_t n = std::min(payload_left_, bytes.size());
      sink_(kind_, bytes.substr(0, n));
      payload_bytes_ += static_cast<int64_t>(n);
      payload_left_ -= n;
      bytes.remove_prefix(n);
      continue;
    }
    size_t n = std::min(kStreamHeaderBytes - header_have_, bytes.size());
    std::memcpy(header_ + header_have_, bytes.data(), n);
    header_have_ += n;
    bytes.remove_prefix(n);
    if (header_have_ < kStreamHeaderBytes)
      break;
    header_have_ = 0;
    auto byte = [this](size_t i) { return static_cast<uint8_t>(header_[i]); };
    if (byte(0) > 2) {
      error_ =
          Status::invalid("docker stream: frame header names stream " + std::to_string(byte(0)) +
                          " (expected 0, 1 or 2); is the container using a TTY?");
      return error_;
    }
    if (byte(1) != 0 || byte(2) != 0 || byte(3) != 0) {
      error_ = Status::invalid("docker stream: frame header padding is not zero");
      return error_;
    }
    uint32_t length = (uint32_t{byte(4)} << 24) | (uint32_t{byte(5)} << 16) |
                      (uint32_t{byte(6)} << 8) | uint32_t{byte(7)};
    if (length > max_frame_bytes_) {
      error_ =
          Status::invalid("docker stream: frame declares " + std::to_string(length) +
                          " bytes, more than the limit of " + std::to_string(max_frame_bytes_));
      return error_;
    }
    kind_ = static_cast<StreamKind>(byte(0));
    payload_left_ = length;
  }
  return Status::ok();
}

Status StreamDemuxer::finish() const {
  if (!error_.is_ok())
    return error_;
  if (header_have_ > 0) {
    return Status::invalid("docker stream: truncated frame header (" +
                           std::to_string(header_have_) + " of 8 bytes)");
  }
  if (payload_left_ > 0) {
    return Status::invalid("docker stream: truncated frame (" + std::to_string(payload_left_) +
                           " payload bytes missing)");
  }
  return Status::ok();
}

Result<DemuxedStream> demux_stream(std::string_view bytes, size_t max_frame_bytes) {
  DemuxedStream out;
  StreamDemuxer demuxer(
      [&out](StreamKind kind, std::string_view payload) {
        out.combined.append(payload);
        if (kind == StreamKind::Stdout)
          out.stdout_data.append(payload);
        else if (kind == StreamKind::Stderr)
          out.stderr_data.append(payload);
      },
      max_frame_bytes);
  CUBE_RETURN_IF_ERROR(demuxer.feed(bytes));
  CUBE_RETURN_IF_ERROR(demuxer.finish());
  return out;
}

}  // namespace cube::agent
