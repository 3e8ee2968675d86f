// EtcdStore: the broker's Store (broker/store.h) in etcd, for a control plane that survives
// the loss of the broker's machine (`--store etcd://HOST:PORT[,HOST:PORT...][/PREFIX]`).
// What goes where under the prefix, and how a batch becomes txns: broker/etcd_layout.h. The
// etcd calls: broker/etcd_client.h (the HTTP/JSON gateway of etcd 3.4).
//
// Durability. etcd acknowledges a txn once a quorum of members has it in its fsynced log, so a
// commit that returned OK survives the broker's death, its machine's, and any minority of the
// etcd members'.
//
// Large batches. A group commit bigger than one etcd txn allows (128 ops, 1 MiB: etcd_layout.h)
// is written as several txns, one after the other. If the broker dies between them, etcd holds
// the first txns of the batch and not the rest: some of the batch's tasks at their new state
// (each with its new history entries: a task is never split from them), the others at their
// old one. Nothing acknowledged is lost or half-written by that: the broker acknowledges a
// submit, and sends an ASSIGN, only after commit() returned OK for the whole batch. A task whose
// txn landed is as if the broker had died after a whole commit and before sending anything
// about it, a window every store has and the broker already handles (docs/durability.md): a
// submit whose reply was lost is found by the client's retry with the same ID, a placement
// whose ASSIGN was never sent is offered again.
// A failed commit is retried by the broker with the same batch; the history entries keep the
// sequence numbers of the first try, so the retry rewrites the same keys with the same values
// and a txn that landed although its answer was lost is not duplicated.
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
// Thread-safety: as Store (one thread at a time). Every call blocks on etcd round trips
// (bounded by EtcdClientOptions' timeouts per txn). commits_are_cheap(): no.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "broker/etcd_client.h"
#include "broker/etcd_layout.h"
#include "broker/store.h"

namespace cube::broker {

struct EtcdStoreOptions {
  EtcdClientOptions client;
  std::string prefix = "/cube";  // starts with '/', no trailing '/'
  EtcdTxnLimits limits;
};

class EtcdStore final : public Store {
 public:
  // The schema version this binary reads and writes.
  static constexpr int kSchemaVersion = 1;

  // Connects, checks or writes the schema version, and finds where the history ends.
  //   Unavailable  no etcd member answered ("etcd unreachable at HOST:PORT (Connection
  //                refused), ..."), within about connect_timeout per endpoint.
  //   Internal     the prefix holds another schema version (naming both), or keys but no
  //                version, or a history key that does not parse; nothing is changed.
  //   Unauthorized etcd requires authentication.
  // Blocks for a few round trips.
  static Result<std::unique_ptr<EtcdStore>> open(EtcdStoreOptions options);

  // As Store::commit, in as many txns as etcd_layout.h needs, in order. OK once all landed.
  //   Unavailable  etcd cannot be reached or has no quorum: some txns of the batch may have
  //                landed (see "Large batches"); retrying the same batch is safe.
  //   Conflict     a write guard compare failed (this broker is no longer the leader): the txn
  //                that failed wrote nothing; earlier txns of the batch may have landed.
  //   Internal     etcd refused the txn (too many ops or bytes for its limits).
  Status commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) override;
  // Ordered by id (key order). Internal naming the key when a task does not decode.
  Result<std::vector<Task>> load_all() override;
  // In append order. Internal naming the key when an entry does not decode.
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
  // The sequence number the next history entry gets.
  uint64_t next_event_seq() const { return next_seq_; }
  // Reads where the history ends (the next sequence number), as open() does. A broker that
  // wins leadership calls it: the previous leader appended entries since this one opened.
  // Errors as open().
  Status find_history_end();

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
  // Reads every key under `prefix` (page by page, one snapshot) through `decode`. A key that
  // does not decode: Internal "store ... is corrupt: KEY: why"; a failed read: as store_error,
  // naming `what` ("tasks").
  Status read_prefix(const std::string& prefix, std::string_view what,
                     const std::function<Status(const EtcdKeyValue&)>& decode);
  // Wraps a client error into the Store's codes, naming the store.
  Status store_error(const Status& status, std::string_view doing) const;

  EtcdStoreOptions options_;
  EtcdLayout layout_;
  EtcdClient client_;
  std::vector<EtcdCompare> guard_;
  uint64_t next_seq_ = 1;
};

}  // namespace cube::broker
