#include "broker/string_pool.h"

#include <limits>

#include "common/check.h"

namespace cube::broker {

uint32_t StringPool::intern(std::string_view text) {
  if (auto it = index_.find(text); it != index_.end())
    return it->second;
  // 4 billion distinct reasons and names would take hundreds of GiB first.
  CUBE_CHECK(strings_.size() < std::numeric_limits<uint32_t>::max());
  const auto index = static_cast<uint32_t>(strings_.size());
  const std::string& stored = strings_.emplace_back(text);
  index_.emplace(stored, index);
  return index;
}

}  // namespace cube::broker
