// BeaconSchedule: when the broker publishes its BEACON and to which slice of the agents
// (protocol/beacon_slices.h). Each heartbeat interval is cut into ticks, as many as there are
// slices but at least kMinBeaconTick apart. While every agent takes slices, each tick publishes
// its share of them, so the interval's sends come as an even stream; otherwise the first tick
// of each interval publishes one plain beacon for everyone, as before slices.
//
// Pure logic: the broker loop passes `now` and publishes what take() returns.
// Thread-safety: none; owned by the broker loop.
#pragma once

#include <optional>

#include "common/clock.h"

namespace cube::broker {

// A 1 ms tick would wake the broker a thousand times a second for a 64 ms heartbeat.
inline constexpr Millis kMinBeaconTick{5};

// What one tick publishes: the plain beacon, and/or the slices [first_slice, end_slice).
struct BeaconTick {
  bool plain = false;
  int first_slice = 0;
  int end_slice = 0;
};

class BeaconSchedule {
 public:
  explicit BeaconSchedule(Millis heartbeat);

  // The first tick of an interval is due at `at` (a broker that starts serving publishes at
  // once; a standby waits).
  void start(SteadyTime at);

  // The earliest tick due at `now`, if one is (nullopt before next()); call it until it
  // returns nullopt, since a busy loop may find several due. `sliced`: every agent served takes
  // slices (AgentRegistry::sessions_without_beacon_slices is 0). Behind by a whole interval, the
  // tick returned covers every slice (or is plain) and a new interval starts at `now`.
  std::optional<BeaconTick> take(SteadyTime now, bool sliced);

  SteadyTime next() const { return next_; }
  int ticks_per_interval() const { return ticks_; }

 private:
  // The tick at tick_, and the schedule moved on to the next.
  BeaconTick advance(bool sliced);

  Millis heartbeat_;
  int ticks_;
  SteadyTime interval_start_{};
  int tick_ = 0;  // the next tick's index in its interval
  SteadyTime next_{};
};

}  // namespace cube::broker
