#include "broker/event_sync.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

namespace cube::broker {
namespace {

TEST(EventSync, ApplyDuplicateAndGap) {
  EventSync sync;
  EXPECT_EQ(sync.classify("a", 1), EventAction::NeedSync);  // no HELLO yet
  sync.reset("a", 4);
  EXPECT_EQ(sync.classify("a", 3), EventAction::DropDuplicate);
  EXPECT_EQ(sync.classify("a", 4), EventAction::DropDuplicate);
  EXPECT_EQ(sync.classify("a", 5), EventAction::Apply);
  EXPECT_EQ(sync.last_seq("a"), 5u);
  EXPECT_EQ(sync.classify("a", 5), EventAction::DropDuplicate);
  EXPECT_EQ(sync.classify("a", 7), EventAction::NeedSync);
  EXPECT_EQ(sync.last_seq("a"), 5u);  // a gap does not move the baseline
  EXPECT_EQ(sync.classify("a", 6), EventAction::Apply);
  EXPECT_EQ(sync.classify("b", 1), EventAction::NeedSync);  // per agent
  sync.forget("a");
  EXPECT_EQ(sync.last_seq("a"), std::nullopt);
  EXPECT_EQ(sync.classify("a", 7), EventAction::NeedSync);
}

TEST(EventSync, HeartbeatRepeatsTheLastSeq) {
  EventSync sync;
  EXPECT_EQ(sync.classify_heartbeat("a", 0), EventAction::NeedSync);
  sync.reset("a", 0);
  EXPECT_EQ(sync.classify_heartbeat("a", 0), EventAction::Apply);
  EXPECT_EQ(sync.classify("a", 1), EventAction::Apply);
  EXPECT_EQ(sync.classify_heartbeat("a", 1), EventAction::Apply);
  EXPECT_EQ(sync.classify_heartbeat("a", 0), EventAction::Apply);     // late heartbeat: harmless
  EXPECT_EQ(sync.classify_heartbeat("a", 2), EventAction::NeedSync);  // event 2 was lost
  EXPECT_EQ(sync.last_seq("a"), 1u);
  EXPECT_STREQ(event_action_name(EventAction::DropDuplicate), "duplicate");
}

// A simulated agent: events 1..N each set one task to a value. The broker applies what
// EventSync lets through and takes a snapshot (the agent's state at its latest seq) on a gap.
struct Event {
  uint64_t seq;
  int task;
  int value;
};

std::map<int, int> state_at(const std::vector<Event>& events, uint64_t seq) {
  std::map<int, int> state;
  for (const auto& e : events) {
    if (e.seq <= seq)
      state[e.task] = e.value;
  }
  return state;
}

class Replay {
 public:
  explicit Replay(const std::vector<Event>& produced) : produced_(produced) {
    sync_.reset("a", 0);  // HELLO with seq 0
  }
  void deliver(const Event& e) {
    switch (sync_.classify("a", e.seq)) {
      case EventAction::Apply:
        state_[e.task] = e.value;
        break;
      case EventAction::DropDuplicate:
        break;
      case EventAction::NeedSync:
        snapshot();
        break;
    }
    // Invariant: the broker's view is always the agent's state as of some seq.
    ASSERT_EQ(state_, state_at(produced_, *sync_.last_seq("a")));
  }
  void heartbeat() {
    if (sync_.classify_heartbeat("a", produced_.back().seq) == EventAction::NeedSync)
      snapshot();
  }
  const std::map<int, int>& state() const { return state_; }
  int snapshots() const { return snapshots_; }

 private:
  void snapshot() {
    uint64_t seq = produced_.back().seq;
    state_ = state_at(produced_, seq);
    sync_.reset("a", seq);
    ++snapshots_;
  }
  const std::vector<Event>& produced_;
  EventSync sync_;
  std::map<int, int> state_;
  int snapshots_ = 0;
};

std::vector<Event> produce(int n) {
  std::vector<Event> events;
  for (int i = 1; i <= n; ++i)
    events.push_back({static_cast<uint64_t>(i), i % 7, i * 10});
  return events;
}

TEST(EventSync, InOrderStreamWithDuplicatesNeedsNoSnapshot) {
  auto produced = produce(40);
  Replay replay(produced);
  for (const auto& e : produced) {
    replay.deliver(e);
    replay.deliver(e);  // every event twice, as after a reconnect
  }
  replay.heartbeat();
  EXPECT_EQ(replay.state(), state_at(produced, 40));
  EXPECT_EQ(replay.snapshots(), 0);
}

TEST(EventSync, ShuffledDuplicatedAndLossyStreamsConverge) {
  auto produced = produce(60);
  auto expected = state_at(produced, 60);
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::vector<Event> stream;
    for (const auto& e : produced) {
      int copies = static_cast<int>(rng() % 3);  // 0 = lost, 1, or 2 = duplicated
      for (int c = 0; c < copies; ++c)
        stream.push_back(e);
    }
    // Local reorderings: swap neighbours now and then.
    for (size_t i = 1; i < stream.size(); ++i) {
      if (rng() % 4 == 0)
        std::swap(stream[i - 1], stream[i]);
    }
    Replay replay(produced);
    for (const auto& e : stream)
      replay.deliver(e);
    replay.heartbeat();  // the next heartbeat reveals a lost tail
    EXPECT_EQ(replay.state(), expected);
  }
}

}  // namespace
}  // namespace cube::broker
