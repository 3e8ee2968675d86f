#include "protocol/beacon_slices.h"

#include <cstdint>

#include "common/check.h"

namespace cube::protocol {

std::string beacon_topic(int slice) {
  CUBE_CHECK(slice >= 0 && slice < kBeaconSlices) << "beacon slice " << slice;
  return {'B', static_cast<char>('0' + slice / 10), static_cast<char>('0' + slice % 10)};
}

int beacon_slice_of(std::string_view agent_id) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : agent_id) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return static_cast<int>(hash % kBeaconSlices);
}

}  // namespace cube::protocol
