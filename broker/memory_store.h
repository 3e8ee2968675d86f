// MemoryStore: a Store that keeps everything in process memory. Durable for the life of the
// process only: for `--store memory`, tests and benchmarks. It never fails, except where a test
// asks it to (fail_next_commit_for_test).
//
// Thread-safety: as Store (one thread at a time).
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/store.h"

namespace cube::broker {

class MemoryStore final : public Store {
 public:
  // OK, unless fail_next_commit_for_test armed a failure: then that Status, and nothing changes.
  Status commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) override;
  // Always OK; tasks ordered by id.
  Result<std::vector<Task>> load_all() override;
  // Always OK; in append order.
  Result<std::vector<TaskEventRecord>> load_events() override;

  // How many commits succeeded: lets tests check that work was batched.
  int commit_count() const { return commit_count_; }
  // The next commit returns `status` (not OK) and stores nothing.
  void fail_next_commit_for_test(Status status) { next_failure_ = std::move(status); }

 private:
  std::map<std::string, Task> tasks_;
  std::vector<TaskEventRecord> events_;
  int commit_count_ = 0;
  std::optional<Status> next_failure_;
};

}  // namespace cube::broker
