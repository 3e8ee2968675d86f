#include "bench/run_recorder.h"

#include <charconv>
#include <utility>

#include "common/check.h"
#include "common/ids.h"

namespace cube::bench {
namespace {

constexpr size_t kPrefixChars = 24;  // "xxxxxxxx-xxxx-7xxx-yxxx-"
constexpr size_t kIndexChars = 12;   // the UUID's last group

}  // namespace

RunRecorder::RunRecorder(size_t tasks, std::string prefix)
    : tasks_(tasks),
      prefix_(std::move(prefix)),
      // make_unique<T[]> value-initialises: every slot starts at 0 ("not yet"), and the pages
      // are touched now rather than during the measured run.
      sent_(std::make_unique<std::atomic<int64_t>[]>(tasks)),
      acked_(std::make_unique<std::atomic<int64_t>[]>(tasks)),
      started_(std::make_unique<std::atomic<int64_t>[]>(tasks)),
      ended_(std::make_unique<std::atomic<int64_t>[]>(tasks)) {
  CUBE_CHECK(prefix_.size() == kPrefixChars) << "make_id_prefix() makes 24-character prefixes";
}

std::string RunRecorder::make_id_prefix(SystemTime now) {
  return new_uuid_v7(now).substr(0, kPrefixChars);
}

std::string RunRecorder::task_id(size_t index) const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = prefix_;
  id.resize(kPrefixChars + kIndexChars, '0');
  for (size_t i = 0; i < kIndexChars; ++i)
    id[kPrefixChars + kIndexChars - 1 - i] = kHex[(index >> (4 * i)) & 0xf];
  return id;
}

std::optional<size_t> RunRecorder::index_of(std::string_view task_id) const {
  if (task_id.size() != kPrefixChars + kIndexChars || !task_id.starts_with(prefix_))
    return std::nullopt;
  size_t index = 0;
  const char* first = task_id.data() + kPrefixChars;
  auto [ptr, ec] = std::from_chars(first, first + kIndexChars, index, 16);
  if (ec != std::errc() || ptr != first + kIndexChars || index >= tasks_)
    return std::nullopt;
  return index;
}

bool RunRecorder::record_once(std::atomic<int64_t>* slots, size_t i, SteadyTime at) {
  int64_t expected = 0;
  return slots[i].compare_exchange_strong(expected, to_ns(at), std::memory_order_relaxed);
}

void RunRecorder::sent(size_t index, SteadyTime at) {
  if (record_once(sent_.get(), index, at))
    sent_count_.fetch_add(1, std::memory_order_relaxed);
}

void RunRecorder::acked(size_t index, SteadyTime at) {
  if (record_once(acked_.get(), index, at))
    acked_count_.fetch_add(1, std::memory_order_relaxed);
}

void RunRecorder::failed(size_t index) {
  (void)index;
  failed_count_.fetch_add(1, std::memory_order_relaxed);
}

void RunRecorder::task_started(std::string_view task_id, uint32_t attempt, SteadyTime at) {
  (void)attempt;
  auto index = index_of(task_id);
  if (index && record_once(started_.get(), *index, at))
    started_count_.fetch_add(1, std::memory_order_relaxed);
}

void RunRecorder::task_ended(std::string_view task_id, uint32_t attempt, SteadyTime at) {
  (void)attempt;
  auto index = index_of(task_id);
  if (index && record_once(ended_.get(), *index, at))
    ended_count_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace cube::bench
