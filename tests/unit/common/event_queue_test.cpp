// common/event_queue.h: worker threads push, the loop waits on fd() in zmq::poll and drains.
#include "common/event_queue.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include <zmq.hpp>

namespace cube {
namespace {

struct Item {
  int thread = 0;
  int index = 0;
};

// How the poll loops use it: the eventfd sits in the zmq::poll set next to the sockets.
bool wait_readable(int fd, int timeout_ms) {
  zmq::pollitem_t item{nullptr, fd, ZMQ_POLLIN, 0};
  return zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) == 1;
}

TEST(EventQueue, EmptyQueueIsNotReadable) {
  EventQueue<int> queue;
  EXPECT_GE(queue.fd(), 0);
  EXPECT_FALSE(wait_readable(queue.fd(), 0));
  EXPECT_TRUE(queue.drain().empty());
}

TEST(EventQueue, ReadableUntilDrainedInPushOrder) {
  EventQueue<std::string> queue;
  queue.push("a");
  queue.push("b");
  EXPECT_TRUE(wait_readable(queue.fd(), 0));
  // Still readable when polled again: nothing is consumed until drain().
  EXPECT_TRUE(wait_readable(queue.fd(), 0));
  auto items = queue.drain();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0], "a");
  EXPECT_EQ(items[1], "b");
  EXPECT_FALSE(wait_readable(queue.fd(), 0));
  queue.push("c");
  EXPECT_TRUE(wait_readable(queue.fd(), 0));
  EXPECT_EQ(queue.drain().size(), 1u);
}

TEST(EventQueue, MoveOnlyItems) {
  EventQueue<std::unique_ptr<int>> queue;
  queue.push(std::make_unique<int>(5));
  auto items = queue.drain();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(*items[0], 5);
}

TEST(EventQueue, FourProducersOneLoop) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25000;
  EventQueue<Item> queue;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&queue, t] {
      for (int i = 0; i < kPerThread; ++i)
        queue.push(Item{t, i});
    });
  }

  // The loop: wait for the fd, drain, repeat until everything has arrived. A lost wake-up
  // would leave items behind and the poll would time out.
  std::vector<int> next(kThreads, 0);
  int received = 0;
  int wakeups = 0;
  while (received < kThreads * kPerThread) {
    ASSERT_TRUE(wait_readable(queue.fd(), 10000))
        << "no wake-up with " << received << " of " << kThreads * kPerThread << " received";
    ++wakeups;
    for (const Item& item : queue.drain()) {
      ASSERT_GE(item.thread, 0);
      ASSERT_LT(item.thread, kThreads);
      // Each producer's items arrive in the order it pushed them.
      ASSERT_EQ(item.index, next[item.thread]) << "thread " << item.thread;
      ++next[item.thread];
      ++received;
    }
  }
  for (auto& p : producers)
    p.join();
  EXPECT_EQ(received, kThreads * kPerThread);
  EXPECT_GE(wakeups, 1);
  // Everything was drained: nothing left, nothing readable.
  EXPECT_TRUE(queue.drain().empty());
  EXPECT_FALSE(wait_readable(queue.fd(), 0));
}

}  // namespace
}  // namespace cube
