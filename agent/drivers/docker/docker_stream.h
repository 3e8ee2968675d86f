// Docker's multiplexed stream format (logs and attach of containers created without a TTY):
// a sequence of frames, each an 8-byte header followed by a payload:
//
//   byte 0     stream: 0 stdin, 1 stdout, 2 stderr
//   bytes 1-3  zero
//   bytes 4-7  payload length, big-endian uint32
//
// Pure code, no I/O: the Docker client feeds it the HTTP body in whatever chunks curl delivers,
// and the fuzzer and unit tests feed it arbitrary bytes. Cube never creates containers with a
// TTY, so every stream it reads is multiplexed.
//
// Thread-safety: a StreamDemuxer is used by one thread at a time; the free function is pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cube::agent {

enum class StreamKind : uint8_t { Stdin = 0, Stdout = 1, Stderr = 2 };

inline constexpr size_t kStreamHeaderBytes = 8;
// Largest payload a frame may declare. dockerd writes log entries of at most 16 KiB (json-file
// splits longer lines) and attach buffers of 32 KiB; 16 MiB leaves room for other log drivers
// while a header read from garbage (or from a TTY stream) is rejected instead of waited for.
inline constexpr size_t kMaxStreamFrameBytes = size_t{16} << 20;

class StreamDemuxer {
 public:
  // Receives payload bytes in order. A frame split across feed() calls arrives as several
  // pieces of the same kind; empty frames produce no call.
  using Sink = std::function<void(StreamKind kind, std::string_view payload)>;

  explicit StreamDemuxer(Sink sink, size_t max_frame_bytes = kMaxStreamFrameBytes);

  // Consumes the next bytes of the stream. Invalid when a header names a stream other than
  // 0..2, has non-zero padding, or declares more than max_frame_bytes; the error is sticky:
  // later calls return it again and deliver nothing. Never buffers more than one header.
  Status feed(std::string_view bytes);

  // Call at the end of the stream: OK when it ended on a frame boundary; Invalid naming how
  // many header or payload bytes were missing otherwise (a truncated stream), or the sticky
  // error of feed().
  Status finish() const;

  // Payload bytes delivered so far (both kinds), for callers that count offsets.
  int64_t payload_bytes() const { return payload_bytes_; }

 private:
  Sink sink_;
  size_t max_frame_bytes_;
  char header_[kStreamHeaderBytes] = {};
  size_t header_have_ = 0;   // header bytes buffered, 0..8
  size_t payload_left_ = 0;  // bytes of the current frame's payload still to come
  StreamKind kind_ = StreamKind::Stdout;
  int64_t payload_bytes_ = 0;
  Status error_;
};

// The stream split by kind and also combined in arrival order (what `docker logs` prints).
struct DemuxedStream {
  std::string combined;
  std::string stdout_data;
  std::string stderr_data;  // stdin frames (never sent by dockerd for logs) go to combined only
};

// Demultiplexes a complete stream. Invalid as StreamDemuxer::feed/finish describe.
Result<DemuxedStream> demux_stream(std::string_view bytes,
                                   size_t max_frame_bytes = kMaxStreamFrameBytes);

}  // namespace cube::agent
