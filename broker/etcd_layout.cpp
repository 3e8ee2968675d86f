#include "broker/etcd_layout.h"

#include <charconv>
#include <cstdio>
#include <unordered_map>

#include "protocol/codec.h"

namespace cube::broker {
namespace {

// uint64 max has 20 digits.
constexpr size_t kSeqDigits = 20;

// Packs ops into txns under the limits; a group (a task and its history entries) starts a new
// txn when it does not fit in the current one.
class TxnPacker {
 public:
  TxnPacker(const EtcdTxnLimits& limits, std::span<const EtcdCompare> guard)
      : limits_(limits), guard_(guard) {}

  void add_group(std::vector<EtcdOp> group) {
    size_t bytes = 0;
    for (const auto& op : group)
      bytes += op.payload_bytes();
    if (!fits(group.size(), bytes))
      open_txn();
    for (auto& op : group) {
      if (!fits(1, op.payload_bytes()))
        open_txn();  // a group larger than a whole txn is split
      bytes_ += op.payload_bytes();
      txns_.back().success.push_back(std::move(op));
    }
  }

  std::vector<EtcdTxn> take() { return std::move(txns_); }

 private:
  bool fits(size_t ops, size_t bytes) const {
    if (txns_.empty())
      return false;
    const auto& current = txns_.back().success;
    if (current.empty())
      return true;  // anything fits in an empty txn (etcd judges an oversized single put)
    return current.size() + ops <= limits_.max_ops && bytes_ + bytes <= limits_.max_payload_bytes;
  }

  void open_txn() {
    EtcdTxn txn;
    txn.compares.assign(guard_.begin(), guard_.end());
    txns_.push_back(std::move(txn));
    bytes_ = 0;
  }

  EtcdTxnLimits limits_;
  std::span<const EtcdCompare> guard_;
  std::vector<EtcdTxn> txns_;
  size_t bytes_ = 0;  // payload of txns_.back()
};

}  // namespace

std::string EtcdLayout::task_key(std::string_view task_id) const {
  return tasks_prefix() + std::string(task_id);
}

std::string EtcdLayout::event_key(uint64_t seq, std::string_view task_id) const {
  char digits[kSeqDigits + 1];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(seq));
  return events_prefix() + digits + "/" + std::string(task_id);
}

Result<EtcdLayout::EventKey> EtcdLayout::parse_event_key(std::string_view key) const {
  const std::string events = events_prefix();
  auto bad = [&] { return Status::invalid("\"" + std::string(key) + "\" is not a history key"); };
  if (!key.starts_with(events))
    return bad();
  std::string_view rest = key.substr(events.size());
  if (rest.size() < kSeqDigits + 2 || rest[kSeqDigits] != '/')
    return bad();
  EventKey out;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + kSeqDigits, out.seq);
  if (ec != std::errc() || end != rest.data() + kSeqDigits)
    return bad();
  out.task_id = std::string(rest.substr(kSeqDigits + 1));
  return out;
}

Result<std::string> EtcdLayout::parse_task_key(std::string_view key) const {
  const std::string tasks = tasks_prefix();
  if (!key.starts_with(tasks) || key.size() == tasks.size())
    return Status::invalid("\"" + std::string(key) + "\" is not a task key");
  return std::string(key.substr(tasks.size()));
}

std::vector<EtcdTxn> build_commit_txns(const EtcdLayout& layout, std::span<const Task> upserts,
                                       std::span<const TaskEventRecord> events, uint64_t first_seq,
                                       const EtcdTxnLimits& limits,
                                       std::span<const EtcdCompare> guard) {
  // The history entries of each task, in batch order.
  std::unordered_map<std::string_view, std::vector<size_t>> events_of;
  for (size_t i = 0; i < events.size(); ++i)
    events_of[events[i].first].push_back(i);
  auto event_put = [&](size_t i) {
    return EtcdOp::put(layout.event_key(first_seq + i, events[i].first),
                       protocol::encode_task_event_compact(events[i].second));
  };

  TxnPacker packer(limits, guard);
  for (const auto& task : upserts) {
    std::vector<EtcdOp> group;
    group.push_back(EtcdOp::put(layout.task_key(task.id), protocol::encode_task_compact(task)));
    if (auto it = events_of.find(task.id); it != events_of.end()) {
      for (size_t i : it->second)
        group.push_back(event_put(i));
      events_of.erase(it);
    }
    packer.add_group(std::move(group));
  }
  // History entries of tasks the batch does not upsert, in batch order.
  for (size_t i = 0; i < events.size(); ++i) {
    if (events_of.contains(events[i].first))
      packer.add_group({event_put(i)});
  }
  return packer.take();
}

}  // namespace cube::broker
