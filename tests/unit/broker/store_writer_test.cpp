// StoreWriter on its own, and a BrokerLoop whose store is slow: the loop keeps serving while a
// commit is in flight, and holds the submit's reply until that commit lands.
#include "broker/store_writer.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>

#include <condition_variable>
#include <memory>
#include <optional>
#include <thread>

#include "broker/broker_loop.h"
#include "broker/memory_store.h"
#include "common/mutex.h"
#include "protocol/codec.h"
#include "protocol/zmq_io.h"

namespace cube::broker {
namespace {

constexpr Millis kWait{5000};

// A MemoryStore whose commits wait until the test opens the gate.
class GatedStore final : public Store {
 public:
  Status commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) override {
    MutexLock lock(mu_);
    ++entered_;
    changed_.notify_all();
    mu_.wait(changed_, [&]() CUBE_REQUIRES(mu_) { return open_ || passes_ > 0; });
    if (passes_ > 0)
      --passes_;
    return inner_.commit(upserts, events);
  }
  Result<std::vector<Task>> load_all() override {
    MutexLock lock(mu_);
    return inner_.load_all();
  }
  Result<std::vector<TaskEventRecord>> load_events() override {
    MutexLock lock(mu_);
    return inner_.load_events();
  }

  void open() {
    MutexLock lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  void let_one_through() {
    MutexLock lock(mu_);
    ++passes_;
    changed_.notify_all();
  }
  // Waits until `n` commits have started.
  bool wait_entered(int n) {
    MutexLock lock(mu_);
    return mu_.wait_for(changed_, kWait, [&]() CUBE_REQUIRES(mu_) { return entered_ >= n; });
  }
  void fail_next(Status s) {
    MutexLock lock(mu_);
    inner_.fail_next_commit_for_test(std::move(s));
  }
  size_t stored() {
    MutexLock lock(mu_);
    return inner_.load_all()->size();
  }

 private:
  Mutex mu_;
  std::condition_variable changed_;
  bool open_ CUBE_GUARDED_BY(mu_) = false;
  int passes_ CUBE_GUARDED_BY(mu_) = 0;
  int entered_ CUBE_GUARDED_BY(mu_) = 0;
  MemoryStore inner_ CUBE_GUARDED_BY(mu_);
};

bool fd_readable(int fd, Millis timeout) {
  pollfd item{fd, POLLIN, 0};
  return ::poll(&item, 1, static_cast<int>(timeout.count())) == 1;
}

// A BrokerLoop whose store is a GatedStore, running on its own thread until the end of the
// scope, and the sockets a test talks to it with.
class GatedBroker {
 public:
  GatedBroker() {
    auto owned = std::make_unique<GatedStore>();
    store = owned.get();
    options_.port = 0;
    loop_ = std::make_unique<BrokerLoop>(options_, clock_, std::move(owned));
    EXPECT_TRUE(loop_->bind().is_ok());
    stop_.reset(::eventfd(0, EFD_CLOEXEC));
    thread_ = std::thread([this] { loop_->run(stop_.get()); });
  }
  ~GatedBroker() {
    store->open();  // a commit still held would keep the loop from finishing
    uint64_t one = 1;
    EXPECT_EQ(::write(stop_.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
    thread_.join();
  }

  // A socket of `type` connected to the broker's port + `offset` (0 client, 1 work).
  zmq::socket_t connect(zmq::socket_type type, int offset = 0) {
    zmq::socket_t s(context_, type);
    s.set(zmq::sockopt::linger, 0);
    s.connect(protocol::tcp_endpoint("127.0.0.1", loop_->port() + offset));
    return s;
  }

  GatedStore* store = nullptr;  // owned by the loop

 private:
  ManualClock clock_;
  BrokerOptions options_;
  std::unique_ptr<BrokerLoop> loop_;
  UniqueFd stop_;
  std::thread thread_;
  zmq::context_t context_;
};

// The next message on `s` within `timeout`, if any.
std::optional<protocol::Received> next_within(zmq::socket_t& s, Millis timeout) {
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if ((item.revents & ZMQ_POLLIN) == 0)
    return std::nullopt;
  Status error;
  auto message = protocol::receive(s, 0, &error);
  if (!error.is_ok())
    return std::nullopt;
  return message;
}

// The next REPLY on `s` within `timeout`, if any.
std::optional<protocol::Reply> reply_within(zmq::socket_t& s, Millis timeout) {
  auto message = next_within(s, timeout);
  if (!message)
    return std::nullopt;
  auto reply = protocol::decode_as<protocol::Reply>(message->body);
  return reply.is_ok() ? std::optional(*reply) : std::nullopt;
}

Task task(const std::string& id) {
  Task t;
  t.id = id;
  t.image = "busybox";
  return t;
}

TEST(StoreWriter, OneBatchInFlightDoneThroughTheFd) {
  GatedStore store;
  ManualClock clock;
  StoreWriter writer(store, clock);
  EXPECT_FALSE(writer.busy());
  EXPECT_FALSE(writer.take_done().has_value());
  writer.start(StoreBatch{{task("a"), task("b")}, {{"a", TaskEvent{}}}});
  EXPECT_TRUE(writer.busy());
  ASSERT_TRUE(store.wait_entered(1));
  EXPECT_FALSE(fd_readable(writer.fd(), Millis(50)));
  EXPECT_FALSE(writer.take_done().has_value());  // still writing
  store.let_one_through();
  ASSERT_TRUE(fd_readable(writer.fd(), kWait));
  auto done = writer.take_done();
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->status.is_ok());
  EXPECT_FALSE(writer.busy());
  EXPECT_EQ(store.stored(), 2u);
}

// A store that says its commits are cheap, and records the thread each commit ran on.
class CheapStore final : public Store {
 public:
  Status commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) override {
    thread = std::this_thread::get_id();
    return inner.commit(upserts, events);
  }
  Result<std::vector<Task>> load_all() override { return inner.load_all(); }
  Result<std::vector<TaskEventRecord>> load_events() override { return inner.load_events(); }
  bool commits_are_cheap() const override { return true; }

  MemoryStore inner;
  std::thread::id thread;
};

TEST(StoreWriter, ACheapStoreCommitsInsideStartAndAnswersThroughTheFd) {
  CheapStore store;
  ManualClock clock;
  StoreWriter writer(store, clock);
  writer.start(StoreBatch{{task("a")}, {{"a", TaskEvent{}}}});
  EXPECT_EQ(store.thread, std::this_thread::get_id());  // committed before start() returned
  EXPECT_TRUE(writer.busy());                           // until the loop takes the result
  ASSERT_TRUE(fd_readable(writer.fd(), Millis(0)));
  auto done = writer.take_done();
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->status.is_ok());
  EXPECT_FALSE(writer.busy());
  EXPECT_EQ(store.inner.load_all()->size(), 1u);

  store.inner.fail_next_commit_for_test(Status::unavailable("disk full"));
  writer.start(StoreBatch{{task("b")}, {}});
  ASSERT_TRUE(fd_readable(writer.fd(), Millis(0)));
  done = writer.take_done();
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->status.is_unavailable());
  ASSERT_EQ(done->batch.upserts.size(), 1u);  // given back for a retry
  EXPECT_EQ(done->batch.upserts[0].id, "b");
  EXPECT_FALSE(writer.wait().has_value());  // nothing in flight
}

TEST(StoreWriter, AFailedBatchComesBackForARetry) {
  GatedStore store;
  store.open();
  store.fail_next(Status::unavailable("disk full"));
  ManualClock clock;
  StoreWriter writer(store, clock);
  writer.start(StoreBatch{{task("a")}, {}});
  auto done = writer.wait();
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->status.is_unavailable());
  ASSERT_EQ(done->batch.upserts.size(), 1u);
  EXPECT_EQ(done->batch.upserts[0].id, "a");
  EXPECT_EQ(store.stored(), 0u);
  writer.start(std::move(done->batch));
  done = writer.wait();
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->status.is_ok());
  EXPECT_EQ(store.stored(), 1u);
  EXPECT_FALSE(writer.wait().has_value());  // nothing in flight
}

TEST(StoreWriter, DestructionFinishesTheBatchInFlight) {
  GatedStore store;
  ManualClock clock;
  {
    StoreWriter writer(store, clock);
    writer.start(StoreBatch{{task("a")}, {}});
    ASSERT_TRUE(store.wait_entered(1));
    store.let_one_through();
  }
  EXPECT_EQ(store.stored(), 1u);
}

// The broker loop with a gated store: while the commit of a submit is held, the loop still
// answers STATUS, and the submit's reply comes only once the commit is done.
TEST(StoreWriter, TheBrokerLoopServesWhileACommitIsInFlight) {
  GatedBroker broker;
  GatedStore* store = broker.store;
  zmq::socket_t submitter = broker.connect(zmq::socket_type::req);
  zmq::socket_t watcher = broker.connect(zmq::socket_type::req);

  Task t = task("0190a3c4-3333-7000-8000-000000000001");
  ASSERT_TRUE(protocol::send(submitter, protocol::SubmitRequest{1, t}).is_ok());
  ASSERT_TRUE(store->wait_entered(1));
  // The commit is stuck in the store; the loop is not.
  ASSERT_TRUE(protocol::send(watcher, protocol::StatusRequest{2}).is_ok());
  auto status = reply_within(watcher, kWait);
  ASSERT_TRUE(status.has_value()) << "the loop blocked on the commit";
  EXPECT_EQ(status->request_id, 2u);
  EXPECT_FALSE(reply_within(submitter, Millis(100)).has_value()) << "acknowledged before commit";

  store->open();
  auto submitted = reply_within(submitter, kWait);
  ASSERT_TRUE(submitted.has_value());
  EXPECT_TRUE(submitted->status.is_ok()) << submitted->status.to_string();
  EXPECT_EQ(submitted->task->id, t.id);
  EXPECT_EQ(store->stored(), 1u);
}

// A SUBMIT_BATCH's reply follows the same rule as SUBMIT's: it leaves only once the commit that
// holds every task it reports as stored has landed, even for a batch with a refused task.
TEST(StoreWriter, TheReplyToASubmitBatchWaitsForTheCommitOfItsTasks) {
  GatedBroker broker;
  GatedStore* store = broker.store;
  zmq::socket_t client = broker.connect(zmq::socket_type::req);

  protocol::SubmitBatchRequest batch{7, {}};
  batch.tasks.push_back(task("0190a3c4-3333-7000-8000-000000000011"));
  batch.tasks.push_back(task("0190a3c4-3333-7000-8000-000000000012"));
  batch.tasks.back().image = "";  // refused: a docker task needs an image
  batch.tasks.push_back(task("0190a3c4-3333-7000-8000-000000000013"));
  ASSERT_TRUE(protocol::send(client, batch).is_ok());
  ASSERT_TRUE(store->wait_entered(1));
  EXPECT_FALSE(reply_within(client, Millis(200)).has_value()) << "acknowledged before its commit";
  EXPECT_EQ(store->stored(), 0u);

  store->open();
  auto reply = reply_within(client, kWait);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->request_id, 7u);
  ASSERT_EQ(reply->submitted.size(), 3u);
  EXPECT_EQ(reply->submitted[0].error_code, ErrorCode::Ok);
  EXPECT_EQ(reply->submitted[1].error_code, ErrorCode::Invalid);
  EXPECT_EQ(reply->submitted[2].error_code, ErrorCode::Ok);
  EXPECT_EQ(store->stored(), 2u);  // both accepted tasks were stored before the reply left
}

// The outbox rule with a slow store: the ASSIGN for a submitted task (and the submit's reply)
// leave only after the commit that records the submit and the placement has landed, so a broker
// killed while the commit is in flight has told the agent nothing the store does not know.
TEST(StoreWriter, AnAssignWaitsForTheCommitOfItsPlacement) {
  GatedBroker broker;
  GatedStore* store = broker.store;
  zmq::socket_t client = broker.connect(zmq::socket_type::req);
  zmq::socket_t agent = broker.connect(zmq::socket_type::dealer, 1);

  // An agent with two free slots (nothing to commit: its WELCOME leaves at once).
  protocol::Hello hello;
  hello.agent_id = "agent-1";
  hello.name = "node-1";
  hello.version = "test";
  hello.drivers = {"docker"};
  hello.capacity.slots = 2;
  ASSERT_TRUE(protocol::send(agent, hello).is_ok());
  auto welcome_message = next_within(agent, kWait);
  ASSERT_TRUE(welcome_message.has_value());
  ASSERT_EQ(welcome_message->type, static_cast<uint8_t>(protocol::MessageType::Welcome));
  auto welcome = protocol::decode_as<protocol::Welcome>(welcome_message->body);
  ASSERT_TRUE(welcome.is_ok());
  ASSERT_TRUE(protocol::send(agent, protocol::Credit{welcome->session_id, 2}).is_ok());

  Task t = task("0190a3c4-3333-7000-8000-000000000002");
  ASSERT_TRUE(protocol::send(client, protocol::SubmitRequest{1, t}).is_ok());
  ASSERT_TRUE(store->wait_entered(1));
  EXPECT_FALSE(next_within(agent, Millis(200)).has_value()) << "ASSIGN sent before its commit";
  EXPECT_FALSE(next_within(client, Millis(0)).has_value()) << "reply sent before its commit";
  EXPECT_EQ(store->stored(), 0u);

  store->open();
  auto assign_message = next_within(agent, kWait);
  ASSERT_TRUE(assign_message.has_value());
  ASSERT_EQ(assign_message->type, static_cast<uint8_t>(protocol::MessageType::Assign));
  auto assign = protocol::decode_as<protocol::Assign>(assign_message->body);
  ASSERT_TRUE(assign.is_ok());
  EXPECT_EQ(assign->task.id, t.id);
  EXPECT_EQ(store->stored(), 1u);  // the store knew the task before the agent heard of it
  auto reply = next_within(client, kWait);
  ASSERT_TRUE(reply.has_value());
}

}  // namespace
}  // namespace cube::broker
