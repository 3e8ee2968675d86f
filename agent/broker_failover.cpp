#include "agent/broker_failover.h"

#include <utility>

#include "common/check.h"

namespace cube::agent {

BrokerFailover::BrokerFailover(std::vector<BrokerAddress> brokers) : brokers_(std::move(brokers)) {
  CUBE_CHECK(!brokers_.empty()) << "main() always gives the agent a broker";
  current_ = brokers_.front();
}

void BrokerFailover::aim_at_next() {
  // From a redirect's target, back to the list where it was left; otherwise the next entry.
  bool from_list = current_ == brokers_[list_index_];
  if (from_list)
    list_index_ = (list_index_ + 1) % brokers_.size();
  // Skip the broker that just went silent while another one may answer.
  if (brokers_.size() > 1 && last_silent_ && brokers_[list_index_] == *last_silent_)
    list_index_ = (list_index_ + 1) % brokers_.size();
  current_ = brokers_[list_index_];
}

BrokerFailover::Next BrokerFailover::on_silent() {
  last_silent_ = current_;
  redirects_ = 0;
  ++silent_in_row_;
  aim_at_next();
  if (silent_in_row_ >= brokers_.size()) {
    silent_in_row_ = 0;
    return Next::BackOff;
  }
  return Next::HelloNow;
}

BrokerFailover::Next BrokerFailover::on_not_leader(const std::optional<BrokerAddress>& leader) {
  silent_in_row_ = 0;
  if (leader && *leader != current_ && leader != last_silent_ && redirects_ < kMaxRedirects) {
    ++redirects_;
    current_ = *leader;
    return Next::HelloNow;
  }
  aim_at_next();
  return Next::HelloLater;
}

void BrokerFailover::on_welcome() {
  last_silent_.reset();
  silent_in_row_ = 0;
  redirects_ = 0;
}

}  // namespace cube::agent
