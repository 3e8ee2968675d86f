#include "client/node_lookup.h"

#include <utility>

namespace cube {

Result<protocol::NodeInfo> find_node(std::vector<protocol::NodeInfo> nodes,
                                     const std::string& name_or_id) {
  std::vector<protocol::NodeInfo> named;
  for (auto& node : nodes) {
    if (node.id == name_or_id)
      return std::move(node);
    if (node.name == name_or_id)
      named.push_back(std::move(node));
  }
  if (named.size() == 1)
    return std::move(named.front());
  if (named.empty())
    return Status::not_found("no node is named or has the ID \"" + name_or_id + "\"");
  std::string ids;
  for (const auto& node : named)
    ids += (ids.empty() ? "" : ", ") + node.id;
  return Status::conflict(std::to_string(named.size()) + " nodes are named \"" + name_or_id +
                          "\": name one by its ID (" + ids + ")");
}

}  // namespace cube
