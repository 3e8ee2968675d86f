#include "broker/task_record_set.h"

#include <functional>
#include <memory>
#include <new>
#include <utility>

#include "broker/task_table.h"
#include "common/check.h"

namespace cube::broker {

namespace {

constexpr size_t kFirstSlots = 1024;

// The slot's tag: the hash's high half. Its low bits also choose the slot, so that doubling the
// slots places every record again from the tags alone: reading each record's ID for its hash
// took milliseconds at 25,000 tasks, a stall every task in flight waited behind.
uint32_t tag_of(uint64_t hash) {
  return static_cast<uint32_t>(hash >> 32);
}

}  // namespace

TaskRecordSet::TaskRecordSet() : slots_(kFirstSlots) {}

TaskRecordSet::~TaskRecordSet() {
  for (size_t i = 0; i < size_; ++i)
    std::destroy_at(&record(i));
}

uint64_t TaskRecordSet::hash_of(std::string_view id) {
  return std::hash<std::string_view>{}(id);
}

TaskRecord& TaskRecordSet::record(size_t i) const {
  return *std::launder(
      reinterpret_cast<TaskRecord*>(chunks_[i / kChunk].get() + (i % kChunk) * sizeof(TaskRecord)));
}

const TaskRecord& TaskRecordSet::at(size_t i) const {
  return record(i);
}

size_t TaskRecordSet::probe(std::string_view id, uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  const uint32_t tag = tag_of(hash);
  size_t i = tag & mask;
  while (slots_[i].number != 0 &&
         !(slots_[i].tag == tag && record(slots_[i].number - 1).task.id == id)) {
    i = (i + 1) & mask;
  }
  return i;
}

TaskRecord* TaskRecordSet::find(std::string_view id) const {
  const Slot& slot = slots_[probe(id, hash_of(id))];
  return slot.number == 0 ? nullptr : &record(slot.number - 1);
}

std::byte* TaskRecordSet::next_storage() {
  if (size_ % kChunk == 0) {
    static_assert(alignof(TaskRecord) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    chunks_.push_back(std::make_unique_for_overwrite<std::byte[]>(kChunk * sizeof(TaskRecord)));
  }
  return chunks_.back().get() + (size_ % kChunk) * sizeof(TaskRecord);
}

void TaskRecordSet::grow_slots() {
  std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(slots_.size() * 2));
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.number == 0)
      continue;
    size_t i = slot.tag & mask;
    while (slots_[i].number != 0)
      i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

std::pair<TaskRecord*, bool> TaskRecordSet::insert(Task&& task) {
  const uint64_t hash = hash_of(task.id);
  size_t i = probe(task.id, hash);
  if (slots_[i].number != 0)
    return {&record(slots_[i].number - 1), false};
  CUBE_CHECK(size_ < UINT32_MAX) << "a record's number must fit a slot";
  if ((size_ + 1) * 4 > slots_.size() * 3) {
    grow_slots();
    i = probe(task.id, hash);
  }
  TaskRecord* added =
      std::construct_at(reinterpret_cast<TaskRecord*>(next_storage()), std::move(task));
  ++size_;
  slots_[i] = Slot{tag_of(hash), static_cast<uint32_t>(size_)};
  return {added, true};
}

}  // namespace cube::broker
