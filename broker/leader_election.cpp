#include "broker/leader_election.h"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

namespace cube::broker {
namespace {

// Renewals and campaigns come every TTL/3: a leader survives two lost keepalives in a row before
// its lease runs out, and a standby notices an expired leader key at most TTL/3 late.
Millis period_of(Millis ttl) {
  return std::max(Millis(1), ttl / 3);
}

}  // namespace

std::string encode_leader_record(const LeaderRecord& record) {
  nlohmann::json out{{"id", record.broker_id}, {"address", record.address}};
  if (record.started_ms != 0)
    out["started_ms"] = record.started_ms;
  return out.dump();
}

Result<LeaderRecord> decode_leader_record(std::string_view value) {
  auto parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object())
    return Status::invalid("the leader key does not hold a JSON object");
  auto id = parsed.find("id");
  auto address = parsed.find("address");
  if (id == parsed.end() || !id->is_string())
    return Status::invalid("the leader key has no string \"id\"");
  if (address == parsed.end() || !address->is_string())
    return Status::invalid("the leader key has no string \"address\"");
  LeaderRecord record{id->get<std::string>(), address->get<std::string>()};
  auto started = parsed.find("started_ms");
  if (started != parsed.end() && started->is_number_integer())
    record.started_ms = started->get<int64_t>();
  return record;
}

std::string_view election_role_name(ElectionRole role) {
  switch (role) {
    case ElectionRole::Campaigning:
      return "campaigning";
    case ElectionRole::Leader:
      return "leader";
    case ElectionRole::Standby:
      return "standby";
  }
  return "unknown";
}

ElectionMachine::ElectionMachine(Millis ttl) : ttl_(std::max(ttl, Millis(1000))) {}

ElectionAction ElectionMachine::next_action(SteadyTime now) const {
  if (lease_id_ == 0)
    return now >= next_grant_ ? ElectionAction::GrantLease : ElectionAction::Wait;
  if (now >= next_keepalive_)
    return ElectionAction::KeepAlive;
  // Only with a lease surely valid: a campaign won on a lease that ran out would make a leader
  // that must step down at once.
  if (role_ != ElectionRole::Leader && now >= next_campaign_ && now < lease_valid_until_)
    return ElectionAction::Campaign;
  return ElectionAction::Wait;
}

SteadyTime ElectionMachine::next_deadline() const {
  if (lease_id_ == 0)
    return next_grant_;
  if (role_ == ElectionRole::Leader)
    return std::min(next_keepalive_, lease_valid_until_);
  // A lease past its validity has no campaign due (check_expiry put it at max()).
  return std::min(next_keepalive_, next_campaign_);
}

bool ElectionMachine::on_lease_granted(int64_t lease_id, Millis granted_ttl, SteadyTime asked,
                                       SteadyTime now) {
  if (role_ == ElectionRole::Leader || lease_id_ != 0)
    return false;
  lease_id_ = lease_id;
  lease_valid_until_ = asked + granted_ttl;
  next_keepalive_ = now + period_of(ttl_);
  next_campaign_ = now;  // campaign at once
  return false;
}

bool ElectionMachine::on_lease_failed(SteadyTime now) {
  next_grant_ = now + period_of(ttl_);
  return false;
}

bool ElectionMachine::on_campaign(const CampaignOutcome& outcome, SteadyTime now) {
  if (role_ == ElectionRole::Leader || lease_id_ == 0)
    return false;
  ElectionRole before = role_;
  switch (outcome.kind) {
    case CampaignOutcome::Kind::Won:
      role_ = ElectionRole::Leader;
      reign_ = outcome.create_revision;
      leader_ = outcome.leader;
      break;
    case CampaignOutcome::Kind::Led:
      role_ = ElectionRole::Standby;
      leader_ = outcome.leader;
      next_campaign_ = now + period_of(ttl_);
      break;
    case CampaignOutcome::Kind::Failed:
      next_campaign_ = now + period_of(ttl_);
      break;
  }
  return role_ != before;
}

bool ElectionMachine::on_keepalive(KeepaliveOutcome outcome, Millis ttl_left, SteadyTime asked,
                                   SteadyTime now) {
  if (lease_id_ == 0)
    return false;
  switch (outcome) {
    case KeepaliveOutcome::Renewed:
      lease_valid_until_ = std::max(lease_valid_until_, asked + ttl_left);
      next_keepalive_ = now + period_of(ttl_);
      if (next_campaign_ == SteadyTime::max())
        next_campaign_ = now;  // the lease was past its validity: campaign again at once
      return false;
    case KeepaliveOutcome::Gone: {
      bool was_leader = role_ == ElectionRole::Leader;
      if (was_leader)
        lose("the lease expired (etcd no longer knows it)", now);
      return drop_lease(now) || was_leader;
    }
    case KeepaliveOutcome::Failed:
      // Try again sooner than the period: the lease keeps running meanwhile.
      next_keepalive_ = now + period_of(ttl_) / 2;
      return false;
  }
  return false;
}

bool ElectionMachine::check_expiry(SteadyTime now) {
  if (lease_id_ == 0 || now < lease_valid_until_)
    return false;
  if (role_ != ElectionRole::Leader) {
    // A standby keeps renewing a lease past its validity, and campaigns again only once a
    // renewal succeeded (on_keepalive): etcd says Gone when the lease really ended.
    next_campaign_ = SteadyTime::max();
    return false;
  }
  return lose("the lease was not renewed within its TTL of " + std::to_string(ttl_.count()) + " ms",
              now);
}

bool ElectionMachine::on_fenced(SteadyTime now) {
  if (role_ != ElectionRole::Leader)
    return false;
  return lose("a write was refused by the fencing compare, or the lease ran out", now);
}

bool ElectionMachine::lose(std::string reason, SteadyTime now) {
  role_ = ElectionRole::Campaigning;
  lost_reason_ = std::move(reason);
  reign_ = 0;
  leader_ = {};
  ++losses_;
  next_campaign_ = now;
  return true;
}

bool ElectionMachine::drop_lease(SteadyTime now) {
  ElectionRole before = role_;
  lease_id_ = 0;
  next_grant_ = now;
  role_ = ElectionRole::Campaigning;
  return role_ != before;
}

}  // namespace cube::broker
