// The event feed's JSON (docs/events.md): what `cube-client events -o json` prints, one object
// per line, and what GET /events sends as each Server-Sent Event's data. Field names follow
// the task JSON (protocol/task_json.h), states by name:
//   {"Index":42,"Type":"task","Time":"2026-12-06T22:40:01.123Z","Task":{"ID":"..","Name":"web.1",
//    "State":"Running","PreviousState":"Scheduled","Node":"node-a","Reason":"",
//    "Service":"web","Slot":1}}                         (Service and Slot only for a replica)
//   {"Index":..,"Type":"node","Time":..,"Node":{"Name":"node-a","State":"lost",
//    "PreviousState":"suspect"}}
//   {"Index":..,"Type":"service","Time":..,"Service":{"Name":"web","Action":"scaled",
//    "Version":3,"Message":".."}}
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "protocol/messages.h"

namespace cube {

nlohmann::json feed_event_to_json(const protocol::FeedEvent& event);

// One line for a person: "2026-12-06T22:40:01.123Z task web.1 Scheduled -> Running
// node=node-a id=0190..." (no newline).
std::string feed_event_line(const protocol::FeedEvent& event);

}  // namespace cube
