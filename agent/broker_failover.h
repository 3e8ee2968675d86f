// BrokerFailover: which broker of an HA set (docs/ha.md) the agent talks to, as pure state that
// the agent loop drives. The list is --broker's, in order; the agent starts with its first.
//
//   - The broker went silent (no WELCOME within the timeout, or no BEACON for 3 intervals):
//     on_silent() moves to the next broker of the list (from the broker that sent us to a silent
//     redirect target, the one after it). A whole round of silent brokers in a row asks for the
//     usual backoff before the next HELLO; a new broker is tried at once before that.
//   - A standby answered HELLO (or any message) with `not_leader: leader is X`: on_not_leader()
//     aims at X at once (listed or not: X is the leader's advertised address), unless X is the
//     broker that just went silent (a standby still names a dead leader until its lease ends),
//     or this is the kMaxRedirects-th redirect without a WELCOME in between (stale answers
//     naming each other). Then, as for `not known yet`, the agent tries the next broker of the
//     list after kStandbyRetry: the standbys learn the new leader at their next campaign.
//   - WELCOME: on_welcome() forgets the silences and redirects.
// With one broker every silence retries it, as before (with the backoff after each).
//
// Thread-safety: none; owned by the agent loop.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "agent/options.h"
#include "common/clock.h"

namespace cube::agent {

class BrokerFailover {
 public:
  // Redirects followed in a row without a WELCOME: more than a set's brokers means the answers
  // are stale.
  static constexpr int kMaxRedirects = 5;
  // The wait before asking another standby when none named a live leader: standbys read the
  // leader key every TTL/3 (1 s by default), so a second of HELLOs at 2 per second finds it.
  static constexpr Millis kStandbyRetry{500};

  // `brokers` has at least one address (the first is current()).
  explicit BrokerFailover(std::vector<BrokerAddress> brokers);

  const BrokerAddress& current() const { return current_; }
  size_t size() const { return brokers_.size(); }

  // What the loop does next.
  enum class Next {
    HelloNow,    // current() changed (or is worth asking again at once): HELLO it now
    HelloLater,  // HELLO current() after kStandbyRetry
    BackOff,     // HELLO current() after the backoff (a whole round was silent)
  };

  // The current broker went silent. Moves to the next one of the list.
  Next on_silent();
  // The current broker answered not_leader, naming `leader` (HOST:PORT parsed by
  // protocol::parse_not_leader) or none.
  Next on_not_leader(const std::optional<BrokerAddress>& leader);
  // The current broker welcomed us.
  void on_welcome();

 private:
  void aim_at_next();

  std::vector<BrokerAddress> brokers_;
  size_t list_index_ = 0;  // the entry of brokers_ used last
  BrokerAddress current_;  // brokers_[list_index_] or a redirect's target
  std::optional<BrokerAddress> last_silent_;
  size_t silent_in_row_ = 0;
  int redirects_ = 0;
};

}  // namespace cube::agent
