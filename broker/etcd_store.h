// EtcdStore: the broker's Store (broker/store.h) in etcd, for a control plane that survives
// the loss of the broker's machine (`--store etcd://HOST:PORT[,HOST:PORT...][/PREFIX]`).
// What goes where under the prefix, and how a batch becomes txns: broker/etcd_layout.h. The
// etcd calls: broker/etcd_client.h (the HTTP/JSON gateway of etcd 3.4).
//
// Durability. etcd acknowledges a txn once a quorum of members has it in its fsynced log, so a
// commit that returned OK survives the broker's death, its machine's, and any minority of the
// etcd members'.
//
// The layout is log-structured (broker/etcd_layout.h): a group commit is one log record (one
// put), or a few for a batch over max_record_bytes, written one txn after the other. If the
// broker dies between them, etcd holds the first records of the batch and not the rest: some
// of the batch's tasks at their new state (each with its new history entries: a task is never
// split from them), the others at their old one. Nothing acknowledged is lost or half-written by
// that: the broker acknowledges a submit, and sends an ASSIGN, only after commit() returned OK
// for the whole batch. A task whose record landed is as if the broker had died after a whole
// commit and before sending anything about it, a window every store has and the broker already
// handles (docs/durability.md): a submit whose reply was lost is found by the client's retry
// with the same ID, a placement whose ASSIGN was never sent is offered again.
// A failed commit is retried by the broker with the same batch; its records keep the sequence
// numbers of the first try, so the retry rewrites the same keys with the same values and a txn
// that landed although its answer was lost is not duplicated.
//
// Folding. The log is folded into task keys, done chunks and history chunks by an EtcdFolder
// (broker/etcd_folder.h) on a thread and connection of its own, when it holds fold_records
// records or fold_bytes bytes, so that commits stay one txn each. A fold that fails is dropped
// (logged) and planned again later: the commits are not affected, and a fold stopped anywhere
// loses nothing (etcd_layout.h). A store that never commits (a standby) never folds.
//
// Versioning. PREFIX/version holds the store's schema version. open() writes it when the prefix
// is empty (a txn "create if absent", so two brokers starting at once agree) and refuses a prefix
// that holds another version, or keys but no version (not written by Cube).
//
// One broker per prefix. Stage 1 has no lock: two brokers on one prefix would overwrite each
// other's tasks. Leader election (issue 14) makes the prefix the leader's alone: it passes the
// compare "the leader key is still mine" to set_write_guard, and from then on every txn of
// commit() carries it, so a broker that lost leadership writes nothing.
//
// Thread-safety: as Store (one thread at a time; the folder has a thread of its own). Every call
// blocks on etcd round trips (bounded by EtcdClientOptions' timeouts per txn).
// commits_are_cheap(): no.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/etcd_client.h"
#include "broker/etcd_folder.h"
#include "broker/etcd_layout.h"
#include "broker/etcd_replay.h"
#include "broker/store.h"

namespace cube::broker {

struct EtcdStoreOptions {
  EtcdClientOptions client;
  std::string prefix = "/cube";  // starts with '/', no trailing '/'
  EtcdTxnLimits limits;
  // Fold when the log holds this many records or bytes. A longer log folds more changes of each
  // task into one put (a task changes about four times in its life) but is read whole by a
  // broker that starts or takes over without a warm copy.
  size_t fold_records = 256;
  size_t fold_bytes = size_t{8} << 20;
};

// What an EtcdStore wrote, since it was opened.
struct EtcdStoreStats {
  uint64_t log_records = 0;  // log puts (one per commit, or a few for a large one)
  uint64_t log_bytes = 0;    // their values' bytes
  uint64_t folds = 0;        // folds finished (broker/etcd_folder.h)
  uint64_t fold_puts = 0;    // task keys and history chunks put by folds
  uint64_t fold_bytes = 0;   // their values' bytes
  uint64_t fold_failures = 0;
};

// Reads every task key, done chunk, history chunk and log record under `layout` into `replay`,
// as one snapshot (the chunks and the log a few keys per page: their values are large), and sets
// `*revision` to the revision read. Errors as EtcdClient::range_all; Internal "KEY: why" when a
// value does not decode, and then `*corrupt` is set. EtcdStore::load_all and the warm standby
// copy (broker/standby_copy.h) read so.
Status read_etcd_store(EtcdClient& client, const EtcdLayout& layout, EtcdReplay& replay,
                       int64_t* revision, bool* corrupt);

class EtcdStore final : public Store {
 public:
  // The schema version this binary reads and writes.
  // Version 1 (Cube 0.x before the log) kept a key per task and per history entry; it is
  // refused, naming both versions.
  static constexpr int kSchemaVersion = 2;

  // Connects, checks or writes the schema version, and finds where the history ends.
  //   Unavailable  no etcd member answered ("etcd unreachable at HOST:PORT (Connection
  //                refused), ..."), within about connect_timeout per endpoint.
  //   Internal     the prefix holds another schema version (naming both), or keys but no
  //                version, or a log key that does not parse; nothing is changed.
  //   Unauthorized etcd requires authentication.
  // Blocks for a few round trips.
  static Result<std::unique_ptr<EtcdStore>> open(EtcdStoreOptions options);

  // As Store::commit: the batch as log records, one txn each, in order; OK once all landed.
  //   Unavailable  etcd cannot be reached or has no quorum: some records of the batch may have
  //                landed (see "Large batches"); retrying the same batch is safe.
  //   Conflict     a write guard compare failed (this broker is no longer the leader): the txn
  //                that failed wrote nothing; earlier txns of the batch may have landed.
  //   Internal     etcd refused the txn (too many ops or bytes for its limits).
  // Then tells the folder how much the log grew.
  Status commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) override;
  // Ordered by id. Reads the whole store (task keys, history chunks, log) as one snapshot and
  // replays it (broker/etcd_replay.h); keeps the history for load_events. Internal naming the
  // key when a value does not decode.
  Result<std::vector<Task>> load_all() override;
  // In append order (within one commit, grouped by task: each task's entries keep their order):
  // what load_all read, or (without it) a read of its own.
  Result<std::vector<TaskEventRecord>> load_events() override;
  // Services under PREFIX/services/ (broker/etcd_services.h), with the write guard; codes as
  // commit().
  Status commit_services(std::span<const Service> upserts,
                         std::span<const std::string> removed) override;
  // Internal naming the key when a service does not decode.
  Result<std::vector<Service>> load_services() override;

  // Compares that every txn of every later commit() carries (empty: none). The hook for
  // fencing; see the file comment.
  void set_write_guard(std::vector<EtcdCompare> guard) { guard_ = std::move(guard); }

  const EtcdLayout& layout() const { return layout_; }
  // "etcd://127.0.0.1:2379/cube": for messages.
  std::string describe() const;
  // The sequence number the next log record gets.
  uint64_t next_log_seq() const { return next_seq_; }
  // Reads where the log ends (the next sequence number) and how long it is, as open() does, and
  // drops a fold in progress. A broker that wins leadership calls it: the previous leader
  // appended records (and folded) since this one opened. Errors as open().
  Status find_history_end();
  EtcdStoreStats stats() const;
  // Waits up to `timeout` until no fold is due or running; false on timeout. For tests.
  bool wait_folded(Millis timeout) { return folder_->wait_idle(timeout); }

  // Only open() can make one (the key is private); public so that make_unique can call it.
  struct Key {
   private:
    friend class EtcdStore;
    Key() = default;
  };
  EtcdStore(Key, EtcdStoreOptions options);

 private:
  Status check_version();
  // OK when `found` (PREFIX/version's value) is this binary's schema version; else Internal
  // naming both, or saying it is not a Cube store.
  Status check_version_value(const std::string& found) const;
  // Reads the whole store as one snapshot into a replay; errors as load_all.
  Status read_store(EtcdReplay& replay);
  // Wraps a client error into the Store's codes, naming the store.
  Status store_error(const Status& status, std::string_view doing) const;
  // Writes `txns` one after the other; the first failure is returned as store_error, a refused
  // guard as Conflict, each naming "<each> i of n of <of>" ("log record 2 of 3 of a commit").
  Status write_guarded(const std::vector<EtcdTxn>& txns, std::string_view each,
                       std::string_view of);

  EtcdStoreOptions options_;
  EtcdLayout layout_;
  EtcdClient client_;
  std::vector<EtcdCompare> guard_;
  uint64_t next_seq_ = 1;
  std::unique_ptr<EtcdFolder> folder_;  // after layout_ and options_, which it is built from
  std::optional<std::vector<TaskEventRecord>> loaded_events_;  // load_all's, for load_events
  EtcdStoreStats stats_;
};

}  // namespace cube::broker
