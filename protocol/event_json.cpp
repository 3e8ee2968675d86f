#include "protocol/event_json.h"

#include "protocol/task_json.h"

namespace cube {

nlohmann::json feed_event_to_json(const protocol::FeedEvent& e) {
  nlohmann::json out = {{"Index", e.index}, {"Type", e.type}, {"Time", format_rfc3339(e.time_ms)}};
  if (e.type == "task") {
    nlohmann::json task = {{"ID", e.id},       {"Name", e.name},
                           {"State", e.state}, {"PreviousState", e.previous_state},
                           {"Node", e.node},   {"Reason", e.reason}};
    if (!e.service.empty()) {
      task["Service"] = e.service;
      task["Slot"] = e.slot;
    }
    out["Task"] = std::move(task);
  } else if (e.type == "node") {
    out["Node"] = {{"Name", e.name}, {"State", e.state}, {"PreviousState", e.previous_state}};
  } else {
    out["Service"] = {
        {"Name", e.name}, {"Action", e.state}, {"Version", e.version}, {"Message", e.reason}};
  }
  return out;
}

std::string feed_event_line(const protocol::FeedEvent& e) {
  std::string line = format_rfc3339(e.time_ms) + " " + e.type + " " + e.name;
  if (e.type == "service") {
    line += " " + e.state + " version=" + std::to_string(e.version);
  } else {
    line +=
        " " + (e.previous_state.empty() ? std::string("-") : e.previous_state) + " -> " + e.state;
  }
  if (e.type == "task") {
    line += " id=" + e.id;
    if (!e.node.empty())
      line += " node=" + e.node;
    if (!e.service.empty())
      line += " service=" + e.service + " slot=" + std::to_string(e.slot);
  }
  if (!e.reason.empty())
    line += " reason=\"" + e.reason + "\"";
  return line + " index=" + std::to_string(e.index);
}

}  // namespace cube
