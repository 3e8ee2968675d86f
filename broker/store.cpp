#include "broker/store.h"

namespace cube::broker {

Status Store::commit_services(std::span<const Service> upserts,
                              std::span<const std::string> removed) {
  if (upserts.empty() && removed.empty())
    return Status::ok();
  return Status::internal("this store keeps no services");
}

Result<std::vector<Service>> Store::load_services() {
  return std::vector<Service>{};
}

}  // namespace cube::broker
