#include "broker/beacon_schedule.h"

#include <algorithm>

#include "common/check.h"
#include "protocol/beacon_slices.h"

namespace cube::broker {

BeaconSchedule::BeaconSchedule(Millis heartbeat)
    : heartbeat_(heartbeat),
      ticks_(static_cast<int>(
          std::clamp<int64_t>(heartbeat / kMinBeaconTick, 1, protocol::kBeaconSlices))) {
  CUBE_CHECK(heartbeat.count() > 0) << "the heartbeat is checked by the options";
}

void BeaconSchedule::start(SteadyTime at) {
  interval_start_ = at;
  tick_ = 0;
  next_ = at;
}

std::optional<BeaconTick> BeaconSchedule::take(SteadyTime now, bool sliced) {
  if (now < next_)
    return std::nullopt;
  if (now - next_ < heartbeat_)
    return advance(sliced);
  // Behind by a whole interval (a stalled loop): every agent is owed its beacon. All of them go
  // now, and a new interval starts with this tick as its first.
  start(now);
  BeaconTick all = advance(sliced);
  if (sliced) {
    all.first_slice = 0;
    all.end_slice = protocol::kBeaconSlices;
  }
  return all;
}

BeaconTick BeaconSchedule::advance(bool sliced) {
  BeaconTick due;
  if (sliced) {
    due.first_slice = protocol::kBeaconSlices * tick_ / ticks_;
    due.end_slice = protocol::kBeaconSlices * (tick_ + 1) / ticks_;
  } else {
    due.plain = tick_ == 0;
  }
  if (++tick_ == ticks_) {
    tick_ = 0;
    interval_start_ += heartbeat_;
  }
  next_ = interval_start_ + heartbeat_ * tick_ / ticks_;
  return due;
}

}  // namespace cube::broker
