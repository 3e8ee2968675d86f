// The beacon in slices (feature "beacon_slices"). A BEACON published to every agent at once is
// one burst of sends per heartbeat (1,000 agents: about 25 ms of the broker's I/O thread, and on
// a shared machine every task in flight waited behind it). Instead each agent subscribes to one
// of kBeaconSlices topics, chosen from its ID, and the broker publishes the slices one after
// another across the interval: every agent still gets one beacon per heartbeat, and the sends
// come as an even stream.
//
// A sliced beacon is the frames  topic | "CUBE1" | type | body ; a plain one has no topic frame
// (older brokers, and brokers serving an agent that did not announce the feature: such an agent
// subscribes to everything and takes the first frame for the version).
#pragma once

#include <string>
#include <string_view>

namespace cube::protocol {

// Announced in HELLO by an agent that subscribes to its slice (and to plain beacons), and in
// WELCOME by a broker that publishes slices while every agent it serves announced it.
inline constexpr std::string_view kFeatureBeaconSlices = "beacon_slices";

inline constexpr int kBeaconSlices = 64;

// "B00" ... "B63". No topic begins with another, nor with "CUBE1", so a SUB subscribed to a
// topic gets that slice only, and one subscribed to "CUBE1" the plain beacons only.
std::string beacon_topic(int slice);

// The slice an agent listens to: from its ID alone (FNV-1a), in [0, kBeaconSlices).
int beacon_slice_of(std::string_view agent_id);

}  // namespace cube::protocol
