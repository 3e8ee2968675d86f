// EtcdLayout: where EtcdStore (broker/etcd_store.h) keeps what under its key prefix, and how a
// group commit becomes etcd transactions. Pure: no I/O, unit-tested apart.
//
// Keys under PREFIX (default "/cube"):
//   PREFIX/version                   the store's schema version, decimal ("1")
//   PREFIX/leader                    the leader broker's LeaderRecord (JSON), on its lease
//                                    (broker/leader_election.h)
//   PREFIX/brokers/<broker id>       every broker's LeaderRecord, on its own lease
//   PREFIX/tasks/<task id>           one task: protocol::encode_task_compact (the MessagePack
//                                    task map without the keys at their default value)
//   PREFIX/events/<seq>/<task id>    one history entry: protocol::encode_task_event_compact;
//                                    <seq> is 20 decimal digits, so key order is append order
//
// Transactions. etcd refuses a txn with more than --max-txn-ops operations (default 128) and a
// request over --max-request-bytes (default 1.5 MiB), so a batch becomes as many txns as it
// needs. Each task's put travels in the same txn as the history entries of that batch for the
// task (unless they alone exceed a txn), so after a crash between the txns of one batch a task
// is either wholly at its new state with its history, or wholly at its old one.
//
// Fencing (the hook for leader election): every txn carries the `guard` compares given to
// build_commit_txns, so that a write can be made conditional on, e.g., "the leader key's
// create_revision is still the one this broker created" (EtcdCompare::create_revision_is).
// etcd applies a txn only when all its compares hold: a broker that lost leadership writes
// nothing. Compares do not count towards --max-txn-ops (etcd limits each list separately).
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
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
  std::string events_prefix() const { return prefix_ + "/events/"; }
  std::string event_key(uint64_t seq, std::string_view task_id) const;

  struct EventKey {
    uint64_t seq = 0;
    std::string task_id;
  };
  // The parts of an event key. Invalid naming the key when it is not one (not under
  // events_prefix(), a sequence that is not 20 digits, no task id).
  Result<EventKey> parse_event_key(std::string_view key) const;
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
};

// The txns that store `upserts` and `events`, the events numbered from `first_seq` in the
// order given; each txn holds at most limits.max_ops puts and (unless one put alone is larger)
// limits.max_payload_bytes of keys and values, and every `guard` compare. Empty for an empty
// batch. Writing the same batch again with the same first_seq writes the same keys and values,
// so a retry after an unknown outcome (a timeout) is idempotent.
std::vector<EtcdTxn> build_commit_txns(const EtcdLayout& layout, std::span<const Task> upserts,
                                       std::span<const TaskEventRecord> events, uint64_t first_seq,
                                       const EtcdTxnLimits& limits,
                                       std::span<const EtcdCompare> guard = {});

}  // namespace cube::broker
