// Outbox: everything the broker sends because of stored state waits here until that state is
// stored.
//
// The rule: a message that reports or acts on a change the broker made leaves the broker only
// after the store has acknowledged the group commit holding every change made before the
// message was queued. So a broker killed at any instant has told no agent to run, and no client
// that it accepted, anything the restarted broker will not know. Through the outbox go the
// client replies to SUBMIT, SUBMIT_BATCH and STOP_TASK, and every message to agents but
// LOGS_FETCH (WELCOME, ASSIGN, ASSIGN_BATCH, STOP, SYNC and ERROR), so each agent's stream keeps
// the order the broker decided it in.
//
// Sent at once, bypassing the outbox (they report no change of their own):
//   - client ERROR replies to requests refused before they changed anything (malformed,
//     unauthorized, invalid, unknown task, a SUBMIT_BATCH refused whole); a REQ client has one
//     request in flight, so there is no order to keep;
//   - replies to the reads (LIST, GET, NODES, STATUS; EVENTS, which reads only published, so
//     committed, events): the broker's current view, which may
//     include changes whose commit is still in flight, answered while a slow commit runs;
//   - the BEACON on the PUB socket (epoch and heartbeat only);
//   - LOGS_FETCH to an agent and the logs reply to the client (log bytes live on the agent).
//
// Events for the feed (broker/event_feed.h) wait here by the same rule: push_event() tags them
// like a message, and flush_events() hands over those whose batch is stored, in order.
//
// How: each message is tagged with the number of the batch that will carry the changes made so
// far. cut() is called when a batch goes to the store and returns its number; stored(n) when
// the store acknowledged batch n. flush() sends, in the order queued, every message whose batch
// is stored. Batches are acknowledged in order (the store writer has one in flight), so the
// tags are non-decreasing and a flush pops a prefix. When nothing is uncommitted and no batch
// is in flight, settle() counts an empty batch as stored, so a reply reporting state already
// stored leaves in the same loop iteration. With --store memory the commit runs inside the loop
// step (broker/store_writer.h), so every flush is immediate.
//
// Thread-safety: none; owned by the broker loop thread.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "protocol/messages.h"

namespace cube::broker {

enum class OutboxSocket : uint8_t { Client, Work };

struct OutboxMessage {
  OutboxSocket socket = OutboxSocket::Work;
  std::vector<std::string> routing;  // ROUTER envelope frames, outermost first
  protocol::MessageType type{};
  std::string body;  // encoded MessagePack body
  uint64_t batch = 0;
};

class Outbox {
 public:
  // Queues a message behind every change made so far.
  void push(OutboxSocket socket, std::vector<std::string> routing, protocol::MessageType type,
            std::string body);

  // A batch holding every change made so far goes to the store: returns its number.
  uint64_t cut() { return open_batch_++; }
  // The store acknowledged batch `batch` (and so every earlier one).
  void stored(uint64_t batch);
  // Nothing is uncommitted and no batch is in flight: what is queued reports stored state.
  void settle() { stored(cut()); }

  // Calls send(message) for each message whose batch is stored, in the order queued, and
  // removes them. Returns how many were sent.
  template <typename Send>
  size_t flush(Send&& send) {
    size_t sent = 0;
    while (!queue_.empty() && queue_.front().batch <= stored_batch_) {
      send(queue_.front());
      queue_.pop_front();
      ++sent;
    }
    return sent;
  }

  // Queues a feed event behind every change made so far (it reports one of them).
  void push_event(protocol::FeedEvent event) { events_.push_back({std::move(event), open_batch_}); }
  // Calls publish(FeedEvent&&) for each event whose batch is stored, in the order queued.
  // Returns how many.
  template <typename Publish>
  size_t flush_events(Publish&& publish) {
    size_t published = 0;
    while (published < events_.size() && events_[published].batch <= stored_batch_) {
      publish(std::move(events_[published].event));
      ++published;
    }
    events_.erase(events_.begin(), events_.begin() + static_cast<ptrdiff_t>(published));
    return published;
  }

  // Drops every queued message and event (shutdown with changes the store refused). Returns
  // how many messages.
  size_t drop();
  // Removes and returns the queued client replies, in order (the store refused the commit they
  // wait for: the loop answers them with its error instead, so no client waits on a store that
  // may not come back). Messages to agents stay queued: they leave only once stored.
  std::vector<OutboxMessage> take_client_replies();

  size_t size() const { return queue_.size(); }
  bool empty() const { return queue_.empty(); }

 private:
  std::deque<OutboxMessage> queue_;
  struct HeldEvent {
    protocol::FeedEvent event;
    uint64_t batch = 0;
  };
  // A vector, not a deque: an event is bigger than a deque's 512-byte block, so a deque
  // allocated a block per event. A flush erases a prefix; usually the whole vector (always with
  // --store memory), which keeps its capacity for the next events.
  std::vector<HeldEvent> events_;
  uint64_t open_batch_ = 1;    // the batch that will carry the changes made from now on
  uint64_t stored_batch_ = 0;  // the newest batch the store acknowledged
};

}  // namespace cube::broker
