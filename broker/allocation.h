// What the broker has placed on a node: the sum of the CPU, memory and disk that the tasks
// Scheduled or Running there asked for (TaskTable::tasks_on_node), and how many they are. This
// is the "allocated" that the scheduler subtracts from a node's declared capacity (plan_apply)
// and that `cube-client nodes` shows; it is never a stats sample.
//
// Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <string_view>

#include "broker/task_table.h"
#include "protocol/messages.h"

namespace cube::broker {

// cpu, memory_bytes and disk_bytes summed over the node's tasks; slots = how many tasks.
protocol::Capacity allocated_on_node(const TaskTable& tasks, std::string_view node_id);

}  // namespace cube::broker
