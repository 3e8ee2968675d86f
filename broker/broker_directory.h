// BrokerDirectory: which brokers are on this store prefix, for STATUS (docs/ha.md). Every broker
// registers PREFIX/brokers/<broker id> on its own lease (broker/leader_campaign.h), so a broker
// that dies drops out of the list when its lease ends; this class reads that list every
// `period` on a thread and an EtcdClient of its own (a read must never hold the broker loop or
// delay a lease renewal), and hands it to the loop when it changed.
//
// A failed read keeps the last list (logged once until a read succeeds): STATUS then shows what
// was known, which the role and leader fields, fed by the campaign, still qualify.
//
// Thread-safety: construct, start(), fd(), brokers() and the destructor from one thread (the
// broker loop's, or main's); the directory's own thread touches nothing else.
#pragma once

#include <condition_variable>
#include <string>
#include <thread>
#include <vector>

#include "broker/etcd_client.h"
#include "broker/leader_election.h"
#include "common/clock.h"
#include "common/event_queue.h"
#include "common/mutex.h"

namespace cube::broker {

struct BrokerDirectoryOptions {
  std::vector<std::string> endpoints;  // the store's etcd members
  std::string brokers_prefix;          // EtcdLayout::brokers_prefix()
  Millis period{1000};                 // between reads (the campaign's TTL/3)
};

class BrokerDirectory {
 public:
  explicit BrokerDirectory(BrokerDirectoryOptions options);
  // Stops the thread, waiting for the read in flight (bounded by the client's timeouts).
  ~BrokerDirectory();
  BrokerDirectory(const BrokerDirectory&) = delete;
  BrokerDirectory& operator=(const BrokerDirectory&) = delete;

  // Starts reading. Call once.
  void start();
  // Readable after the list changed; brokers() clears it.
  int fd() const { return changed_.fd(); }
  // The brokers of the last successful read, ordered by id. Never blocks for long.
  std::vector<LeaderRecord> brokers() CUBE_EXCLUDES(mu_);

 private:
  void run() CUBE_EXCLUDES(mu_);

  BrokerDirectoryOptions options_;
  EtcdClient client_;  // the directory thread's only
  EventQueue<bool> changed_;
  Mutex mu_;
  std::condition_variable cv_;
  bool stopping_ CUBE_GUARDED_BY(mu_) = false;
  std::vector<LeaderRecord> brokers_ CUBE_GUARDED_BY(mu_);
  std::thread thread_;
};

// The addresses of `brokers` other than the leader `leader_id`, sorted: STATUS "standbys".
std::vector<std::string> standby_addresses(const std::vector<LeaderRecord>& brokers,
                                           const std::string& leader_id);

}  // namespace cube::broker
