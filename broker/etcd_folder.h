// EtcdFolder: folds an etcd store's log (broker/etcd_layout.h, "Folds") on a thread and etcd
// connection of its own, so that the store's commits stay one txn each: measured with cube-bench
// on a 3-member etcd, folding between commits (on the store writer thread) made each commit
// wait for a few 128-put fold txns, which held placements near 2,900/s.
//
// EtcdStore tells it after each commit how much the log grew (on_commit). When the log holds
// `fold_records` records or `fold_bytes` bytes, the thread reads the log, plans a fold of every
// record present (plan_fold) and writes its txns one after the other, then the txn that deletes
// the folded records; and again while the log is still long. A fold that fails is dropped
// (logged, counted) and planned again a second later: the commits are not affected, and a fold
// stopped anywhere loses nothing (etcd_layout.h).
//
// Fencing: every fold txn carries the write guard the store had at the last on_commit before the
// fold was planned; a broker that lost leadership folds nothing (its txns fail their compare).
// Only a store that commits folds: nothing is folded before the first on_commit after the
// folder was made or restart()ed (at a takeover), so a standby, which commits nothing, never
// writes, and a new leader folds with its own reign's guard. restart() also drops the fold in
// progress between two of its txns.
//
// Thread-safety: on_commit, restart, stats and wait_idle from any thread; the fold thread
// touches nothing else.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "broker/etcd_client.h"
#include "broker/etcd_layout.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"

namespace cube::broker {

struct EtcdFolderOptions {
  EtcdClientOptions client;
  EtcdTxnLimits limits;
  size_t fold_records = 256;
  size_t fold_bytes = size_t{8} << 20;
  std::string store_name;  // "etcd://HOST:PORT/PREFIX", for messages
};

struct EtcdFoldStats {
  uint64_t folds = 0;       // folds finished
  uint64_t fold_puts = 0;   // task keys and history chunks put
  uint64_t fold_bytes = 0;  // their values' bytes
  uint64_t fold_failures = 0;
};

class EtcdFolder {
 public:
  // `layout` is the store's. Starts the thread (which waits for commits).
  EtcdFolder(EtcdFolderOptions options, EtcdLayout layout);
  // Stops the thread; a fold in progress stops after its txn in flight (safe anywhere).
  ~EtcdFolder();
  EtcdFolder(const EtcdFolder&) = delete;
  EtcdFolder& operator=(const EtcdFolder&) = delete;

  // A commit appended `records` log records of `bytes` bytes, written with `guard`. Never
  // blocks (beyond the lock).
  void on_commit(size_t records, size_t bytes, const std::vector<EtcdCompare>& guard)
      CUBE_EXCLUDES(mu_);
  // The log holds `records` records (counted by the store at a takeover): drops the fold in
  // progress, if any, and starts counting again.
  void restart(size_t records) CUBE_EXCLUDES(mu_);

  EtcdFoldStats stats() const CUBE_EXCLUDES(mu_);
  // Waits up to `timeout` until no fold is due or running; false on timeout. For tests.
  bool wait_idle(Millis timeout) CUBE_EXCLUDES(mu_);

 private:
  void run() CUBE_EXCLUDES(mu_);
  bool due() const CUBE_REQUIRES(mu_);
  // Reads the log and writes one fold of it. OK, with nothing counted, when restart() or the
  // destructor stopped it between two txns.
  Status fold_once(uint64_t generation, const std::vector<EtcdCompare>& guard) CUBE_EXCLUDES(mu_);
  bool still(uint64_t generation) const CUBE_EXCLUDES(mu_);

  EtcdFolderOptions options_;
  EtcdLayout layout_;
  EtcdClient client_;  // the fold thread's only
  mutable Mutex mu_;
  std::condition_variable cv_;
  bool stopping_ CUBE_GUARDED_BY(mu_) = false;
  bool folding_ CUBE_GUARDED_BY(mu_) = false;     // a fold is being planned or written
  uint64_t generation_ CUBE_GUARDED_BY(mu_) = 0;  // bumped by restart()
  size_t records_ CUBE_GUARDED_BY(mu_) = 0;       // log records present, as far as known
  size_t bytes_ CUBE_GUARDED_BY(mu_) = 0;         // bytes appended since the last fold
  bool committed_ CUBE_GUARDED_BY(mu_) = false;   // on_commit since the start or restart()
  std::vector<EtcdCompare> guard_ CUBE_GUARDED_BY(mu_);
  EtcdFoldStats stats_ CUBE_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts after everything above is built
};

}  // namespace cube::broker
