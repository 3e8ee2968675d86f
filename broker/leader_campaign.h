// LeaderCampaign: runs the election of broker/leader_election.h against etcd, on a thread of its
// own with an EtcdClient of its own (EtcdClient is for one thread at a time, and a slow store
// commit must never delay a keepalive). The broker loop polls fd() and take()s the news.
//
// What the thread does, driven by ElectionMachine: grants a lease of options.ttl; campaigns with
// one txn (compare PREFIX/leader's create_revision == 0; success: put it with the lease and our
// LeaderRecord, then read it; failure: read it); keeps the lease alive every TTL/3; as a
// standby, campaigns again every TTL/3 (a leader key whose lease expired is deleted by etcd, so
// the next campaign wins). A campaign txn whose answer was lost (a timeout, a member that died)
// may still have landed: the thread then reads PREFIX/leader and takes the key as won when it
// is attached to our lease, so a retried write never makes two leaders or none.
//
// The keepalive client's request timeout is TTL/3, so one hung request cannot hold the thread
// past the next renewal; ElectionMachine counts the lease from the asking and makes a leader
// step down when it was not renewed by then.
//
// Registration: the first campaign txn on each lease also puts PREFIX/brokers/<broker id> with
// our record on that lease, in either branch, so every broker on the prefix is listed while its
// lease lives (broker/broker_directory.h reads the list).
//
// News: an ElectionNews each time the role changes, and for a leader after every renewal (with
// the new lease_valid_until, which the loop checks on its own deadline too, in case this
// thread is stuck). A leader that loses its reign (ElectionMachine: the lease gone or not
// renewed in time, or fenced()) campaigns again in the same process: its news says
// Campaigning with losses one higher, and the loop drops what it held as leader.
//
// Thread-safety: construct, start(), fd(), take(), fenced() and the destructor from one thread
// (the broker loop's); the campaign's own thread touches nothing else.
#pragma once

#include <condition_variable>
#include <deque>
#include <string>
#include <thread>

#include "broker/etcd_client.h"
#include "broker/leader_election.h"
#include "common/clock.h"
#include "common/event_queue.h"
#include "common/mutex.h"

namespace cube::broker {

struct LeaderCampaignOptions {
  std::vector<std::string> endpoints;  // the store's etcd members
  std::string leader_key;              // EtcdLayout::leader_key()
  std::string broker_key;              // EtcdLayout::broker_key(our id)
  Millis ttl{3000};                    // --leader-ttl
};

// One change seen by the campaign thread.
struct ElectionNews {
  ElectionRole role = ElectionRole::Campaigning;
  LeaderRecord leader;  // who leads (ourselves when Leader); may be empty
  int64_t reign = 0;    // Leader: PREFIX/leader's create_revision (the fencing compare)
  uint64_t losses = 0;  // ElectionMachine::losses(): a higher count means a reign ended
  SteadyTime lease_valid_until{};
  std::string lost_reason;  // why the last reign ended
  std::string error;        // the last etcd error of the campaign; "" once one succeeded
};

class LeaderCampaign {
 public:
  // `clock` must outlive the campaign. Nothing runs before start().
  LeaderCampaign(LeaderCampaignOptions options, const Clock& clock);
  // Stops the thread (waiting for its call in flight, bounded by the client's timeouts); when
  // this broker still leads, revokes the lease, so that PREFIX/leader is deleted and a standby
  // takes over at its next campaign instead of after a TTL.
  ~LeaderCampaign();
  LeaderCampaign(const LeaderCampaign&) = delete;
  LeaderCampaign& operator=(const LeaderCampaign&) = delete;

  // Starts campaigning as `me`. Call once.
  void start(LeaderRecord me);
  // Readable while news is waiting.
  int fd() const { return news_.fd(); }
  // Every waiting news, oldest first. Never blocks.
  std::deque<ElectionNews> take() { return news_.drain(); }
  // The newest news published (a broker loop started after a step down begins from it).
  ElectionNews latest() const CUBE_EXCLUDES(mu_);
  // The store refused a write on the fencing compare (or the loop saw the lease run out): the
  // campaign stops leading and campaigns again (its news follows). Never blocks.
  void fenced();

 private:
  void run() CUBE_EXCLUDES(mu_);
  // The campaign txn, unknown outcomes resolved by reading the key back.
  CampaignOutcome campaign(int64_t lease);
  ElectionNews news() const;

  LeaderCampaignOptions options_;
  const Clock& clock_;
  LeaderRecord me_;
  EtcdClient client_;             // the campaign thread's only
  ElectionMachine machine_;       // the campaign thread's only
  int64_t registered_lease_ = 0;  // PREFIX/brokers/<id> is on this lease (campaign thread)
  EventQueue<ElectionNews> news_;
  mutable Mutex mu_;
  std::condition_variable cv_;
  bool stopping_ CUBE_GUARDED_BY(mu_) = false;
  bool fenced_ CUBE_GUARDED_BY(mu_) = false;
  ElectionNews latest_ CUBE_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace cube::broker
