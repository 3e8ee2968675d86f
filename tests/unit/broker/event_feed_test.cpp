// The event feed on its own (broker/event_feed.h): the ring and its indexes, too_old, the
// filters, parked requests answered by a matching event or by their deadline; and the outbox
// holding events until their commit. Time is a ManualClock: nothing sleeps.
#include "broker/event_feed.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "broker/feed_events.h"
#include "broker/outbox.h"
#include "common/clock.h"

namespace cube::broker {
namespace {

using protocol::EventFilter;
using protocol::FeedEvent;

FeedEvent task_event(std::string id, std::string node, std::string state,
                     std::string service = "") {
  FeedEvent e;
  e.type = "task";
  e.id = std::move(id);
  e.name = e.id + "-name";
  e.node = std::move(node);
  e.state = std::move(state);
  e.service = std::move(service);
  return e;
}

FeedEvent node_event(std::string name, std::string state) {
  FeedEvent e;
  e.type = "node";
  e.name = std::move(name);
  e.state = std::move(state);
  return e;
}

std::vector<uint64_t> indexes(const protocol::Reply& r) {
  std::vector<uint64_t> out;
  for (const auto& e : r.feed)
    out.push_back(e.index);
  return out;
}

ParkedEvents parked(uint64_t request_id, uint64_t since, EventFilter filter, SteadyTime deadline) {
  ParkedEvents p;
  p.routing = {"client-" + std::to_string(request_id)};
  p.request_id = request_id;
  p.since = since;
  p.filter = std::move(filter);
  p.deadline = deadline;
  return p;
}

TEST(EventFeed, IndexesStartAtOneAndReadReturnsWhatFollowsSince) {
  EventFeed feed(10, 10);
  EXPECT_EQ(feed.newest(), 0u);
  for (int i = 0; i < 3; ++i)
    feed.publish(task_event("t" + std::to_string(i), "a", "Running"));
  EXPECT_EQ(feed.newest(), 3u);
  EXPECT_EQ(feed.oldest(), 1u);
  auto r = feed.read(1, {}, 0);
  ASSERT_TRUE(r.status.is_ok());
  EXPECT_EQ(indexes(r), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(r.next_index, 3u);
  // since 0 is "from now": nothing, and the newest index to go on from.
  auto now = feed.read(0, {}, 0);
  EXPECT_TRUE(now.feed.empty());
  EXPECT_EQ(now.next_index, 3u);
}

TEST(EventFeed, MaxCutsTheAnswerAndNextIndexResumesRightAfterIt) {
  EventFeed feed(10, 10);
  for (int i = 0; i < 5; ++i)
    feed.publish(task_event("t", "a", "Running"));
  auto r = feed.read(0 + 1, {}, 2);
  EXPECT_EQ(indexes(r), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(r.next_index, 3u);
  EXPECT_EQ(indexes(feed.read(r.next_index, {}, 2)), (std::vector<uint64_t>{4, 5}));
}

TEST(EventFeed, ASinceThatFellOutOfTheRingOrIsAheadIsTooOld) {
  EventFeed feed(3, 10);
  for (int i = 0; i < 5; ++i)
    feed.publish(task_event("t", "a", "Running"));
  EXPECT_EQ(feed.oldest(), 3u);
  EXPECT_EQ(feed.size(), 3u);
  EXPECT_TRUE(feed.read(2, {}, 0).status.is_ok()) << "event 3 on is still kept";
  auto old = feed.read(1, {}, 0);
  EXPECT_TRUE(old.status.is_too_old()) << old.status.to_string();
  EXPECT_EQ(old.next_index, 5u);
  EXPECT_NE(old.status.message().find("3..5"), std::string::npos) << old.status.message();
  auto ahead = feed.read(9, {}, 0);  // from before a broker restart
  EXPECT_TRUE(ahead.status.is_too_old());
  EXPECT_NE(ahead.status.message().find("restarted"), std::string::npos);
  EXPECT_EQ(ahead.next_index, 5u);
}

TEST(EventFeed, AFullRingKeepsTheNewestEventsInOrder) {
  EventFeed feed(3, 10);
  for (int i = 1; i <= 7; ++i)
    feed.publish(task_event("t" + std::to_string(i), "a", "Running"));
  auto reply = feed.read(4, {}, 0);
  ASSERT_TRUE(reply.status.is_ok()) << reply.status.to_string();
  ASSERT_EQ(reply.feed.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(reply.feed[i].index, 5 + i);
    EXPECT_EQ(reply.feed[i].id, "t" + std::to_string(5 + i));
  }
  EXPECT_EQ(reply.next_index, 7u);
}

TEST(FeedRing, KeepsEveryFieldAndMatchesAsTheEventWould) {
  FeedRing ring(2);
  FeedEvent full{.index = 1,
                 .type = "task",
                 .time_ms = 1'700'000'000'123,
                 .id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
                 .name = "a task name longer than fifteen",
                 .state = "Running",
                 .previous_state = "Scheduled",
                 .node = "node-a",
                 .reason = "placed",
                 .service = "web",
                 .slot = 3,
                 .version = 7};
  FeedEvent node = node_event("node-b", "lost");
  node.index = 2;
  FeedEvent later = task_event("t3", "node-b", "Completed");
  later.index = 3;
  for (const FeedEvent& e : {full, node, later})
    ring.push(e);
  EXPECT_EQ(ring.size(), 2u);
  EXPECT_EQ(ring.at(2), node);
  EXPECT_EQ(ring.at(3), later) << "event 3 took the slot of event 1";
  ring.push([&] {
    FeedEvent again = full;
    again.index = 4;
    return again;
  }());
  FeedEvent want = full;
  want.index = 4;
  EXPECT_EQ(ring.at(4), want);
  for (const EventFilter& filter :
       {EventFilter{}, EventFilter{.type = "node"}, EventFilter{.node = "node-b"},
        EventFilter{.service = "web"}, EventFilter{.task = "t3"}}) {
    for (uint64_t index : {3u, 4u})
      EXPECT_EQ(ring.matches(index, filter), event_matches(filter, ring.at(index))) << index;
  }
}

TEST(FeedRing, EveryIdComesBackAsWrittenThroughWrapAround) {
  // Lowercase UUIDs are held as bytes, the rest spelled out beside the entries; both must come
  // back as written, and a spelled ID must follow its entry out of the ring.
  const std::vector<std::string> ids = {"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
                                        "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B", "t3", ""};
  FeedRing ring(3);
  for (uint64_t index = 1; index <= 20; ++index) {
    FeedEvent e = task_event(ids[index % ids.size()], "node-a", "Running");
    e.index = index;
    e.reason = "reason " + std::to_string(index % 5);
    ring.push(e);
    for (uint64_t kept = index > 2 ? index - 2 : 1; kept <= index; ++kept) {
      FeedEvent got = ring.at(kept);
      EXPECT_EQ(got.id, ids[kept % ids.size()]) << "event " << kept << " after " << index;
      EXPECT_EQ(got.reason, "reason " + std::to_string(kept % 5));
      if (!got.id.empty()) {
        EXPECT_TRUE(ring.matches(kept, {.task = got.id})) << got.id;
      }
      EXPECT_FALSE(ring.matches(kept, {.task = "another"}));
    }
  }
}

TEST(EventFilter, EachFieldNarrowsAndAllMustMatch) {
  FeedEvent web1 = task_event("id-1", "node-a", "Running", "web");
  FeedEvent other = task_event("id-2", "node-b", "Running");
  FeedEvent a = node_event("node-a", "lost");
  struct Case {
    EventFilter filter;
    bool web1, other, node_a;
  };
  std::vector<Case> cases = {
      {{}, true, true, true},
      {{.task = "id-1"}, true, false, false},
      {{.node = "node-a"}, true, false, true},
      {{.type = "node"}, false, false, true},
      {{.type = "task"}, true, true, false},
      {{.service = "web"}, true, false, false},
      {{.node = "node-a", .type = "task"}, true, false, false},
      {{.task = "nothing"}, false, false, false},  // names nothing: matches nothing
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.filter.task + "|" + c.filter.node + "|" + c.filter.type + "|" +
                 c.filter.service);
    EXPECT_EQ(event_matches(c.filter, web1), c.web1);
    EXPECT_EQ(event_matches(c.filter, other), c.other);
    EXPECT_EQ(event_matches(c.filter, a), c.node_a);
  }
  EXPECT_TRUE(validate_event_filter({.type = "service"}).is_ok());
  Status bad = validate_event_filter({.type = "tasks"});
  EXPECT_TRUE(bad.is_invalid());
  EXPECT_NE(bad.message().find("filter type"), std::string::npos) << bad.message();
}

TEST(EventFeed, AParkedRequestIsTakenWhenAMatchingEventArrivesNotBefore) {
  ManualClock clock;
  EventFeed feed(10, 10);
  feed.publish(node_event("node-a", "ready"));
  ASSERT_TRUE(feed.park(parked(1, 1, {.type = "task"}, clock.now() + Millis(5000))).is_ok());
  ASSERT_TRUE(feed.park(parked(2, 1, {}, clock.now() + Millis(5000))).is_ok());
  EXPECT_TRUE(feed.take_matched(clock.now()).empty()) << "nothing new since they parked";

  feed.publish(node_event("node-b", "ready"));
  auto matched = feed.take_matched(clock.now());
  ASSERT_EQ(matched.size(), 1u) << "only the unfiltered request wants a node event";
  EXPECT_EQ(matched[0].request_id, 2u);
  EXPECT_EQ(feed.parked(), 1u);

  feed.publish(task_event("t", "node-a", "Running"));
  matched = feed.take_matched(clock.now());
  ASSERT_EQ(matched.size(), 1u);
  EXPECT_EQ(matched[0].request_id, 1u);
  EXPECT_EQ(indexes(feed.read_after(matched[0].since, matched[0].filter, 0)),
            (std::vector<uint64_t>{3}));
  EXPECT_EQ(feed.parked(), 0u);
}

TEST(EventFeed, AMatchedRequestIsHeldUntilItsGatherWindowEndsThenReadsEverything) {
  ManualClock clock;
  EventFeed feed(10, 10, Millis(5));
  EXPECT_EQ(feed.gather(), Millis(5));
  SteadyTime start = clock.now();
  ParkedEvents p = parked(1, 0, {}, start + Millis(1000));
  p.answer_after = start + Millis(5);
  ASSERT_TRUE(feed.park(std::move(p)).is_ok());
  EXPECT_EQ(feed.next_deadline(), start + Millis(1000)) << "no match yet: only its deadline";

  feed.publish(node_event("node-a", "ready"));
  EXPECT_TRUE(feed.take_matched(clock.now()).empty()) << "inside its window";
  EXPECT_EQ(feed.next_deadline(), start + Millis(5)) << "a match makes the window's end due";
  feed.publish(node_event("node-b", "ready"));
  clock.advance(Millis(4));
  EXPECT_TRUE(feed.take_matched(clock.now()).empty());

  clock.advance(Millis(1));
  auto matched = feed.take_matched(clock.now());
  ASSERT_EQ(matched.size(), 1u);
  EXPECT_EQ(indexes(feed.read_after(matched[0].since, matched[0].filter, 0)),
            (std::vector<uint64_t>{1, 2}))
      << "one reply carries what the window gathered";
  EXPECT_FALSE(feed.next_deadline().has_value());
}

TEST(EventFeed, AMatchedRequestWhoseDeadlineComesFirstIsAnsweredThen) {
  ManualClock clock;
  EventFeed feed(10, 10, Millis(5));
  SteadyTime start = clock.now();
  ParkedEvents p = parked(1, 0, {}, start + Millis(2));
  p.answer_after = start + Millis(5);
  p.has_match = true;  // parked with events already found (a short wait_ms)
  feed.publish(node_event("node-a", "ready"));
  p.since = 0;
  ASSERT_TRUE(feed.park(std::move(p)).is_ok());
  EXPECT_EQ(feed.next_deadline(), start + Millis(2));
  clock.advance(Millis(2));
  EXPECT_TRUE(feed.take_matched(clock.now()).empty());
  EXPECT_EQ(feed.take_expired(clock.now()).size(), 1u);
  EXPECT_EQ(feed.parked(), 0u);
  EXPECT_FALSE(feed.next_deadline().has_value());
}

TEST(EventFeed, AParkedRequestWithNoMatchEndsAtItsDeadline) {
  ManualClock clock;
  EventFeed feed(10, 10);
  SteadyTime start = clock.now();
  ASSERT_TRUE(feed.park(parked(1, 0, {}, start + Millis(300))).is_ok());
  ASSERT_TRUE(feed.park(parked(2, 0, {}, start + Millis(100))).is_ok());
  EXPECT_EQ(feed.next_deadline(), start + Millis(100));
  clock.advance(Millis(99));
  EXPECT_TRUE(feed.take_expired(clock.now()).empty());
  clock.advance(Millis(1));
  auto expired = feed.take_expired(clock.now());
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].request_id, 2u);
  EXPECT_EQ(feed.next_deadline(), start + Millis(300));
  clock.advance(Millis(200));
  EXPECT_EQ(feed.take_expired(clock.now()).size(), 1u);
  EXPECT_FALSE(feed.next_deadline().has_value());
}

TEST(EventFeed, ParkingIsBoundedWithAClearError) {
  ManualClock clock;
  EventFeed feed(10, 2);
  ASSERT_TRUE(feed.park(parked(1, 0, {}, clock.now())).is_ok());
  ASSERT_TRUE(feed.park(parked(2, 0, {}, clock.now())).is_ok());
  Status full = feed.park(parked(3, 0, {}, clock.now()));
  EXPECT_TRUE(full.is_unavailable());
  EXPECT_NE(full.message().find("--event-subscribers"), std::string::npos) << full.message();
  EXPECT_EQ(feed.parked(), 2u);
}

TEST(EventFeed, TheOutboxHoldsEventsUntilTheirBatchIsStored) {
  Outbox outbox;
  EventFeed feed(10, 10);
  auto publish = [&] {
    return outbox.flush_events([&](FeedEvent&& e) { feed.publish(std::move(e)); });
  };
  outbox.push_event(task_event("t1", "a", "Pending"));
  uint64_t batch = outbox.cut();
  outbox.push_event(task_event("t2", "a", "Pending"));
  EXPECT_EQ(publish(), 0u) << "published before its commit";
  outbox.stored(batch);
  EXPECT_EQ(publish(), 1u);
  EXPECT_EQ(feed.read(0 + 0, {}, 0).next_index, 1u);
  outbox.settle();
  EXPECT_EQ(publish(), 1u);
  EXPECT_EQ(feed.newest(), 2u);
  auto both = feed.read_after(0, {}, 0);
  ASSERT_EQ(both.feed.size(), 2u);
  EXPECT_EQ(both.feed[0].id, "t1");
  EXPECT_EQ(both.feed[1].id, "t2") << "the held event is published once, after the first";
}

TEST(FeedEvents, ServiceChangesNameTheirAction) {
  SystemTime now = SystemTime(Millis(1'700'000'000'000));
  Service web;
  web.name = "web";
  web.replicas = 2;
  web.version = 1;
  EXPECT_EQ(service_feed_event(nullptr, &web, now)->state, "created");
  EXPECT_EQ(service_feed_event(&web, nullptr, now)->state, "removed");
  EXPECT_FALSE(service_feed_event(&web, &web, now).has_value());
  Service scaled = web;
  scaled.replicas = 5;
  EXPECT_EQ(service_feed_event(&web, &scaled, now)->state, "scaled");
  Service paused = web;
  paused.update_state = std::string(kUpdateStatePaused);
  paused.update_message = "web.2 failed";
  auto e = service_feed_event(&web, &paused, now);
  EXPECT_EQ(e->state, "rollout_paused");
  EXPECT_EQ(e->reason, "web.2 failed");
  Service rolled = web;
  rolled.update_state = std::string(kUpdateStateRollbackCompleted);
  EXPECT_EQ(service_feed_event(&web, &rolled, now)->state, "rolled_back");
  Service updating = web;
  updating.update_state = std::string(kUpdateStateUpdating);
  updating.task_template.image = "nginx:2";
  EXPECT_EQ(service_feed_event(&web, &updating, now)->state, "updated");
  auto step = rollout_step_event(updating, 2, 1, now);
  EXPECT_EQ(step.state, "rollout_step");
  EXPECT_EQ(step.reason, "slot 2 replaced (1 of 2)");
  EXPECT_EQ(step.name, "web");
}

TEST(FeedEvents, ATaskEventCarriesItsStatesNodeAndSlot) {
  Task t;
  t.id = "id-1";
  t.name = "web.1";
  t.state = TaskState::Running;
  t.node = "node-a";
  t.service = "web";
  t.slot = 1;
  auto e = task_feed_event(t, TaskState::Scheduled, SystemTime(Millis(1234)));
  EXPECT_EQ(e.type, "task");
  EXPECT_EQ(e.state, "Running");
  EXPECT_EQ(e.previous_state, "Scheduled");
  EXPECT_EQ(e.node, "node-a");
  EXPECT_EQ(e.slot, 1u);
  EXPECT_EQ(e.time_ms, 1234);
  EXPECT_EQ(task_feed_event(t, std::nullopt, SystemTime{}).previous_state, "");
}

}  // namespace
}  // namespace cube::broker
