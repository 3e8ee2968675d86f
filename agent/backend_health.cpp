#include "agent/backend_health.h"

#include <algorithm>
#include <utility>

namespace cube::agent {

bool BackendHealth::start_check_if_due(SteadyTime now) {
  if (in_flight_ || now < next_check_)
    return false;
  in_flight_ = true;
  return true;
}

bool BackendHealth::on_result(Status status, SteadyTime now) {
  in_flight_ = false;
  const bool changed = status.is_ok() != status_.is_ok() ||
                       (!status.is_ok() && status.message() != status_.message());
  status_ = std::move(status);
  next_check_ = now + (status_.is_ok() ? kHealthyInterval : kUnhealthyInterval);
  return changed;
}

void BackendHealth::check_soon(SteadyTime now) {
  next_check_ = std::min(next_check_, now);
}

}  // namespace cube::agent
