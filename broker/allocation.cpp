#include "broker/allocation.h"

namespace cube::broker {

protocol::Capacity allocated_on_node(const TaskTable& tasks, std::string_view node_id) {
  NodeLoad load = tasks.load_on_node(node_id);
  return protocol::Capacity{load.cpu, load.memory_bytes, load.disk_bytes,
                            static_cast<uint32_t>(load.tasks)};
}

}  // namespace cube::broker
