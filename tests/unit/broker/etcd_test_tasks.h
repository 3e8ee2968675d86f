// Small tasks and history entries for the etcd layout's unit tests.
#pragma once

#include <string>
#include <utility>

#include "broker/store.h"

namespace cube::broker::testing {

inline Task etcd_task(std::string id, TaskState state = TaskState::Pending) {
  Task t;
  t.id = std::move(id);
  t.name = "n-" + t.id;
  t.image = "busybox";
  t.state = state;
  return t;
}

inline TaskEventRecord etcd_event(std::string id, TaskState state) {
  TaskEvent e;
  e.state = state;
  e.timestamp_ms = 1700000000000;
  return {std::move(id), e};
}

}  // namespace cube::broker::testing
