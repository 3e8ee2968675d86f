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
  return nlohmann::json{{"id", record.broker_id}, {"address", record.address}}.dump();
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
  return LeaderRecord{id->get<std::string>(), address->get<std::string>()};
}

std::string_view election_role_name(ElectionRole role) {
  switch (role) {
    case ElectionRole::Campaigning:
      return "campaigning";
    case ElectionRole::Leader:
      return "leader";
    case ElectionRole::Standby:
      return "standby";
    case ElectionRole::Lost:
      return "lost";
  }
  return "unknown";
}

ElectionMachine::ElectionMachine(Millis ttl) : ttl_(std::max(ttl, Millis(1000))) {}

ElectionAction ElectionMachine::next_action(SteadyTime now) const {
  if (role_ == ElectionRole::Lost)
    return ElectionAction::Wait;
  if (lease_id_ == 0)
    return now >= next_grant_ ? ElectionAction::GrantLease : ElectionAction::Wait;
  if (now >= next_keepalive_)
    return ElectionAction::KeepAlive;
  if (role_ != ElectionRole::Leader && now >= next_campaign_)
    return ElectionAction::Campaign;
  return ElectionAction::Wait;
}

SteadyTime ElectionMachine::next_deadline() const {
  if (role_ == ElectionRole::Lost)
    return SteadyTime::max();
  if (lease_id_ == 0)
    return next_grant_;
  SteadyTime deadline = std::min(next_keepalive_, lease_valid_until_);
  if (role_ != ElectionRole::Leader)
    deadline = std::min(deadline, next_campaign_);
  return deadline;
}

bool ElectionMachine::on_lease_granted(int64_t lease_id, Millis granted_ttl, SteadyTime asked,
                                       SteadyTime now) {
  if (role_ == ElectionRole::Lost || role_ == ElectionRole::Leader)
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
  if (role_ == ElectionRole::Lost || role_ == ElectionRole::Leader || lease_id_ == 0)
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
  if (role_ == ElectionRole::Lost || lease_id_ == 0)
    return false;
  switch (outcome) {
    case KeepaliveOutcome::Renewed:
      lease_valid_until_ = std::max(lease_valid_until_, asked + ttl_left);
      next_keepalive_ = now + period_of(ttl_);
      return false;
    case KeepaliveOutcome::Gone:
      if (role_ == ElectionRole::Leader)
        return lose("the lease expired (etcd no longer knows it)");
      return drop_lease(now);
    case KeepaliveOutcome::Failed:
      // Try again sooner than the period: the lease keeps running meanwhile.
      next_keepalive_ = now + period_of(ttl_) / 2;
      return false;
  }
  return false;
}

bool ElectionMachine::check_expiry(SteadyTime now) {
  if (role_ == ElectionRole::Lost || lease_id_ == 0 || now < lease_valid_until_)
    return false;
  if (role_ == ElectionRole::Leader)
    return lose("the lease was not renewed within its TTL of " + std::to_string(ttl_.count()) +
                " ms");
  return drop_lease(now);
}

bool ElectionMachine::on_fenced() {
  if (role_ != ElectionRole::Leader)
    return false;
  return lose("a write was refused by the fencing compare: the leader key is no longer ours");
}

bool ElectionMachine::lose(std::string reason) {
  role_ = ElectionRole::Lost;
  lost_reason_ = std::move(reason);
  reign_ = 0;
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
