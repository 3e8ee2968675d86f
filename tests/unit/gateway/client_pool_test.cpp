// ClientPool against a real BrokerLoop on its own thread (memory store, loopback port): the pool
// is the gateway's only way to the broker, so these check that each call reaches the broker's
// logic and that clients are reused.
#include "gateway/client_pool.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>
#include <thread>
#include <vector>

#include "broker/broker_loop.h"
#include "broker/memory_store.h"
#include "common/unique_fd.h"
#include "gateway/gateway.h"

namespace cube::gateway {
namespace {

class InProcessBroker {
 public:
  InProcessBroker() {
    broker::BrokerOptions options;
    options.port = 0;
    loop_ = std::make_unique<broker::BrokerLoop>(options, system_clock(),
                                                 std::make_unique<broker::MemoryStore>());
    Status bound = loop_->bind();
    EXPECT_TRUE(bound.is_ok()) << bound.to_string();
    stop_.reset(::eventfd(0, EFD_CLOEXEC));
    thread_ = std::thread([this] { loop_->run(stop_.get()); });
  }
  ~InProcessBroker() {
    uint64_t one = 1;
    EXPECT_EQ(::write(stop_.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
    thread_.join();
  }
  std::string endpoint() const { return broker_connect_endpoint("127.0.0.1", loop_->port()); }

 private:
  std::unique_ptr<broker::BrokerLoop> loop_;
  UniqueFd stop_;
  std::thread thread_;
};

ClientOptions options_for(const std::string& endpoint) {
  ClientOptions o;
  o.endpoint = endpoint;
  return o;
}

Task sim_task(const std::string& name) {
  Task t;
  t.name = name;
  t.driver = "sim";
  return t;
}

TEST(ClientPool, StatusSubmitListGetStopGoThroughTheBroker) {
  InProcessBroker broker;
  ClientPool pool(options_for(broker.endpoint()));

  auto status = pool.status();
  ASSERT_TRUE(status.is_ok()) << status.status().to_string();
  EXPECT_FALSE(status->version.empty());

  auto stored = pool.submit(sim_task("one"));
  ASSERT_TRUE(stored.is_ok()) << stored.status().to_string();
  EXPECT_FALSE(stored->id.empty());
  EXPECT_EQ(stored->state, TaskState::Pending);

  auto tasks = pool.list();
  ASSERT_TRUE(tasks.is_ok());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].id, stored->id);

  auto details = pool.get(stored->id);
  ASSERT_TRUE(details.is_ok());
  EXPECT_EQ(details->task.name, "one");

  auto stopped = pool.stop(stored->id);
  ASSERT_TRUE(stopped.is_ok());
  EXPECT_EQ(stopped->state, TaskState::Completed);

  EXPECT_TRUE(pool.get("0190a3c4-0000-7000-8000-000000000000").status().is_not_found());
  auto nodes = pool.nodes();
  ASSERT_TRUE(nodes.is_ok());
  EXPECT_TRUE(nodes->empty());
  // One thread, one call at a time: one client, reused.
  EXPECT_EQ(pool.idle_for_test(), 1u);
}

TEST(ClientPool, ConcurrentCallersEachGetAClient) {
  InProcessBroker broker;
  ClientPool pool(options_for(broker.endpoint()));
  constexpr int kThreads = 6;
  constexpr int kPerThread = 20;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kPerThread; ++j) {
        if (pool.submit(sim_task("t" + std::to_string(i) + "-" + std::to_string(j))).is_ok())
          ++ok;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  auto tasks = pool.list();
  ASSERT_TRUE(tasks.is_ok());
  EXPECT_EQ(tasks->size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_GE(pool.idle_for_test(), 1u);
  EXPECT_LE(pool.idle_for_test(), static_cast<size_t>(kThreads));
}

TEST(ClientPool, UnreachableBrokerIsUnavailable) {
  ClientOptions o = options_for("tcp://127.0.0.1:1");
  o.timeout_per_try = Millis(100);
  o.tries = 1;
  ClientPool pool(o);
  auto status = pool.status();
  ASSERT_FALSE(status.is_ok());
  EXPECT_TRUE(status.status().is_unavailable()) << status.status().to_string();
}

TEST(BrokerConnectEndpoint, WildcardBindsAreReachedOverLoopback) {
  EXPECT_EQ(broker_connect_endpoint("0.0.0.0", 7100), "tcp://127.0.0.1:7100");
  EXPECT_EQ(broker_connect_endpoint("*", 7100), "tcp://127.0.0.1:7100");
  EXPECT_EQ(broker_connect_endpoint("::", 7100), "tcp://[::1]:7100");
  EXPECT_EQ(broker_connect_endpoint("10.1.2.3", 7200), "tcp://10.1.2.3:7200");
  EXPECT_EQ(broker_connect_endpoint("127.0.0.1", 7100), "tcp://127.0.0.1:7100");
}

}  // namespace
}  // namespace cube::gateway
