#include "broker/etcd_layout.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <unordered_map>

#include "broker/etcd_values.h"
#include "protocol/codec.h"

namespace cube::broker {
namespace {

// uint64 max has 20 digits.
constexpr size_t kSeqDigits = 20;

std::string seq_digits(uint64_t seq) {
  char digits[kSeqDigits + 1];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(seq));
  return digits;
}

}  // namespace

TxnPacker::TxnPacker(const EtcdTxnLimits& limits, std::span<const EtcdCompare> guard)
    : limits_(limits), guard_(guard) {}

void TxnPacker::add_group(std::vector<EtcdOp> group) {
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

bool TxnPacker::fits(size_t ops, size_t bytes) const {
  if (txns_.empty())
    return false;
  const auto& current = txns_.back().success;
  if (current.empty())
    return true;  // anything fits in an empty txn (etcd judges an oversized single put)
  return current.size() + ops <= limits_.max_ops && bytes_ + bytes <= limits_.max_payload_bytes;
}

void TxnPacker::open_txn() {
  EtcdTxn txn;
  txn.compares.assign(guard_.begin(), guard_.end());
  txns_.push_back(std::move(txn));
  bytes_ = 0;
}

std::string EtcdLayout::task_key(std::string_view task_id) const {
  return tasks_prefix() + std::string(task_id);
}

std::string EtcdLayout::log_key(uint64_t seq) const {
  return log_prefix() + seq_digits(seq);
}

std::string EtcdLayout::history_key(uint64_t first_seq) const {
  return history_prefix() + seq_digits(first_seq);
}

std::string EtcdLayout::done_key(uint64_t last_seq, size_t index) const {
  char n[16];
  std::snprintf(n, sizeof n, "/%06zu", index);
  return done_prefix() + seq_digits(last_seq) + n;
}

Result<uint64_t> EtcdLayout::parse_log_key(std::string_view key) const {
  const std::string log = log_prefix();
  auto bad = [&] { return Status::invalid("\"" + std::string(key) + "\" is not a log key"); };
  if (!key.starts_with(log))
    return bad();
  std::string_view rest = key.substr(log.size());
  uint64_t seq = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), seq);
  if (rest.size() != kSeqDigits || ec != std::errc() || end != rest.data() + rest.size())
    return bad();
  return seq;
}

Result<std::string> EtcdLayout::parse_task_key(std::string_view key) const {
  const std::string tasks = tasks_prefix();
  if (!key.starts_with(tasks) || key.size() == tasks.size())
    return Status::invalid("\"" + std::string(key) + "\" is not a task key");
  return std::string(key.substr(tasks.size()));
}

std::vector<EtcdTxn> build_log_txns(const EtcdLayout& layout, std::span<const Task> upserts,
                                    std::span<const TaskEventRecord> events, uint64_t first_seq,
                                    const EtcdTxnLimits& limits,
                                    std::span<const EtcdCompare> guard) {
  // The history entries of each task, in batch order.
  std::unordered_map<std::string_view, std::vector<size_t>> events_of;
  for (size_t i = 0; i < events.size(); ++i)
    events_of[events[i].first].push_back(i);

  std::vector<EtcdTxn> txns;
  LogRecordWriter record;
  auto close_record = [&] {
    EtcdTxn txn;
    txn.compares.assign(guard.begin(), guard.end());
    txn.success.push_back(EtcdOp::put(layout.log_key(first_seq + txns.size()), record.finish()));
    txns.push_back(std::move(txn));
    record = LogRecordWriter();
  };
  // A group (a task and its entries, or one orphan entry) starts a new record when the current
  // one holds something and the group would take it over the limit.
  std::string blob;
  auto add_event = [&](size_t i, LogRecordWriter& to) {
    blob.clear();
    protocol::append_task_event_compact(events[i].second, blob);
    to.add_event(events[i].first, blob);
  };
  for (const auto& task : upserts) {
    LogRecordWriter group;
    group.add_task(protocol::encode_task_compact(task));
    auto it = events_of.find(task.id);
    if (it != events_of.end()) {
      for (size_t i : it->second)
        add_event(i, group);
      events_of.erase(it);
    }
    if (!record.empty() && record.bytes() + group.bytes() > limits.max_record_bytes)
      close_record();
    record.append(group);
  }
  // History entries of tasks the batch does not upsert, in batch order.
  for (size_t i = 0; i < events.size(); ++i) {
    if (!events_of.contains(events[i].first))
      continue;
    LogRecordWriter group;
    add_event(i, group);
    if (!record.empty() && record.bytes() + group.bytes() > limits.max_record_bytes)
      close_record();
    record.append(group);
  }
  if (!record.empty())
    close_record();
  return txns;
}

Result<FoldPlan> plan_fold(const EtcdLayout& layout, std::span<const LogKeyValue> records,
                           const EtcdTxnLimits& limits, std::span<const EtcdCompare> guard) {
  FoldPlan plan;
  if (records.empty())
    return Status::invalid("nothing to fold");
  plan.first_seq = records.front().seq;
  plan.last_seq = records.back().seq;
  plan.records = records.size();
  // The newest state of each task, in order of first appearance (deterministic).
  struct Newest {
    uint64_t seq = 0;
    std::string_view blob;
  };
  std::unordered_map<std::string_view, size_t> index_of;
  std::vector<std::pair<std::string_view, Newest>> newest;
  TxnPacker packer(limits, guard);
  HistoryChunkWriter chunk;
  uint64_t chunk_first = 0;
  auto close_chunk = [&] {
    packer.add_group({EtcdOp::put(layout.history_key(chunk_first), chunk.take())});
    ++plan.history_chunks;
  };
  // The records' inflated framings, which the blobs below point into until the plan is built.
  std::vector<std::string> buffers(records.size());
  for (size_t r = 0; r < records.size(); ++r) {
    const auto& [seq, value] = records[r];
    auto record = parse_log_record(value, buffers[r]);
    if (!record.is_ok())
      return record.status().with_context(layout.log_key(seq));
    for (std::string_view blob : record->tasks) {
      std::string_view id = protocol::peek_task_id(blob);
      if (id.empty())
        return Status::invalid(layout.log_key(seq) + ": a task without an id");
      auto [it, added] = index_of.emplace(id, newest.size());
      if (added)
        newest.emplace_back(id, Newest{seq, blob});
      else
        newest[it->second].second = Newest{seq, blob};
    }
    if (record->events.empty())
      continue;
    size_t group_bytes = 20;
    for (const auto& [id, blob] : record->events)
      group_bytes += id.size() + blob.size() + 4;
    if (!chunk.empty() && chunk.bytes() + group_bytes > limits.max_record_bytes)
      close_chunk();
    if (chunk.empty())
      chunk_first = seq;
    chunk.add_group(seq, record->events);
  }
  if (!chunk.empty())
    close_chunk();
  // Tasks in a final state go into done chunks, the others to their keys.
  DoneChunkWriter done;
  auto close_done = [&] {
    packer.add_group({EtcdOp::put(layout.done_key(plan.last_seq, plan.done_chunks), done.take())});
    ++plan.done_chunks;
  };
  for (const auto& [id, at] : newest) {
    Task task;
    if (Status decoded = protocol::decode_task(at.blob, task); !decoded.is_ok())
      return decoded.with_context("task " + std::string(id) + " in " + layout.log_key(at.seq));
    if (!is_terminal(task.state)) {
      packer.add_group({EtcdOp::put(layout.task_key(id), encode_task_value(at.seq, at.blob))});
      ++plan.tasks;
      continue;
    }
    if (!done.empty() && done.bytes() + at.blob.size() + 20 > limits.max_record_bytes)
      close_done();
    done.add_task(at.seq, at.blob);
    ++plan.done_tasks;
  }
  if (!done.empty())
    close_done();
  plan.puts = packer.take();
  plan.finish.compares.assign(guard.begin(), guard.end());
  plan.finish.success.push_back(
      EtcdOp::remove(layout.log_prefix(), layout.log_key(plan.last_seq + 1)));
  plan.finish.success.push_back(EtcdOp::put(layout.folded_key(), std::to_string(plan.last_seq)));
  return plan;
}

}  // namespace cube::broker
