#include "broker/allocation.h"

#include "common/check.h"

namespace cube::broker {

protocol::Capacity allocated_on_node(const TaskTable& tasks, std::string_view node_id) {
  protocol::Capacity out;
  for (const auto& task_id : tasks.tasks_on_node(node_id)) {
    const TaskRecord* record = tasks.find(task_id);
    CUBE_CHECK(record != nullptr) << "TaskTable indexes by node only the tasks it holds";
    out.cpu += record->task.cpu;
    out.memory_bytes += record->task.memory_bytes;
    out.disk_bytes += record->task.disk_bytes;
    ++out.slots;
  }
  return out;
}

}  // namespace cube::broker
