// What the broker has placed on a node, in the shape NODES reports it: the CPU, memory and disk
// that the tasks Scheduled or Running there asked for, and in `slots` how many they are. It is
// TaskTable's running NodeLoad (kept up to date as tasks move), the same figure the scheduler
// subtracts from the node's declared capacity; never a stats sample.
//
// Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <string_view>

#include "broker/task_table.h"
#include "protocol/messages.h"

namespace cube::broker {

protocol::Capacity allocated_on_node(const TaskTable& tasks, std::string_view node_id);

}  // namespace cube::broker
