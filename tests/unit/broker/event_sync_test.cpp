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

TEST(EventSync, RangesAreClassifiedAsThatManyEventsInOrder) {
  using enum EventAction;
  struct Case {
    const char* what;
    uint64_t last_seq;  // the baseline before
    uint64_t first;
    uint64_t seq;
    RangeVerdict want;
    uint64_t last_seq_after;
  };
  const Case cases[] = {
      {"the next events", 4, 5, 7, {Apply, 0}, 7},
      {"the next single event", 4, 5, 5, {Apply, 0}, 5},
      {"the first events after a HELLO with seq 0", 0, 1, 3, {Apply, 0}, 3},
      {"overlap of one: replayed, then new", 4, 4, 6, {Apply, 1}, 6},
      {"overlap of three", 4, 2, 8, {Apply, 3}, 8},
      {"ends at the baseline: all duplicates", 4, 2, 4, {DropDuplicate, 0}, 4},
      {"an older range arriving late", 10, 1, 3, {DropDuplicate, 0}, 10},
      {"a single duplicate", 4, 4, 4, {DropDuplicate, 0}, 4},
      {"a gap of one before it", 4, 6, 8, {NeedSync, 0}, 4},
      {"far ahead", 4, 50, 60, {NeedSync, 0}, 4},
      {"a single event after a gap", 4, 6, 6, {NeedSync, 0}, 4},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    EventSync sync;
    sync.reset("a", c.last_seq);
    RangeVerdict got = sync.classify_range("a", c.first, c.seq);
    EXPECT_EQ(got.action, c.want.action) << event_action_name(got.action);
    EXPECT_EQ(got.duplicates, c.want.duplicates);
    EXPECT_EQ(sync.last_seq("a"), c.last_seq_after);
  }
  EventSync no_baseline;
  EXPECT_EQ(no_baseline.classify_range("a", 1, 3).action, NeedSync);
  EXPECT_EQ(no_baseline.last_seq("a"), std::nullopt);
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
  void deliver(const Event& e) { deliver_range(e.seq, e.seq); }
  // A TASK_STATE_BATCH of the produced events first..seq.
  void deliver_range(uint64_t first, uint64_t seq) {
    RangeVerdict verdict = sync_.classify_range("a", first, seq);
    switch (verdict.action) {
      case EventAction::Apply:
        for (uint64_t n = first + verdict.duplicates; n <= seq; ++n) {
          const Event& e = produced_[n - 1];
          state_[e.task] = e.value;
        }
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

// Local reorderings: swaps a quarter of the neighbours.
template <typename T>
void swap_some_neighbours(std::vector<T>& stream, std::mt19937& rng) {
  for (size_t i = 1; i < stream.size(); ++i) {
    if (rng() % 4 == 0)
      std::swap(stream[i - 1], stream[i]);
  }
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
    swap_some_neighbours(stream, rng);
    Replay replay(produced);
    for (const auto& e : stream)
      replay.deliver(e);
    replay.heartbeat();  // the next heartbeat reveals a lost tail
    EXPECT_EQ(replay.state(), expected);
  }
}

// The agent batches its events (ranges of 1 to 5); each batch is lost, delivered once or twice,
// sometimes replayed as a wider range overlapping its neighbours (as after a reconnect), and
// neighbours are swapped: the broker's view is always the agent's state as of some seq, and
// the heartbeat's snapshot makes it converge.
TEST(EventSync, ShuffledDuplicatedOverlappingAndLossyBatchesConverge) {
  auto produced = produce(80);
  auto expected = state_at(produced, 80);
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::vector<std::pair<uint64_t, uint64_t>> stream;  // (first, seq)
    for (uint64_t first = 1; first <= produced.size();) {
      uint64_t seq = std::min<uint64_t>(first + rng() % 5, produced.size());
      int copies = static_cast<int>(rng() % 3);  // 0 = lost, 1, or 2 = duplicated
      for (int c = 0; c < copies; ++c)
        stream.emplace_back(first, seq);
      if (rng() % 5 == 0)  // a replay reaching back before this batch
        stream.emplace_back(first > 3 ? first - 3 : 1, seq);
      first = seq + 1;
    }
    swap_some_neighbours(stream, rng);
    Replay replay(produced);
    for (const auto& [first, seq] : stream)
      replay.deliver_range(first, seq);
    replay.heartbeat();
    EXPECT_EQ(replay.state(), expected);
  }
}

}  // namespace
}  // namespace cube::broker
