// The body of a docker_stream fuzz target, usable by a libFuzzer binary
// (LLVMFuzzerTestOneInput -> check_docker_stream_input) and by the deterministic random test in
// docker_stream_test.cpp. Returns "" when every invariant held, or what broke:
//   - demux_stream either succeeds or fails with Invalid and a message;
//   - feeding the same bytes in chunks (sizes taken from the input) gives the same payload and
//     the same verdict as one feed;
//   - on success, combined == the payload bytes in order and stdout + stderr never exceed it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/drivers/docker/docker_stream.h"

namespace cube::agent::test {

inline std::string check_docker_stream_input(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // A small frame limit so that "declared too long" paths are reached by short inputs too.
  constexpr size_t kLimit = 4096;
  auto whole = demux_stream(bytes, kLimit);
  if (!whole.is_ok() && (!whole.status().is_invalid() || whole.status().message().empty()))
    return "demux error is not invalid with a message: " + whole.status().to_string();

  std::string chunked;
  StreamDemuxer demuxer([&chunked](StreamKind, std::string_view p) { chunked.append(p); }, kLimit);
  Status verdict;
  size_t at = 0;
  size_t step = size == 0 ? 1 : (static_cast<uint8_t>(bytes[0]) % 13) + 1;
  while (at < size && verdict.is_ok()) {
    size_t n = std::min(step, size - at);
    verdict = demuxer.feed(bytes.substr(at, n));
    at += n;
  }
  if (verdict.is_ok())
    verdict = demuxer.finish();
  if (verdict.is_ok() != whole.is_ok())
    return "chunked and whole feeds disagree: " + verdict.to_string() + " vs " +
           whole.status().to_string();
  if (whole.is_ok()) {
    if (chunked != whole->combined)
      return "chunked payload differs from the whole-stream payload";
    if (whole->stdout_data.size() + whole->stderr_data.size() > whole->combined.size())
      return "stdout + stderr hold more than combined";
  }
  return {};
}

}  // namespace cube::agent::test
