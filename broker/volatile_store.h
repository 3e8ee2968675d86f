// VolatileStore: the store behind `--store memory`. It keeps nothing: the broker's own task
// table (broker/task_table.h) is the only copy, and it is gone when the process exits.
//
// A store is read only when a broker starts (Store::load_all), and a broker process with
// `--store memory` starts with nothing, so a copy kept here could never be read back. The
// MemoryStore that `--store memory` used to open held one anyway: a second encoding of every
// task and its history, about 450 bytes per task held (heaptrack, cube-bench with a separate
// broker), and the broker built a batch of task copies for it after every change. MemoryStore
// stays for tests that restart a broker loop on the same store object.
//
// Commits still go through the store writer, so the outbox rule holds unchanged: a reply or an
// ASSIGN leaves after the (instant) commit of the change it reports.
//
// Thread-safety: as Store; it has no state.
#pragma once

#include "broker/store.h"

namespace cube::broker {

class VolatileStore final : public Store {
 public:
  // OK: there is nothing to write to.
  Status commit(std::span<const Task>, std::span<const TaskEventRecord>) override {
    return Status::ok();
  }
  // OK and empty: nothing is kept.
  Result<std::vector<Task>> load_all() override { return std::vector<Task>{}; }
  Result<std::vector<TaskEventRecord>> load_events() override {
    return std::vector<TaskEventRecord>{};
  }
  // OK and nothing kept, as for tasks: the broker's service table is the only copy.
  Status commit_services(std::span<const Service>, std::span<const std::string>) override {
    return Status::ok();
  }
  Result<std::vector<Service>> load_services() override { return std::vector<Service>{}; }
  bool commits_are_cheap() const override { return true; }
  bool reads_batches() const override { return false; }
};

}  // namespace cube::broker
