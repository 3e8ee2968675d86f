// EtcdLayout: where EtcdStore (broker/etcd_store.h) keeps what under its key prefix, and how a
// group commit and a fold become etcd transactions. Pure: no I/O, unit-tested apart. The values'
// bytes: broker/etcd_values.h.
//
// Keys under PREFIX (default "/cube"), schema version 2 (log-structured):
//   PREFIX/version                   the store's schema version, decimal ("2")
//   PREFIX/leader                    the leader broker's LeaderRecord (JSON), on its lease
//                                    (broker/leader_election.h)
//   PREFIX/brokers/<broker id>       every broker's LeaderRecord, on its own lease
//   PREFIX/log/<seq>                 one log record: the tasks a group commit wrote (each whole)
//                                    and the history entries it appended; <seq> is 20 decimal
//                                    digits, so key order is commit order
//   PREFIX/tasks/<task id>           one task not in a final state, as of log record <seq> (the
//                                    task value carries it)
//   PREFIX/done/<seq>/<n>            a done chunk: tasks in a final state (Completed, Failed),
//                                    each with the seq of its record; the n-th of the fold of the
//                                    records up to <seq>
//   PREFIX/history/<seq>             a history chunk: the history entries of log records from
//                                    <seq> on, grouped by the record they come from
//   PREFIX/folded                    the newest log record folded, decimal
//
// Commits. A group commit is one log record in one txn: one put, whatever the number of tasks
// (version 1 wrote a key per task and per history entry, about 8 per task over its life, which
// capped a 3-member etcd near 1,700 tasks/s). A batch larger than max_record_bytes becomes
// several records, one txn each, one after the other; a task travels in the same record as the
// history entries the batch adds to it.
//
// Folds. The log is folded into the task keys and history chunks from time to time, so that it
// stays short: the records up to some seq S are read, the newest state of each task they hold is
// put with the seq of the record it comes from -- at its task key, or, for a task in a final
// state, into a done chunk with others (most tasks end between two folds: a few puts for
// thousands of them) --, their history entries are put into chunks (grouped by record seq), and
// then one txn deletes the log keys up to S and records S in PREFIX/folded. A task changed ten
// times between two folds costs at most one put. A task that had a task key and then ended keeps
// the key (older, so never read as its state); one that starts again (a restart) is newer again
// in the log.
//
// Reading (replay, broker/etcd_replay.h): a task is the newest of its task key, its entries in
// done chunks and the log records that hold it, by seq; a record at or below the seq of what is
// held is skipped. History
// is every chunk's groups and every log record's entries, each record's taken once. So a fold
// that stopped anywhere (some task keys put, not the deletion) loses nothing and makes no task
// go back: the records it did not delete are still there, and replayed where they are newer.
//
// Fencing (leader election): every txn carries the `guard` compares given to the builders, e.g.
// "the leader key's create_revision is still the one this broker created"
// (EtcdCompare::create_revision_is). etcd applies a txn only when all its compares hold: a broker
// that lost leadership writes nothing, neither a log record nor a fold.
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/etcd_messages.h"
#include "broker/store.h"
#include "common/status.h"

namespace cube::broker {

class EtcdLayout {
 public:
  // `prefix` as parsed by parse_store_spec: starts with '/', no trailing '/'.
  explicit EtcdLayout(std::string prefix) : prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }
  // Every key of the store starts with this (PREFIX/): a range over it sees the whole store and
  // nothing of a sibling prefix such as PREFIX2.
  std::string root() const { return prefix_ + "/"; }
  std::string version_key() const { return prefix_ + "/version"; }
  // Who leads the brokers of this prefix (broker/leader_election.h); attached to its lease.
  std::string leader_key() const { return prefix_ + "/leader"; }
  // Every broker on the prefix, leader and standbys, each on its own lease: STATUS lists them.
  std::string brokers_prefix() const { return prefix_ + "/brokers/"; }
  std::string broker_key(std::string_view broker_id) const {
    return brokers_prefix() + std::string(broker_id);
  }
  std::string tasks_prefix() const { return prefix_ + "/tasks/"; }
  std::string task_key(std::string_view task_id) const;
  std::string log_prefix() const { return prefix_ + "/log/"; }
  std::string log_key(uint64_t seq) const;
  std::string history_prefix() const { return prefix_ + "/history/"; }
  std::string history_key(uint64_t first_seq) const;
  std::string done_prefix() const { return prefix_ + "/done/"; }
  // The `index`th done chunk of the fold of the records up to `last_seq`.
  std::string done_key(uint64_t last_seq, size_t index) const;
  std::string folded_key() const { return prefix_ + "/folded"; }

  // The seq of a log key; Invalid naming the key when it is not one (not under log_prefix(), not
  // 20 digits).
  Result<uint64_t> parse_log_key(std::string_view key) const;
  // The task id of a task key; Invalid when it is not one.
  Result<std::string> parse_task_key(std::string_view key) const;

 private:
  std::string prefix_;
};

struct EtcdTxnLimits {
  // etcd's default --max-txn-ops.
  size_t max_ops = 128;
  // Keys and values per txn: 1 MiB under etcd's default --max-request-bytes of 1.5 MiB, which
  // leaves room for the protobuf framing and the guard compares.
  size_t max_payload_bytes = size_t{1} << 20;
  // One log record's value (unless one task with its history alone is larger), and one history
  // chunk's: small enough that a few of them fit in one read page (EtcdStore reads the log 4
  // keys at a time) under the gateway's 4 MiB answers.
  size_t max_record_bytes = size_t{512} << 10;
};

// Packs ops into txns under `limits`, each txn with every `guard` compare: a group (a task and
// its history entries, or one op) starts a new txn when it does not fit in the current one; a
// group larger than a whole txn is split. Used by the fold's puts and the service changes.
class TxnPacker {
 public:
  // `guard` must outlive the packer.
  TxnPacker(const EtcdTxnLimits& limits, std::span<const EtcdCompare> guard);
  void add_group(std::vector<EtcdOp> group);
  // The txns packed so far, in order (empty when nothing was added).
  std::vector<EtcdTxn> take() { return std::move(txns_); }

 private:
  bool fits(size_t ops, size_t bytes) const;
  void open_txn();

  EtcdTxnLimits limits_;
  std::span<const EtcdCompare> guard_;
  std::vector<EtcdTxn> txns_;
  size_t bytes_ = 0;  // payload of txns_.back()
};

// The txns that append `upserts` and `events` to the log as records first_seq, first_seq + 1,
// ...: one put per txn, each record at most limits.max_record_bytes, every `guard` compare.
// Empty for an empty batch. The same batch with the same first_seq gives the same keys and
// values, so a retry after an unknown outcome (a timeout) is idempotent.
std::vector<EtcdTxn> build_log_txns(const EtcdLayout& layout, std::span<const Task> upserts,
                                    std::span<const TaskEventRecord> events, uint64_t first_seq,
                                    const EtcdTxnLimits& limits,
                                    std::span<const EtcdCompare> guard = {});

// A fold of the log records up to `last_seq`: `puts` (task keys, done and history chunks, at most
// limits.max_ops and max_payload_bytes per txn) must all land before `finish` (the deletion of
// the log keys up to last_seq and PREFIX/folded = last_seq) is written.
struct FoldPlan {
  std::vector<EtcdTxn> puts;
  EtcdTxn finish;
  uint64_t first_seq = 0;  // the oldest record folded
  uint64_t last_seq = 0;   // the newest
  size_t records = 0;
  size_t tasks = 0;           // task keys put
  size_t done_tasks = 0;      // tasks put into done chunks
  size_t done_chunks = 0;     // done chunks put
  size_t history_chunks = 0;  // history chunks put
};
struct LogKeyValue {
  uint64_t seq = 0;
  std::string_view value;
};
// The fold of `records` (every log record up to the last one's seq, in seq order; not empty).
// Invalid naming the record when one does not parse or holds a task that does not decode.
Result<FoldPlan> plan_fold(const EtcdLayout& layout, std::span<const LogKeyValue> records,
                           const EtcdTxnLimits& limits, std::span<const EtcdCompare> guard = {});

}  // namespace cube::broker
