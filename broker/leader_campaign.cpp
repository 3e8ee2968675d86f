#include "broker/leader_campaign.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include <pthread.h>

namespace cube::broker {
namespace {

EtcdClientOptions campaign_client_options(const LeaderCampaignOptions& options) {
  EtcdClientOptions client;
  client.endpoints = options.endpoints;
  // A hung request must not outlast the next renewal (TTL/3); ElectionMachine bounds the rest.
  client.request_timeout = std::max(Millis(300), options.ttl / 3);
  client.connect_timeout = std::min(client.connect_timeout, client.request_timeout);
  return client;
}

// The leader as PREFIX/leader says; a value that does not parse still names something.
LeaderRecord leader_of(const EtcdKeyValue& kv) {
  auto record = decode_leader_record(kv.value);
  if (record.is_ok())
    return *record;
  return LeaderRecord{"?", "unknown (" + record.status().message() + ")"};
}

// Whole seconds for lease/grant (at least 1).
int64_t ttl_seconds(Millis ttl) {
  return std::max<int64_t>(1, (ttl.count() + 999) / 1000);
}

}  // namespace

LeaderCampaign::LeaderCampaign(LeaderCampaignOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      client_(campaign_client_options(options_)),
      machine_(options_.ttl) {}

LeaderCampaign::~LeaderCampaign() {
  if (!thread_.joinable())
    return;
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
  // A clean stop hands leadership over at once: revoking deletes PREFIX/leader.
  if (machine_.role() == ElectionRole::Leader && machine_.lease_id() != 0) {
    Status revoked = client_.lease_revoke(machine_.lease_id());
    if (revoked.is_ok())
      spdlog::info("resigned: lease revoked, a standby can take over now");
    else
      spdlog::warn("could not revoke the leader lease ({}); a standby takes over within {} ms",
                   revoked.to_string(), machine_.ttl().count());
  }
}

void LeaderCampaign::start(LeaderRecord me) {
  CUBE_CHECK(!thread_.joinable()) << "start() once";
  me_ = std::move(me);
  thread_ = std::thread([this] { run(); });
}

void LeaderCampaign::fenced() {
  {
    MutexLock lock(mu_);
    fenced_ = true;
  }
  cv_.notify_one();
}

ElectionNews LeaderCampaign::news() const {
  return ElectionNews{machine_.role(),
                      machine_.leader(),
                      machine_.reign(),
                      machine_.losses(),
                      machine_.lease_valid_until(),
                      machine_.lost_reason(),
                      {}};
}

ElectionNews LeaderCampaign::latest() const {
  MutexLock lock(mu_);
  return latest_;
}

CampaignOutcome LeaderCampaign::campaign(int64_t lease) {
  const std::string& key = options_.leader_key;
  EtcdTxn txn;
  txn.compares = {EtcdCompare::create_revision_is(key, 0)};
  txn.success = {EtcdOp::put(key, encode_leader_record(me_), lease), EtcdOp::get(key)};
  txn.failure = {EtcdOp::get(key)};
  if (registered_lease_ != lease) {
    // Either way, register this broker on its lease (the standbys' list in STATUS); once per
    // lease: the key lives as long as the lease.
    EtcdOp registration = EtcdOp::put(options_.broker_key, encode_leader_record(me_), lease);
    txn.success.push_back(registration);
    txn.failure.push_back(registration);
  }
  auto answer = client_.txn(txn);
  if (answer.is_ok())
    registered_lease_ = lease;
  if (answer.is_ok() && !answer->ranges.empty() && !answer->ranges.front().empty()) {
    const EtcdKeyValue& kv = answer->ranges.front().front();
    // A failed compare whose key carries our lease: an earlier campaign landed although its
    // answer was lost.
    if (answer->succeeded || kv.lease == lease)
      return {CampaignOutcome::Kind::Won, kv.create_revision, me_, ""};
    return {CampaignOutcome::Kind::Led, 0, leader_of(kv), ""};
  }
  // The outcome is unknown (an error, or an answer without the key): read the key back.
  EtcdRangeRequest get;
  get.key = key;
  auto read = client_.range(get);
  if (!read.is_ok()) {
    return {CampaignOutcome::Kind::Failed,
            0,
            {},
            answer.is_ok() ? read.status().to_string() : answer.status().to_string()};
  }
  if (read->kvs.empty())
    return {CampaignOutcome::Kind::Failed, 0, {}, "no leader key after the campaign"};
  const EtcdKeyValue& kv = read->kvs.front();
  if (kv.lease == lease)
    return {CampaignOutcome::Kind::Won, kv.create_revision, me_, ""};
  return {CampaignOutcome::Kind::Led, 0, leader_of(kv), ""};
}

void LeaderCampaign::run() {
  pthread_setname_np(pthread_self(), "leader-lease");
  // Logged once until something succeeds; in the news, so that not_leader answers can say why
  // no leader is known.
  std::string last_error;
  auto report = [&last_error](const std::string& error) {
    if (error != last_error)
      spdlog::warn("leader election: {}", error);
    last_error = error;
  };
  bool first = true;  // forces the first news
  ElectionRole published = ElectionRole::Campaigning;
  LeaderRecord published_leader;
  uint64_t published_losses = 0;
  std::string published_error;
  while (true) {
    {
      MutexLock lock(mu_);
      if (stopping_)
        return;
      if (std::exchange(fenced_, false))
        machine_.on_fenced(clock_.now());
    }
    SteadyTime now = clock_.now();
    machine_.check_expiry(now);
    bool renewed = false;
    switch (machine_.next_action(now)) {
      case ElectionAction::GrantLease: {
        auto lease = client_.lease_grant(ttl_seconds(machine_.ttl()));
        if (lease.is_ok()) {
          last_error.clear();
          machine_.on_lease_granted(lease->id, Millis(lease->ttl_seconds * 1000), now,
                                    clock_.now());
        } else {
          report("cannot grant a lease: " + lease.status().to_string());
          machine_.on_lease_failed(clock_.now());
        }
        break;
      }
      case ElectionAction::Campaign: {
        CampaignOutcome outcome = campaign(machine_.lease_id());
        if (outcome.kind == CampaignOutcome::Kind::Failed)
          report("campaign failed: " + outcome.error);
        else
          last_error.clear();
        machine_.on_campaign(outcome, clock_.now());
        break;
      }
      case ElectionAction::KeepAlive: {
        auto kept = client_.lease_keepalive(machine_.lease_id());
        KeepaliveOutcome outcome = kept.is_ok()                   ? KeepaliveOutcome::Renewed
                                   : kept.status().is_not_found() ? KeepaliveOutcome::Gone
                                                                  : KeepaliveOutcome::Failed;
        if (outcome == KeepaliveOutcome::Failed)
          report("keepalive failed: " + kept.status().to_string());
        else
          last_error.clear();
        Millis left = kept.is_ok() ? Millis(kept->ttl_seconds * 1000) : Millis(0);
        machine_.on_keepalive(outcome, left, now, clock_.now());
        renewed = outcome == KeepaliveOutcome::Renewed;
        break;
      }
      case ElectionAction::Wait: {
        auto wait = std::chrono::duration_cast<Millis>(machine_.next_deadline() - now);
        MutexLock lock(mu_);
        mu_.wait_for(cv_, std::clamp(wait, Millis(0), Millis(1000)),
                     [this]() CUBE_REQUIRES(mu_) { return stopping_ || fenced_; });
        break;
      }
    }
    machine_.check_expiry(clock_.now());
    ElectionRole role = machine_.role();
    if (role != published || machine_.leader() != published_leader ||
        machine_.losses() != published_losses || last_error != published_error || first ||
        (renewed && role == ElectionRole::Leader)) {
      first = false;
      published = role;
      published_leader = machine_.leader();
      published_losses = machine_.losses();
      published_error = last_error;
      ElectionNews update = news();
      update.error = last_error;
      {
        MutexLock lock(mu_);
        latest_ = update;
      }
      news_.push(std::move(update));
    }
  }
}

}  // namespace cube::broker
