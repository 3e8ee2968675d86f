// ElectionMachine: the decisions of leader election on etcd (issue 14), as a pure state machine
// over an injected time: no I/O, no clock of its own, so every transition is unit-tested in
// milliseconds. broker/leader_campaign.h runs it against etcd on a thread of its own.
//
// The election. Every broker on one store prefix holds a lease (TTL --leader-ttl, 3 s by
// default, renewed every TTL/3) and campaigns with one txn: "if PREFIX/leader does not exist
// (create_revision == 0), put it with my lease and my LeaderRecord; else read it". The broker
// whose put landed is the leader until its lease ends: etcd deletes the key with the lease, and
// the next campaign of a standby wins. The leader key's create_revision identifies one reign:
// every write of the leader carries the compare "PREFIX/leader's create_revision is still N"
// (EtcdStore::set_write_guard), so nothing of an old reign lands after the key was re-created.
//
//   Campaigning --granted, campaign won--> Leader --lease gone / not renewed for a TTL /
//        |   ^                                  |      fenced write--> Campaigning (losses()+1)
//        |   | lease gone                       |
//   campaign lost (someone leads)               |
//        v   |                                  v
//      Standby --campaign won (the old leader's key expired)--> Leader
//
// Losing is not final: the broker drops what it held as leader and campaigns again in the same
// process. A leader that was not renewed in time keeps its lease id and keeps trying to renew
// it: when etcd lost its quorum and got it back, etcd extends every lease (a new etcd leader
// restarts their TTLs), so the lease and the leader key attached to it may still be alive; the
// next campaign then finds the key carrying our lease and takes it as won (the same reign). A
// lease etcd says is gone is dropped and a new one granted. A broker campaigns only while its
// lease is surely valid, so a won campaign never yields a leader whose lease already ran out.
//
// Time. A lease is counted from the moment its grant or keepalive was *asked* (not answered):
// etcd started the TTL no earlier than that, so `lease_valid_until()` is never later than
// etcd's own expiry. A leader that has not heard a successful keepalive by then is Lost, even
// when the keepalive thread is stuck in a request: it must stop before a successor can start.
//
// Thread-safety: a value; one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace cube::broker {

// The value of PREFIX/leader: who leads, and where clients and agents should dial it.
// Also the value of PREFIX/brokers/<broker id>, which every broker on the prefix writes on its
// own lease so that STATUS can list the standbys (a dead broker's key goes with its lease).
struct LeaderRecord {
  std::string broker_id;   // the broker's epoch (random per start)
  std::string address;     // "HOST:PORT" of its client port (--advertise, else --bind)
  int64_t started_ms = 0;  // when the broker process started (Unix ms); 0: not said
  friend bool operator==(const LeaderRecord&, const LeaderRecord&) = default;
};
// {"id": ..., "address": ..., "started_ms": ...}: JSON, so that `etcdctl get PREFIX/leader` is
// readable. started_ms is left out when 0, and read as 0 when missing.
std::string encode_leader_record(const LeaderRecord& record);
// Invalid naming what is wrong when `value` is not such a JSON object.
Result<LeaderRecord> decode_leader_record(std::string_view value);

enum class ElectionRole { Campaigning, Leader, Standby };
// "campaigning", "leader", "standby": for STATUS and logs.
std::string_view election_role_name(ElectionRole role);

// What the I/O side should do now (ElectionMachine::next_action).
enum class ElectionAction {
  Wait,        // nothing due before next_deadline()
  GrantLease,  // lease/grant with ttl(); then on_lease_granted or on_lease_failed
  Campaign,    // the campaign txn with lease_id(); then on_campaign
  KeepAlive,   // lease/keepalive of lease_id(); then on_keepalive
};

// What a campaign found out, after the I/O side resolved unknown outcomes: a txn that failed or
// timed out may still have landed, so it reads PREFIX/leader and reports Won when the key is
// attached to our lease.
struct CampaignOutcome {
  enum class Kind {
    Won,     // PREFIX/leader is ours; create_revision identifies the reign
    Led,     // someone else holds it: `leader`
    Failed,  // etcd could not be asked; try again later
  };
  Kind kind = Kind::Failed;
  int64_t create_revision = 0;  // Won
  LeaderRecord leader;          // Led (and Won: ourselves)
  std::string error;            // Failed: why, for the log
};

enum class KeepaliveOutcome {
  Renewed,  // the lease has `ttl` again
  Gone,     // etcd says the lease expired or was revoked (NotFound)
  Failed,   // no answer (etcd unreachable, timeout): the lease may still run
};

class ElectionMachine {
 public:
  // `ttl`: the lease TTL asked for (whole seconds on the wire; at least 1 s).
  explicit ElectionMachine(Millis ttl);

  ElectionRole role() const { return role_; }
  Millis ttl() const { return ttl_; }
  int64_t lease_id() const { return lease_id_; }
  // Leader: the create_revision of our PREFIX/leader (the fencing compare). 0 otherwise.
  int64_t reign() const { return reign_; }
  // Standby: who leads (as PREFIX/leader says); Leader: ourselves; empty otherwise.
  const LeaderRecord& leader() const { return leader_; }
  // Until when our lease surely runs (see "Time"); meaningful while a lease is held.
  SteadyTime lease_valid_until() const { return lease_valid_until_; }
  // How many times this machine stopped leading: a reign is (reign(), losses()), so that the
  // broker loop tells a new reign from the one it served even when it missed the loss between.
  uint64_t losses() const { return losses_; }

  // What is due at `now`.
  ElectionAction next_action(SteadyTime now) const;
  // When next_action stops being Wait (or, for a leader, its lease runs out).
  SteadyTime next_deadline() const;

  // The results of the actions, with the time the action was asked (`asked`) and answered
  // (`now`). Each returns true when role() changed.
  bool on_lease_granted(int64_t lease_id, Millis granted_ttl, SteadyTime asked, SteadyTime now);
  bool on_lease_failed(SteadyTime now);
  bool on_campaign(const CampaignOutcome& outcome, SteadyTime now);
  bool on_keepalive(KeepaliveOutcome outcome, Millis ttl_left, SteadyTime asked, SteadyTime now);
  // A leader whose lease ran out by `now` without renewal stops leading (Campaigning), keeping
  // its lease id to renew it should etcd still know it; a standby's stops campaigning until a
  // renewal succeeds. True when role() changed. Call before next_action and next_deadline.
  bool check_expiry(SteadyTime now);
  // The store refused a write on the fencing compare (or the broker loop saw the lease run
  // out): Leader -> Campaigning. The next campaign tells whether someone else reigns.
  bool on_fenced(SteadyTime now);

  // Why the last reign ended ("lease expired", "lease not renewed for 3000 ms", ...).
  const std::string& lost_reason() const { return lost_reason_; }

 private:
  bool lose(std::string reason, SteadyTime now);
  // The lease is gone: grant another at once.
  bool drop_lease(SteadyTime now);

  Millis ttl_;
  ElectionRole role_ = ElectionRole::Campaigning;
  int64_t lease_id_ = 0;
  int64_t reign_ = 0;
  LeaderRecord leader_;
  SteadyTime lease_valid_until_{};
  SteadyTime next_grant_{};      // no lease: when to ask for one
  SteadyTime next_campaign_{};   // campaigning/standby with a lease
  SteadyTime next_keepalive_{};  // with a lease
  std::string lost_reason_;
  uint64_t losses_ = 0;
};

}  // namespace cube::broker
