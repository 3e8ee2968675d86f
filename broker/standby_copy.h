// StandbyCopy: a standby's warm copy of the etcd store (docs/ha.md, "Warm standby"), so that a
// broker that wins the election serves without reading the whole store again.
//
// On a thread of its own, the copy reads the store once (one snapshot, at revision R:
// read_etcd_store), then follows the prefix with a watch (broker/etcd_watch.h) from R + 1,
// applying each put and delete to its replay (broker/etcd_replay.h): the leader's log records,
// its folds' task keys (taken only where newer than what the copy holds) and history chunks; the
// folds' deletions of log records change nothing. A broker that wins calls
// take(reign): the copy waits until it has seen revision `reign` (the creation of our own
// leader key), which comes after every write of every earlier reign (their writes carried the
// compare "the leader key is still the one created at my reign", and that key was deleted
// before ours was created), so the copy then holds exactly what the store holds.
//
// Compaction: a watch whose start revision was compacted away is canceled by etcd; the copy then
// reads the whole store again. A stream that breaks is opened again from the revision after
// the last one applied (on the next member); a read that fails is retried after a moment.
//
// Cost: a standby decodes every write of the leader (about what the leader spent encoding it)
// and holds every task and history entry in memory, as the leader does.
//
// Thread-safety: follow(), take(), stats() and the destructor from any one thread (the broker
// loop's); the copy's own thread touches nothing else.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "broker/etcd_client.h"
#include "broker/etcd_layout.h"
#include "broker/etcd_replay.h"
#include "broker/store.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"

namespace cube::broker {

struct StandbyCopyOptions {
  std::vector<std::string> endpoints;  // the store's etcd members
  std::string prefix = "/cube";        // as EtcdStoreOptions::prefix
};

// What the store holds, as EtcdStore::load_all and load_events give it.
struct StoreContents {
  std::vector<Task> tasks;              // ordered by id
  std::vector<TaskEventRecord> events;  // in append order
  int64_t revision = 0;                 // the store's revision they reflect
};

class StandbyCopy {
 public:
  StandbyCopy(StandbyCopyOptions options, const Clock& clock);
  // Stops the thread (a stream in flight notices within about a second).
  ~StandbyCopy();
  StandbyCopy(const StandbyCopy&) = delete;
  StandbyCopy& operator=(const StandbyCopy&) = delete;

  // Starts keeping the copy (a full read, then the watch), unless it already does. Never
  // blocks.
  void follow() CUBE_EXCLUDES(mu_);

  // Waits up to `timeout` until the copy has seen `revision`, then stops following and hands the
  // copy over. Unavailable (saying how far the copy got) when it did not get there in time:
  // the caller reads the store itself. A later follow() starts with a full read.
  Result<StoreContents> take(int64_t revision, Millis timeout) CUBE_EXCLUDES(mu_);

  struct Stats {
    int64_t revision = 0;  // the newest revision applied
    size_t tasks = 0;
    size_t events = 0;
    uint64_t full_reads = 0;   // how many times the whole store was read
    Millis last_full_read{0};  // how long the last one took
    bool watching = false;     // a watch stream is open (or being opened)
  };
  Stats stats() const CUBE_EXCLUDES(mu_);

 private:
  void run() CUBE_EXCLUDES(mu_);
  // Reads the whole prefix into fresh maps and swaps them in. Errors as EtcdClient::range_all,
  // Internal naming a key that does not decode.
  Status full_read() CUBE_EXCLUDES(mu_);
  // Still following (the stream's stop check asks at least once a second).
  bool keep_going() const CUBE_EXCLUDES(mu_);

  StandbyCopyOptions options_;
  const Clock& clock_;
  EtcdLayout layout_;
  EtcdClient client_;  // the copy's thread only: the full reads
  mutable Mutex mu_;
  std::condition_variable cv_;
  bool stopping_ CUBE_GUARDED_BY(mu_) = false;
  bool following_ CUBE_GUARDED_BY(mu_) = false;
  bool loaded_ CUBE_GUARDED_BY(mu_) = false;  // the maps hold a full read (and what followed)
  EtcdReplay replay_ CUBE_GUARDED_BY(mu_);
  int64_t revision_ CUBE_GUARDED_BY(mu_) = 0;
  Stats stats_ CUBE_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts after everything above is built
};

}  // namespace cube::broker
