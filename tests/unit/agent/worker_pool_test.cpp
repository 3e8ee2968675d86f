#include "agent/worker_pool.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/event_queue.h"

namespace cube::agent {
namespace {

TEST(WorkerPoolTest, JobsPostResultsToAnEventQueue) {
  EventQueue<int> results;
  {
    WorkerPool pool(3);
    for (int i = 0; i < 50; ++i)
      pool.post([&results, i] { results.push(i); });
    std::set<int> seen;
    while (seen.size() < 50) {
      pollfd pfd{results.fd(), POLLIN, 0};
      ASSERT_EQ(::poll(&pfd, 1, 10000), 1) << "results must arrive without polling loops";
      for (int v : results.drain())
        seen.insert(v);
    }
    EXPECT_EQ(*seen.begin(), 0);
    EXPECT_EQ(*seen.rbegin(), 49);
  }
}

TEST(WorkerPoolTest, JobsRunConcurrently) {
  // Two jobs that each wait for the other can only finish if two threads run them.
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  EventQueue<int> done;
  WorkerPool pool(2);
  for (int i = 0; i < 2; ++i) {
    pool.post([&, i] {
      std::unique_lock lock(mu);
      ++arrived;
      cv.notify_all();
      bool both = cv.wait_for(lock, std::chrono::seconds(10), [&] { return arrived == 2; });
      done.push(both ? i : -1);
    });
  }
  std::vector<int> items;
  while (items.size() < 2) {
    pollfd pfd{done.fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 20000), 1);
    for (int v : done.drain())
      items.push_back(v);
  }
  EXPECT_NE(items[0], -1) << "a job waited alone: the pool ran them one after the other";
  EXPECT_NE(items[1], -1);
}

TEST(WorkerPoolTest, CloseDropsJobsNotStartedAndDestructionJoins) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  bool started = false;
  std::atomic<int> ran{0};
  auto pool = std::make_unique<WorkerPool>(1);
  pool->post([&] {
    std::unique_lock lock(mu);
    started = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    ++ran;
  });
  for (int i = 0; i < 10; ++i)
    pool->post([&] { ++ran; });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return started; }));
  }
  EXPECT_EQ(pool->pending(), 10u);
  pool->close();
  EXPECT_EQ(pool->pending(), 0u);
  pool->post([&] { ++ran; });
  EXPECT_EQ(pool->pending(), 0u) << "a closed pool takes no work";
  {
    std::lock_guard lock(mu);
    release = true;
    cv.notify_all();
  }
  pool.reset();  // joins: the running job has returned
  EXPECT_EQ(ran.load(), 1) << "the running job finished; the queued ones were dropped";
}

}  // namespace
}  // namespace cube::agent
