// TaskRecordSet: the task table's records, owned and found by task ID. Records are never removed
// and never move, so a pointer to one stays valid for the life of the set.
//
// Why not a std::unordered_set of records: each lookup there walks from a bucket to a node (a
// heap block of its own, 800 bytes, whose cached hash sits at its far end) to the ID's characters
// in a third place, and the broker looks a task up several times per task (its submit, its
// ACCEPT, each state report): a profile of a separate broker at --batch 64 put 9 % of its CPU
// in those lookups. Here the records sit in chunks of kChunk and the lookup is an open-addressed
// array of (hash tag, record number) pairs: one slot read, and the record's ID compared only when
// the tag matches. Records lie in the order submitted, so the tasks the broker is working on
// are near each other: 100,000 tasks looked up in submission order took 75 ns each instead of
// 250 (in random order 380 instead of 430).
//
// Thread-safety: none; owned by the TaskTable (broker loop thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/task.h"

namespace cube::broker {

struct TaskRecord;

class TaskRecordSet {
 public:
  TaskRecordSet();
  ~TaskRecordSet();
  TaskRecordSet(const TaskRecordSet&) = delete;
  TaskRecordSet& operator=(const TaskRecordSet&) = delete;

  // The record whose task has ID `id`; nullptr when there is none.
  TaskRecord* find(std::string_view id) const;

  // Adds a record made from `task` (moved from only when added) and returns it with true; when a
  // record with the task's ID exists, returns that one with false and adds nothing.
  std::pair<TaskRecord*, bool> insert(Task&& task);

  size_t size() const { return size_; }

  // Record `i` in the order added (i < size()).
  const TaskRecord& at(size_t i) const;

 private:
  static constexpr size_t kChunk = 256;  // records per allocation (about 200 KB)
  // 8 bytes, so that the slots cost about 20 bytes a task at 100,000 tasks (pointers and whole
  // hashes took twice that, more than the unordered_set's buckets and nodes they replace).
  struct Slot {
    uint32_t tag = 0;     // the hash's high half; its low bits chose the slot
    uint32_t number = 0;  // the record's index + 1; 0: the slot is free
  };

  static uint64_t hash_of(std::string_view id);
  TaskRecord& record(size_t i) const;
  // The index of the slot holding `id` (whose hash is `hash`), or of the free slot where it
  // would go.
  size_t probe(std::string_view id, uint64_t hash) const;
  // Storage for record number size_ (the caller constructs it there).
  std::byte* next_storage();
  // Doubles the slots and places every record again (from the tags: no record is read).
  void grow_slots();

  // Each holds kChunk records' storage; the first size_ records are constructed.
  std::vector<std::unique_ptr<std::byte[]>> chunks_;
  size_t size_ = 0;
  // Power of two in size, at most three quarters used: a probe seldom goes past a slot or two.
  std::vector<Slot> slots_;
};

}  // namespace cube::broker
