// libFuzzer target for the CUBE1 wire decoder: the first byte is a message type and the rest its
// MessagePack body; the same bytes are then cut into frames for parse_envelope. See
// tests/fuzz/fuzz_targets.h for the invariants and tests/fuzz/README.md for how to run it.
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string problem = cube::fuzz::check_codec_input(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "codec_fuzz: invariant broken: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
