// Drives a real BrokerLoop (on its own thread, bound to 127.0.0.1 with a random base port) from
// the test thread with real REQ, DEALER and PUB sockets. Time is a ManualClock, so no deadline
// fires by itself; every wait is a zmq::poll with a deadline.
#include "broker/broker_loop.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>

#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "broker/memory_store.h"
#include "common/ids.h"
#include "common/unique_fd.h"
#include "protocol/beacon_slices.h"
#include "protocol/codec.h"
#include "protocol/zmq_io.h"

namespace cube::broker {
namespace {

using protocol::MessageType;
using ::testing::HasSubstr;

// Generous: only reached when something is broken.
constexpr Millis kWait{5000};

// Waits until `socket` has a message, up to `timeout` of real time.
bool readable(zmq::socket_t& socket, Millis timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  return (item.revents & ZMQ_POLLIN) != 0;
}

std::optional<protocol::Received> receive_within(zmq::socket_t& socket, Millis timeout) {
  if (!readable(socket, timeout))
    return std::nullopt;
  Status error;
  auto message = protocol::receive(socket, 0, &error);
  EXPECT_TRUE(error.is_ok()) << error.to_string();
  return message;
}

class BrokerLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BrokerOptions options;
    options.port = 0;
    options.policy = Policy::RoundRobin;
    options.max_pending = max_pending_;
    auto store = std::make_unique<MemoryStore>();
    store_ = store.get();
    if (fail_first_commit_)
      store_->fail_next_commit_for_test(Status::unavailable("disk full"));
    loop_ = std::make_unique<BrokerLoop>(options, clock_, std::move(store));
    Status bound = loop_->bind();
    ASSERT_TRUE(bound.is_ok()) << bound.to_string();
    ASSERT_NE(loop_->port(), 0);
    stop_.reset(::eventfd(0, EFD_CLOEXEC));
    ASSERT_TRUE(stop_.valid());
    thread_ = std::thread([this] { loop_->run(stop_.get()); });
    client_ = connect(zmq::socket_type::req, 0);
    dealer_ = connect(zmq::socket_type::dealer, 1);
    pub_ = connect(zmq::socket_type::pub, 2);
  }

  void TearDown() override {
    if (thread_.joinable()) {
      uint64_t one = 1;
      ASSERT_EQ(::write(stop_.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
      thread_.join();
    }
  }

  zmq::socket_t connect(zmq::socket_type type, int offset) {
    zmq::socket_t s(context_, type);
    s.set(zmq::sockopt::linger, 0);
    s.connect(protocol::tcp_endpoint("127.0.0.1", loop_->port() + offset));
    return s;
  }

  // One request/reply on the REQ socket.
  template <typename M>
  protocol::Reply call(const M& request) {
    EXPECT_TRUE(protocol::send(client_, request).is_ok());
    return read_reply();
  }
  protocol::Reply read_reply() {
    auto message = receive_within(client_, kWait);
    if (!message) {
      ADD_FAILURE() << "no reply from the broker";
      return {};
    }
    EXPECT_EQ(message->type, static_cast<uint8_t>(MessageType::Reply));
    auto reply = protocol::decode_as<protocol::Reply>(message->body);
    EXPECT_TRUE(reply.is_ok()) << reply.status().to_string();
    return reply.is_ok() ? *reply : protocol::Reply{};
  }
  // Sends raw frames on the REQ socket and reads the reply.
  protocol::Reply call_raw(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      zmq::message_t frame(frames[i].data(), frames[i].size());
      client_.send(frame, i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
    return read_reply();
  }

  Task get(const std::string& id) {
    auto reply = call(protocol::GetRequest{next_request_++, id});
    EXPECT_TRUE(reply.status.is_ok()) << reply.status.to_string();
    return reply.task.value_or(Task{});
  }
  std::map<std::string, uint64_t> counters() {
    auto reply = call(protocol::StatusRequest{next_request_++});
    return reply.broker ? reply.broker->counters : std::map<std::string, uint64_t>{};
  }

  std::string submit_task(const std::string& name) {
    Task t;
    t.name = name;
    t.image = "busybox:latest";
    auto reply = call(protocol::SubmitRequest{next_request_++, t});
    EXPECT_TRUE(reply.status.is_ok()) << reply.status.to_string();
    EXPECT_TRUE(reply.task.has_value());
    return reply.task ? reply.task->id : "";
  }

  // HELLO on the DEALER; returns the WELCOME. Without `features` it is the HELLO of an agent
  // released before batches.
  protocol::Welcome hello(const std::string& agent_id, uint64_t seq = 0,
                          std::vector<AttemptStatus> tasks = {},
                          std::vector<std::string> features = {}) {
    protocol::Hello h;
    h.agent_id = agent_id;
    h.name = "node-" + agent_id;
    h.version = "test";
    h.drivers = {"docker"};
    h.capacity.slots = 4;
    h.seq = seq;
    h.tasks = std::move(tasks);
    h.features = std::move(features);
    EXPECT_TRUE(protocol::send(dealer_, h).is_ok());
    auto message = receive_within(dealer_, kWait);
    if (!message || message->type != static_cast<uint8_t>(MessageType::Welcome)) {
      ADD_FAILURE() << "no WELCOME";
      return {};
    }
    auto welcome = protocol::decode_as<protocol::Welcome>(message->body);
    EXPECT_TRUE(welcome.is_ok());
    return welcome.is_ok() ? *welcome : protocol::Welcome{};
  }

  // Sends a garbage-free message of type `type` with an empty map body on the DEALER and waits
  // for the broker's ERROR; returns every other message that arrived before it, in order. The
  // broker answers in order on the same pipe, so this is a barrier for earlier sends.
  std::vector<protocol::Received> work_barrier() {
    EXPECT_TRUE(protocol::send_raw(dealer_, {}, MessageType::Beacon, "\x80").is_ok());
    std::vector<protocol::Received> before;
    while (true) {
      auto message = receive_within(dealer_, kWait);
      if (!message) {
        ADD_FAILURE() << "no ERROR for the barrier message";
        return before;
      }
      if (message->type == static_cast<uint8_t>(MessageType::Error)) {
        auto error = protocol::decode_as<protocol::ErrorMessage>(message->body);
        if (error.is_ok() && error->message.find("unexpected message type 30") != std::string::npos)
          return before;
      }
      before.push_back(std::move(*message));
    }
  }

  // Publishes `event` until `done()` holds (the first events can be lost while the broker's
  // subscription reaches our PUB); each round waits on a broker round trip, never a sleep.
  template <typename M, typename Pred>
  bool publish_until(const M& event, Pred done) {
    for (int round = 0; round < 5000; ++round) {
      EXPECT_TRUE(protocol::send(pub_, event).is_ok());
      if (done())
        return true;
    }
    return false;
  }

  // Returns once the broker has handled every event published before it: a NODE_STATS with a
  // new sample time travels the same PUB->SUB pipe, in order, and shows in NODES when handled.
  void events_barrier(const std::string& agent_id, const std::string& session_id) {
    protocol::NodeStats marker;
    marker.agent_id = agent_id;
    marker.session_id = session_id;
    marker.usage.sampled_ms = ++barrier_samples_;
    ASSERT_TRUE(protocol::send(pub_, marker).is_ok());
    for (int round = 0; round < 5000; ++round) {
      for (const auto& node : call(protocol::NodesRequest{next_request_++}).nodes) {
        if (node.id == agent_id && node.usage && node.usage->sampled_ms == barrier_samples_)
          return;
      }
    }
    ADD_FAILURE() << "the broker never handled the barrier NODE_STATS";
  }

  static uint8_t type_of(MessageType t) { return static_cast<uint8_t>(t); }

  bool fail_first_commit_ = false;  // set in a derived fixture's constructor
  size_t max_pending_ = 0;          // --max-pending; set in a derived fixture's constructor
  ManualClock clock_;
  MemoryStore* store_ = nullptr;
  std::unique_ptr<BrokerLoop> loop_;
  UniqueFd stop_;
  std::thread thread_;
  zmq::context_t context_;
  zmq::socket_t client_;
  zmq::socket_t dealer_;
  zmq::socket_t pub_;
  uint64_t next_request_ = 1;
  int64_t barrier_samples_ = 0;
};

TEST_F(BrokerLoopTest, HelloCreditSubmitsAssignAcceptAndRunning) {
  protocol::Welcome welcome = hello("agent-1");
  ASSERT_FALSE(welcome.session_id.empty());
  EXPECT_EQ(welcome.broker_epoch, loop_->epoch());
  EXPECT_EQ(welcome.heartbeat_ms, 1000);

  ASSERT_TRUE(protocol::send(dealer_, protocol::Credit{welcome.session_id, 2}).is_ok());
  std::vector<std::string> ids = {submit_task("a"), submit_task("b"), submit_task("c")};

  // Exactly two ASSIGNs: wait for two, then a barrier proves no third one was sent.
  std::vector<protocol::Assign> assigns;
  while (assigns.size() < 2) {
    auto message = receive_within(dealer_, kWait);
    ASSERT_TRUE(message.has_value()) << "got " << assigns.size() << " ASSIGNs";
    ASSERT_EQ(message->type, type_of(MessageType::Assign));
    assigns.push_back(*protocol::decode_as<protocol::Assign>(message->body));
  }
  EXPECT_TRUE(work_barrier().empty());
  int scheduled = 0;
  int pending = 0;
  for (const auto& id : ids) {
    Task t = get(id);
    if (t.state == TaskState::Scheduled) {
      ++scheduled;
      EXPECT_EQ(t.node, "node-agent-1");
      EXPECT_EQ(t.attempt, 1u);
    } else {
      ++pending;
      EXPECT_EQ(t.state, TaskState::Pending);
      EXPECT_THAT(t.reason, HasSubstr("free slot"));
    }
  }
  EXPECT_EQ(scheduled, 2);
  EXPECT_EQ(pending, 1);
  EXPECT_EQ(counters()["tasks.placed"], 2u);

  // ACCEPT + TASK_STATE Running -> GET shows Running.
  const Task& first = assigns[0].task;
  ASSERT_TRUE(protocol::send(dealer_, protocol::Accept{welcome.session_id, first.id, first.attempt})
                  .is_ok());
  EXPECT_TRUE(work_barrier().empty());  // no STOP: the ACCEPT was for the current attempt
  protocol::TaskStateEvent running;
  running.agent_id = "agent-1";
  running.session_id = welcome.session_id;
  running.seq = 1;
  running.status.task_id = first.id;
  running.status.attempt = first.attempt;
  running.status.state = TaskState::Running;
  running.status.container_id = "container-1";
  ASSERT_TRUE(publish_until(running, [&] { return get(first.id).state == TaskState::Running; }));
  auto reply = call(protocol::GetRequest{next_request_++, first.id});
  ASSERT_TRUE(reply.task.has_value());
  EXPECT_EQ(reply.task->container_id, "container-1");
  ASSERT_EQ(reply.events.size(), 3u);
  EXPECT_EQ(reply.events[0].state, TaskState::Pending);
  EXPECT_EQ(reply.events[1].state, TaskState::Scheduled);
  EXPECT_EQ(reply.events[2].state, TaskState::Running);
  EXPECT_GE(counters()["store.commits"], 1u);

  // NODES lists the agent with one task more than its free credit would suggest.
  auto nodes = call(protocol::NodesRequest{next_request_++});
  ASSERT_EQ(nodes.nodes.size(), 1u);
  EXPECT_EQ(nodes.nodes[0].id, "agent-1");
  EXPECT_EQ(nodes.nodes[0].state, "ready");
  EXPECT_EQ(nodes.nodes[0].running, 2u);
  EXPECT_EQ(nodes.nodes[0].free_slots, 0u);
}

TEST_F(BrokerLoopTest, GapInEventsAsksForASnapshotAndStopReachesTheAgent) {
  protocol::Welcome welcome = hello("agent-2");
  ASSERT_TRUE(protocol::send(dealer_, protocol::Credit{welcome.session_id, 1}).is_ok());
  std::string id = submit_task("x");
  auto message = receive_within(dealer_, kWait);
  ASSERT_TRUE(message && message->type == type_of(MessageType::Assign));
  ASSERT_TRUE(protocol::send(dealer_, protocol::Accept{welcome.session_id, id, 1}).is_ok());

  protocol::TaskStateEvent event;
  event.agent_id = "agent-2";
  event.session_id = welcome.session_id;
  event.seq = 1;
  event.status.task_id = id;
  event.status.attempt = 1;
  event.status.state = TaskState::Running;
  ASSERT_TRUE(publish_until(event, [&] { return get(id).state == TaskState::Running; }));

  // Event 2 is lost; event 3 reveals the gap: the broker drops it and sends SYNC.
  event.seq = 3;
  event.status.state = TaskState::Completed;
  event.status.exit_code = 0;
  ASSERT_TRUE(protocol::send(pub_, event).is_ok());
  message = receive_within(dealer_, kWait);
  ASSERT_TRUE(message.has_value());
  ASSERT_EQ(message->type, type_of(MessageType::Sync));
  EXPECT_EQ(get(id).state, TaskState::Running);

  // The user stops the task: the agent gets STOP for attempt 1.
  auto stopped = call(protocol::StopRequest{next_request_++, id});
  ASSERT_TRUE(stopped.status.is_ok());
  EXPECT_EQ(stopped.task->desired_state, TaskState::Completed);
  message = receive_within(dealer_, kWait);
  ASSERT_TRUE(message.has_value());
  ASSERT_EQ(message->type, type_of(MessageType::Stop));
  auto stop = protocol::decode_as<protocol::Stop>(message->body);
  EXPECT_EQ(stop->task_id, id);
  EXPECT_EQ(stop->attempt, 1u);

  // SNAPSHOT as of seq 3: the task ended (killed: exit 137) -> Completed "stopped".
  AttemptStatus ended = event.status;
  ended.state = TaskState::Failed;
  ended.exit_code = 137;
  ASSERT_TRUE(protocol::send(dealer_, protocol::Snapshot{welcome.session_id, 3, {ended}}).is_ok());
  EXPECT_TRUE(work_barrier().empty());
  Task t = get(id);
  EXPECT_EQ(t.state, TaskState::Completed);
  EXPECT_EQ(t.reason, "stopped");
  EXPECT_EQ(t.exit_code, 137);
  EXPECT_EQ(counters()["events.gap"], 1u);
}

// Service requests through the real loop (memory store): a create makes the replicas in the
// same commit, the same create again is the same service, another definition is a conflict, and
// a retried rm (same request id) is answered as the first try was.
TEST_F(BrokerLoopTest, ServiceRequestsAreIdempotentAndTheirErrorsAreValues) {
  Service web;
  web.name = "web";
  web.replicas = 2;
  web.task_template.driver = "exec";
  web.task_template.cmd = {"sleep", "60"};
  auto created = call(protocol::ServiceCreateRequest{next_request_++, web});
  ASSERT_TRUE(created.status.is_ok()) << created.status.to_string();
  ASSERT_EQ(created.services.size(), 1u);
  EXPECT_EQ(created.services[0].service.version, 1u);
  EXPECT_EQ(created.services[0].service.task_template.restart_policy, "always");
  EXPECT_EQ(created.services[0].tasks, 2u) << "the replicas are made with the service";
  auto again = call(protocol::ServiceCreateRequest{next_request_++, web});
  ASSERT_TRUE(again.status.is_ok()) << again.status.to_string();
  EXPECT_EQ(again.services.at(0).service.created_ms, created.services[0].service.created_ms);
  Service other = web;
  other.replicas = 5;
  EXPECT_EQ(call(protocol::ServiceCreateRequest{next_request_++, other}).status.code(),
            ErrorCode::Conflict);
  Service bad = web;
  bad.name = "a.b";
  EXPECT_TRUE(call(protocol::ServiceCreateRequest{next_request_++, bad}).status.is_invalid());
  EXPECT_TRUE(call(protocol::ServiceScaleRequest{next_request_++, "web", kMaxReplicas + 1})
                  .status.is_invalid());
  EXPECT_TRUE(
      call(protocol::ServiceScaleRequest{next_request_++, "nope", 1}).status.is_not_found());

  auto listed = call(protocol::ListRequest{next_request_++});
  ASSERT_EQ(listed.tasks.size(), 2u);
  std::set<std::string> names;
  for (const auto& t : listed.tasks) {
    names.insert(t.name);
    EXPECT_EQ(t.service, "web");
  }
  EXPECT_EQ(names, (std::set<std::string>{"web.1", "web.2"}));

  uint64_t rm_id = next_request_++;
  ASSERT_TRUE(call(protocol::ServiceRemoveRequest{rm_id, "web"}).status.is_ok());
  auto retried = call(protocol::ServiceRemoveRequest{rm_id, "web"});
  EXPECT_TRUE(retried.status.is_ok()) << retried.status.to_string();
  EXPECT_EQ(retried.services.at(0).service.name, "web");
  auto later = call(protocol::ServiceRemoveRequest{next_request_++, "web"});
  EXPECT_TRUE(later.status.is_not_found()) << "a new rm of a removed service";
  for (const auto& t : call(protocol::ListRequest{next_request_++}).tasks)
    EXPECT_EQ(t.desired_state, TaskState::Completed) << t.name;
  auto c = counters();
  EXPECT_EQ(c["services.created"], 1u);
  EXPECT_EQ(c["services.refused.exists"], 1u);
  EXPECT_EQ(c["services.refused.invalid"], 2u);
  EXPECT_EQ(c["services.refused.not_found"], 2u);
  EXPECT_EQ(c["services.tasks_created"], 2u);
  EXPECT_EQ(c["services.tasks_stopped"], 2u);
}

TEST_F(BrokerLoopTest, SubmitIsIdempotentAndClientErrorsAreValues) {
  Task t;
  t.id = "0190a3c4-1111-7000-8000-000000000001";
  t.image = "busybox";
  auto first = call(protocol::SubmitRequest{next_request_++, t});
  ASSERT_TRUE(first.status.is_ok()) << first.status.to_string();
  EXPECT_EQ(first.task->state, TaskState::Pending);
  EXPECT_EQ(first.task->driver, "docker");
  auto again = call(protocol::SubmitRequest{next_request_++, t});
  ASSERT_TRUE(again.status.is_ok());
  EXPECT_EQ(again.task->created_ms, first.task->created_ms);
  EXPECT_EQ(call(protocol::ListRequest{next_request_++}).tasks.size(), 1u);
  EXPECT_EQ(counters()["client.submits"], 1u);

  // A submission with desired state Completed stops that ID.
  Task stop = t;
  stop.desired_state = TaskState::Completed;
  auto stopped = call(protocol::SubmitRequest{next_request_++, stop});
  ASSERT_TRUE(stopped.status.is_ok());
  EXPECT_EQ(stopped.task->state, TaskState::Completed);
  EXPECT_EQ(stopped.task->reason, "stopped");
  // ...and stopping again is fine.
  EXPECT_TRUE(call(protocol::StopRequest{next_request_++, t.id}).status.is_ok());

  stop.id = "0190a3c4-1111-7000-8000-0000000000ff";
  auto unknown_stop = call(protocol::SubmitRequest{next_request_++, stop});
  EXPECT_TRUE(unknown_stop.status.is_not_found());
  auto missing = call(protocol::GetRequest{77, "nope"});
  EXPECT_EQ(missing.request_id, 77u);
  EXPECT_TRUE(missing.status.is_not_found());
  EXPECT_EQ(missing.status.message(), "no task with ID nope");

  Task bad;
  bad.image = "busybox";
  bad.memory_bytes = -1;
  auto invalid = call(protocol::SubmitRequest{next_request_++, bad});
  EXPECT_TRUE(invalid.status.is_invalid());
  EXPECT_THAT(invalid.status.message(), HasSubstr("Memory"));
  EXPECT_EQ(store_->commit_count() > 0, true);
}

Task batch_task(const std::string& id, const std::string& name) {
  Task t;
  t.id = id;
  t.name = name;
  t.image = "busybox";
  return t;
}

TEST_F(BrokerLoopTest, SubmitBatchJudgesEachTaskOnItsOwnAndAnswersInOrder) {
  const std::string stored_id = "0190a3c4-4444-7000-8000-000000000001";
  const std::string invalid_id = "0190a3c4-4444-7000-8000-000000000002";
  const std::string unknown_id = "0190a3c4-4444-7000-8000-000000000003";
  protocol::SubmitBatchRequest batch;
  batch.request_id = 90;
  batch.tasks.push_back(batch_task(stored_id, "ok"));
  batch.tasks.push_back(batch_task(invalid_id, "bad"));
  batch.tasks.back().memory_bytes = -1;
  batch.tasks.push_back(batch_task("", "no-id"));  // an older client's: the broker picks one
  batch.tasks.push_back(batch_task(unknown_id, "stop-unknown"));
  batch.tasks.back().desired_state = TaskState::Completed;
  batch.tasks.push_back(batch_task("", "stop-without-id"));
  batch.tasks.back().desired_state = TaskState::Completed;

  auto reply = call(batch);
  EXPECT_EQ(reply.request_id, 90u);
  ASSERT_TRUE(reply.status.is_ok()) << reply.status.to_string();
  ASSERT_EQ(reply.submitted.size(), 5u);
  EXPECT_EQ(reply.submitted[0], (protocol::SubmitOutcome{stored_id, ErrorCode::Ok, ""}));
  EXPECT_EQ(reply.submitted[1].task_id, invalid_id);
  EXPECT_EQ(reply.submitted[1].error_code, ErrorCode::Invalid);
  EXPECT_THAT(reply.submitted[1].error_message, HasSubstr("Memory"));
  EXPECT_EQ(reply.submitted[2].error_code, ErrorCode::Ok);
  EXPECT_TRUE(is_uuid_v7(reply.submitted[2].task_id)) << reply.submitted[2].task_id;
  EXPECT_EQ(reply.submitted[3].task_id, unknown_id);
  EXPECT_EQ(reply.submitted[3].error_code, ErrorCode::NotFound);
  EXPECT_EQ(reply.submitted[4].task_id, "");
  EXPECT_EQ(reply.submitted[4].error_code, ErrorCode::Invalid);
  EXPECT_THAT(reply.submitted[4].error_message, HasSubstr("no ID was given"));

  // Exactly the two accepted tasks are stored, each as its own SUBMIT would store it.
  EXPECT_EQ(call(protocol::ListRequest{next_request_++}).tasks.size(), 2u);
  Task stored = get(stored_id);
  EXPECT_EQ(stored.state, TaskState::Pending);
  EXPECT_EQ(stored.driver, "docker");
  EXPECT_EQ(get(reply.submitted[2].task_id).name, "no-id");
  EXPECT_TRUE(call(protocol::GetRequest{next_request_++, invalid_id}).status.is_not_found());

  auto c = counters();
  EXPECT_EQ(c["client.submit_batches"], 1u);
  EXPECT_EQ(c["client.submits"], 2u);
  EXPECT_EQ(c["client.submit_batch_refused"], 3u);
  EXPECT_EQ(c["client.received.SUBMIT_BATCH"], 1u);
}

TEST_F(BrokerLoopTest, ASubmitBatchIsRefusedWholeWhenEmptyTooLargeOrRepeatingAnId) {
  auto empty = call(protocol::SubmitBatchRequest{next_request_++, {}});
  EXPECT_TRUE(empty.status.is_invalid());
  EXPECT_THAT(empty.status.message(), HasSubstr("no task"));
  EXPECT_TRUE(empty.submitted.empty());

  protocol::SubmitBatchRequest too_large{next_request_++, {}};
  for (size_t i = 0; i <= protocol::kMaxSubmitBatch; ++i)
    too_large.tasks.push_back(batch_task("", "t" + std::to_string(i)));
  auto refused = call(too_large);
  EXPECT_TRUE(refused.status.is_invalid());
  EXPECT_THAT(refused.status.message(), HasSubstr("1001 tasks"));
  EXPECT_THAT(refused.status.message(), HasSubstr("1000"));
  EXPECT_TRUE(refused.submitted.empty());

  const std::string twice = "0190a3c4-4444-7000-8000-0000000000aa";
  protocol::SubmitBatchRequest repeated{next_request_++, {}};
  repeated.tasks.push_back(batch_task(twice, "first"));
  repeated.tasks.push_back(batch_task("0190a3c4-4444-7000-8000-0000000000bb", "other"));
  repeated.tasks.push_back(batch_task(twice, "second"));
  auto duplicate = call(repeated);
  EXPECT_TRUE(duplicate.status.is_invalid());
  EXPECT_THAT(duplicate.status.message(), HasSubstr(twice));
  EXPECT_THAT(duplicate.status.message(), HasSubstr("#0 and #2"));

  // Nothing of any of them was stored.
  EXPECT_TRUE(call(protocol::ListRequest{next_request_++}).tasks.empty());
  auto c = counters();
  EXPECT_EQ(c["client.submits"], 0u);
  EXPECT_EQ(c["client.submit_batches"], 0u);
  EXPECT_EQ(c["client.received.SUBMIT_BATCH"], 3u);
}

TEST_F(BrokerLoopTest, ARetriedSubmitBatchStoresNothingTwice) {
  protocol::SubmitBatchRequest batch{next_request_++, {}};
  for (int i = 0; i < 3; ++i)
    batch.tasks.push_back(batch_task(new_uuid_v7(clock_.wall()), "r" + std::to_string(i)));
  auto first = call(batch);
  ASSERT_TRUE(first.status.is_ok()) << first.status.to_string();
  int64_t created = get(batch.tasks[0].id).created_ms;

  // The Lazy Pirate retry: the same request id and the same IDs, a moment later.
  clock_.advance(Millis(1500));
  auto again = call(batch);
  ASSERT_TRUE(again.status.is_ok()) << again.status.to_string();
  EXPECT_EQ(again.submitted, first.submitted);
  for (size_t i = 0; i < batch.tasks.size(); ++i)
    EXPECT_EQ(again.submitted[i], (protocol::SubmitOutcome{batch.tasks[i].id, ErrorCode::Ok, ""}));
  EXPECT_EQ(call(protocol::ListRequest{next_request_++}).tasks.size(), 3u);
  EXPECT_EQ(get(batch.tasks[0].id).created_ms, created);
  auto c = counters();
  EXPECT_EQ(c["client.submits"], 3u);
  EXPECT_EQ(c["client.submit_duplicates"], 3u);
  EXPECT_EQ(c["client.submit_batches"], 2u);
  EXPECT_EQ(c["client.submit_batch_refused"], 0u);
}

// Admission is per task: a batch larger than the room under --max-pending fills it and the rest
// are refused with the reason, as that many SUBMITs would be.
class BrokerLoopMaxPendingTest : public BrokerLoopTest {
 protected:
  BrokerLoopMaxPendingTest() { max_pending_ = 2; }
};

TEST_F(BrokerLoopMaxPendingTest, ASubmitBatchIsAdmittedTaskByTask) {
  protocol::SubmitBatchRequest batch{next_request_++, {}};
  for (int i = 0; i < 4; ++i)
    batch.tasks.push_back(batch_task(new_uuid_v7(clock_.wall()), "p" + std::to_string(i)));
  auto reply = call(batch);
  ASSERT_TRUE(reply.status.is_ok()) << reply.status.to_string();
  ASSERT_EQ(reply.submitted.size(), 4u);
  EXPECT_EQ(reply.submitted[0].error_code, ErrorCode::Ok);
  EXPECT_EQ(reply.submitted[1].error_code, ErrorCode::Ok);
  for (size_t i = 2; i < 4; ++i) {
    EXPECT_EQ(reply.submitted[i].task_id, batch.tasks[i].id);
    EXPECT_EQ(reply.submitted[i].error_code, ErrorCode::Unavailable);
    EXPECT_THAT(reply.submitted[i].error_message, HasSubstr("--max-pending"));
  }
  EXPECT_EQ(call(protocol::ListRequest{next_request_++}).tasks.size(), 2u);
  auto c = counters();
  EXPECT_EQ(c["client.submit_queue_full"], 2u);
  EXPECT_EQ(c["client.submit_batch_refused"], 2u);
}

TEST_F(BrokerLoopTest, GarbageOnEverySocketIsAnsweredOrCountedAndServingGoesOn) {
  // Client port: not a Cube message.
  auto garbage = call_raw({"garbage"});
  EXPECT_TRUE(garbage.status.is_invalid());
  EXPECT_THAT(garbage.status.message(), HasSubstr("not a Cube message"));
  // Another major version: the error names both.
  auto v2 = call_raw({"CUBE2", std::string(1, '\x2d'), "\x81\xaarequest_id\x05"});
  EXPECT_TRUE(v2.status.is_invalid());
  EXPECT_EQ(v2.status.message(), "protocol version CUBE2 is not supported: this peer speaks CUBE1");
  // A readable request id but a malformed field: the reply still carries the id.
  auto bad_field = call_raw(
      {"CUBE1", std::string(1, '\x2a'), std::string("\x82\xaarequest_id\x07\xa7task_id\x05")});
  EXPECT_EQ(bad_field.request_id, 7u);
  EXPECT_TRUE(bad_field.status.is_invalid());
  EXPECT_THAT(bad_field.status.message(), HasSubstr("malformed GET"));
  auto not_msgpack = call_raw({"CUBE1", std::string(1, '\x28'), "\xc1\xc1"});
  EXPECT_TRUE(not_msgpack.status.is_invalid());
  auto unknown_type = call_raw({"CUBE1", std::string(1, '\x63'), "\x80"});
  EXPECT_EQ(unknown_type.status.message(), "unknown request type 99");

  // Work port: junk, and messages without a session.
  dealer_.send(zmq::str_buffer("junk"), zmq::send_flags::none);
  auto error = receive_within(dealer_, kWait);
  ASSERT_TRUE(error && error->type == type_of(MessageType::Error));
  EXPECT_EQ(protocol::decode_as<protocol::ErrorMessage>(error->body)->code, ErrorCode::Invalid);
  ASSERT_TRUE(protocol::send(dealer_, protocol::Credit{"made-up", 3}).is_ok());
  error = receive_within(dealer_, kWait);
  ASSERT_TRUE(error && error->type == type_of(MessageType::Error));
  auto unauthorized = protocol::decode_as<protocol::ErrorMessage>(error->body);
  EXPECT_EQ(unauthorized->code, ErrorCode::Unauthorized);
  EXPECT_EQ(unauthorized->message, "no session: send HELLO");
  ASSERT_TRUE(protocol::send_raw(dealer_, {}, MessageType::Hello, "\xc1").is_ok());
  error = receive_within(dealer_, kWait);
  ASSERT_TRUE(error && error->type == type_of(MessageType::Error));

  // Events port: junk is counted and dropped.
  bool counted = false;
  for (int round = 0; round < 5000 && !counted; ++round) {
    pub_.send(zmq::str_buffer("\x01\x02"), zmq::send_flags::none);
    counted = counters()["events.bad_envelope"] > 0;
  }
  EXPECT_TRUE(counted);

  // Still serving, and every kind of damage was counted.
  auto status = call(protocol::StatusRequest{next_request_++});
  ASSERT_TRUE(status.status.is_ok());
  ASSERT_TRUE(status.broker.has_value());
  EXPECT_EQ(status.broker->counters["client.bad_envelope"], 2u);
  EXPECT_EQ(status.broker->counters["client.malformed.GET"], 1u);
  EXPECT_EQ(status.broker->counters["client.malformed.SUBMIT"], 1u);
  EXPECT_EQ(status.broker->counters["work.bad_envelope"], 1u);
  EXPECT_EQ(status.broker->counters["work.unauthorized"], 1u);
  EXPECT_EQ(status.broker->counters["work.malformed.HELLO"], 1u);
  EXPECT_EQ(hello("agent-3").broker_epoch, loop_->epoch());
}

TEST_F(BrokerLoopTest, ANewHelloReplacesTheSession) {
  protocol::Welcome first = hello("agent-4");
  protocol::Welcome second = hello("agent-4");
  EXPECT_NE(first.session_id, second.session_id);
  ASSERT_TRUE(protocol::send(dealer_, protocol::Credit{first.session_id, 1}).is_ok());
  auto error = receive_within(dealer_, kWait);
  ASSERT_TRUE(error && error->type == type_of(MessageType::Error));
  EXPECT_EQ(protocol::decode_as<protocol::ErrorMessage>(error->body)->code,
            ErrorCode::Unauthorized);
  ASSERT_TRUE(protocol::send(dealer_, protocol::Credit{second.session_id, 1}).is_ok());
  std::string id = submit_task("y");
  auto assign = receive_within(dealer_, kWait);
  ASSERT_TRUE(assign && assign->type == type_of(MessageType::Assign));
  EXPECT_EQ(protocol::decode_as<protocol::Assign>(assign->body)->task.id, id);
}

TEST_F(BrokerLoopTest, RandomFramesOfEveryTypeNeverStopTheBroker) {
  std::mt19937 rng(1234);
  auto random_bytes = [&](size_t max) {
    std::string out(rng() % (max + 1), '\0');
    for (auto& c : out)
      c = static_cast<char>(rng());
    return out;
  };
  protocol::Welcome welcome = hello("agent-r");
  for (int i = 0; i < 600; ++i) {
    uint8_t type = static_cast<uint8_t>(rng() % 64);
    // Half the bodies start as a MessagePack map so that decoding gets past the first byte.
    std::string body = (rng() % 2 ? std::string("\x83") : std::string()) + random_bytes(40);
    std::string type_frame(1, static_cast<char>(type));
    switch (i % 3) {
      case 0: {
        auto reply = call_raw({"CUBE1", type_frame, body});
        EXPECT_FALSE(reply.status.is_ok() && type >= 60);  // never a success for a non-request
        break;
      }
      case 1:
        ASSERT_TRUE(protocol::send_raw(dealer_, {}, static_cast<MessageType>(type), body).is_ok());
        break;
      case 2:
        ASSERT_TRUE(protocol::send_raw(pub_, {}, static_cast<MessageType>(type), body).is_ok());
        break;
    }
  }
  work_barrier();
  // Still serving, and the agent's session survived the noise on its own connection.
  auto status = call(protocol::StatusRequest{next_request_++});
  ASSERT_TRUE(status.status.is_ok());
  ASSERT_TRUE(protocol::send(dealer_, protocol::Credit{welcome.session_id, 1}).is_ok());
  std::string id = submit_task("after-noise");
  bool assigned = false;
  while (!assigned) {
    auto message = receive_within(dealer_, kWait);
    ASSERT_TRUE(message.has_value());
    if (message->type == type_of(MessageType::Assign))
      assigned = protocol::decode_as<protocol::Assign>(message->body)->task.id == id;
  }
}

// LOGS travels to the task's agent as LOGS_FETCH over its own connection; the agent's LOGS_DATA
// comes back as the client's reply, or the deadline answers for a silent agent.
TEST_F(BrokerLoopTest, LogsAreFetchedFromTheTasksAgentOverItsConnection) {
  protocol::Welcome welcome = hello("agent-logs");
  ASSERT_TRUE(protocol::send(dealer_, protocol::Credit{welcome.session_id, 1}).is_ok());
  std::string placed = submit_task("web");
  std::string pending = submit_task("waits");  // one slot: this one stays Pending
  auto message = receive_within(dealer_, kWait);
  ASSERT_TRUE(message.has_value());
  ASSERT_EQ(message->type, type_of(MessageType::Assign));
  Task assigned = protocol::decode_as<protocol::Assign>(message->body)->task;
  ASSERT_EQ(assigned.id, placed);
  ASSERT_TRUE(
      protocol::send(dealer_, protocol::Accept{welcome.session_id, placed, assigned.attempt})
          .is_ok());

  // The request goes out as LOGS_FETCH with the request's position and a fetch id.
  ASSERT_TRUE(protocol::send(client_, protocol::LogsRequest{501, placed, 6, 0, 0}).is_ok());
  auto fetch_message = receive_within(dealer_, kWait);
  ASSERT_TRUE(fetch_message.has_value());
  ASSERT_EQ(fetch_message->type, type_of(MessageType::LogsFetch));
  auto fetch = protocol::decode_as<protocol::LogsFetch>(fetch_message->body);
  ASSERT_TRUE(fetch.is_ok()) << fetch.status().to_string();
  EXPECT_EQ(fetch->task_id, placed);
  EXPECT_EQ(fetch->attempt, assigned.attempt);
  EXPECT_EQ(fetch->offset, 6);
  EXPECT_EQ(fetch->max_bytes, protocol::kMaxLogChunkBytes) << "0 means the largest chunk";
  EXPECT_EQ(fetch->tail_lines, 0);
  // An answer with another fetch id is not this request's: dropped.
  ASSERT_TRUE(protocol::send(dealer_, protocol::LogsData{fetch->fetch_id + 1, "nope", 1, true,
                                                         ErrorCode::Ok, ""})
                  .is_ok());
  ASSERT_TRUE(
      protocol::send(dealer_, protocol::LogsData{fetch->fetch_id, std::string("world\n\xff", 7), 13,
                                                 false, ErrorCode::Ok, ""})
          .is_ok());
  protocol::Reply reply = read_reply();
  EXPECT_EQ(reply.request_id, 501u);
  ASSERT_TRUE(reply.status.is_ok()) << reply.status.to_string();
  ASSERT_TRUE(reply.logs.has_value());
  EXPECT_EQ(reply.logs->data, std::string("world\n\xff", 7));
  EXPECT_EQ(reply.logs->next_offset, 13);
  EXPECT_FALSE(reply.logs->eof);

  // The agent's error reaches the client as it was.
  ASSERT_TRUE(protocol::send(client_, protocol::LogsRequest{502, placed, 0, 100, 5}).is_ok());
  fetch_message = receive_within(dealer_, kWait);
  ASSERT_TRUE(fetch_message.has_value());
  fetch = protocol::decode_as<protocol::LogsFetch>(fetch_message->body);
  ASSERT_TRUE(fetch.is_ok());
  EXPECT_EQ(fetch->max_bytes, 100);
  EXPECT_EQ(fetch->tail_lines, 5);
  ASSERT_TRUE(
      protocol::send(dealer_, protocol::LogsData{fetch->fetch_id, "", 0, false, ErrorCode::NotFound,
                                                 "agent x: no such task"})
          .is_ok());
  reply = read_reply();
  EXPECT_EQ(reply.request_id, 502u);
  EXPECT_EQ(reply.status, Status::not_found("agent x: no such task"));

  // A silent agent: the deadline answers for it.
  ASSERT_TRUE(protocol::send(client_, protocol::LogsRequest{503, placed, 0, 0, 0}).is_ok());
  fetch_message = receive_within(dealer_, kWait);
  ASSERT_TRUE(fetch_message.has_value());
  fetch = protocol::decode_as<protocol::LogsFetch>(fetch_message->body);
  ASSERT_TRUE(fetch.is_ok());
  EXPECT_FALSE(readable(client_, Millis(200)));
  clock_.advance(LogsProxy::kDefaultTimeout);
  work_barrier();  // wakes the loop, which now sees the deadline passed
  reply = read_reply();
  EXPECT_EQ(reply.request_id, 503u);
  EXPECT_EQ(reply.status.code(), ErrorCode::Unavailable);
  EXPECT_THAT(reply.status.message(), HasSubstr("agent node-agent-logs did not answer"));
  // Its late answer is dropped, and counted.
  ASSERT_TRUE(protocol::send(
                  dealer_, protocol::LogsData{fetch->fetch_id, "late", 4, true, ErrorCode::Ok, ""})
                  .is_ok());
  EXPECT_TRUE(work_barrier().empty());

  // Unknown task; task not placed yet.
  reply = call(protocol::LogsRequest{504, "no-such-task", 0, 0, 0});
  EXPECT_EQ(reply.status.code(), ErrorCode::NotFound);
  reply = call(protocol::LogsRequest{505, pending, 0, 0, 0});
  EXPECT_EQ(reply.status.code(), ErrorCode::Unavailable);
  EXPECT_THAT(reply.status.message(), HasSubstr("has not been placed on a node yet"));
  auto c = counters();
  EXPECT_EQ(c["client.logs"], 3u);
  EXPECT_EQ(c["client.logs_timeouts"], 1u);
  EXPECT_EQ(c["work.logs_data_unmatched"], 2u);
}

// NODE_STATS: the latest sample shows in NODES (with what the broker allocated there) and the
// task's usage in GET; stats consume no seq, so one "ahead" of the agent's events is no gap.
TEST_F(BrokerLoopTest, NodeStatsShowInNodesAndGetAndNeverAskForASync) {
  protocol::Hello h;
  h.agent_id = "agent-s";
  h.name = "node-s";
  h.drivers = {"docker"};
  h.capacity = {2.0, int64_t{1} << 30, int64_t{10} << 30, 4};
  ASSERT_TRUE(protocol::send(dealer_, h).is_ok());
  auto message = receive_within(dealer_, kWait);
  ASSERT_TRUE(message && message->type == type_of(MessageType::Welcome));
  auto welcome = *protocol::decode_as<protocol::Welcome>(message->body);
  ASSERT_TRUE(protocol::send(dealer_, protocol::Credit{welcome.session_id, 4}).is_ok());

  Task spec;
  spec.name = "measured";
  spec.image = "busybox:latest";
  spec.cpu = 0.5;
  spec.memory_bytes = 256 << 20;
  auto submitted = call(protocol::SubmitRequest{next_request_++, spec});
  ASSERT_TRUE(submitted.status.is_ok()) << submitted.status.to_string();
  std::string id = submitted.task->id;
  message = receive_within(dealer_, kWait);
  ASSERT_TRUE(message && message->type == type_of(MessageType::Assign));
  ASSERT_TRUE(protocol::send(dealer_, protocol::Accept{welcome.session_id, id, 1}).is_ok());
  protocol::TaskStateEvent running;
  running.agent_id = "agent-s";
  running.session_id = welcome.session_id;
  running.seq = 1;
  running.status.task_id = id;
  running.status.attempt = 1;
  running.status.state = TaskState::Running;
  ASSERT_TRUE(publish_until(running, [&] { return get(id).state == TaskState::Running; }));

  protocol::NodeStats stats;
  stats.agent_id = "agent-s";
  stats.session_id = welcome.session_id;
  stats.seq = 7;  // would be a gap for a TASK_STATE (last seq is 1)
  stats.usage.sampled_ms = 1'700'000'000'000;
  stats.usage.cpu_used = 0.75;
  stats.usage.cpu_total = 2;
  stats.usage.memory_used_bytes = 300 << 20;
  stats.usage.memory_total_bytes = int64_t{4} << 30;
  stats.usage.disk_used_bytes = int64_t{3} << 30;
  stats.usage.disk_total_bytes = int64_t{20} << 30;
  stats.usage.load_1 = 0.5;
  stats.usage.running = 1;
  protocol::TaskStats usage;
  usage.task_id = id;
  usage.attempt = 1;
  usage.sampled_ms = stats.usage.sampled_ms;
  usage.cpu_used = 0.25;
  usage.memory_bytes = 48 << 20;
  stats.tasks = {usage};
  protocol::Reply nodes;
  ASSERT_TRUE(publish_until(stats, [&] {
    nodes = call(protocol::NodesRequest{next_request_++});
    return nodes.nodes.size() == 1 && nodes.nodes[0].usage.has_value();
  }));
  const protocol::NodeInfo& n = nodes.nodes[0];
  EXPECT_EQ(*n.usage, stats.usage);
  EXPECT_EQ(n.capacity.memory_bytes, int64_t{1} << 30);
  EXPECT_DOUBLE_EQ(n.allocated.cpu, 0.5);
  EXPECT_EQ(n.allocated.memory_bytes, 256 << 20);
  EXPECT_EQ(n.allocated.disk_bytes, 0);
  EXPECT_EQ(n.allocated.slots, 1u);

  auto details = call(protocol::GetRequest{next_request_++, id});
  ASSERT_TRUE(details.task_stats.has_value());
  EXPECT_EQ(*details.task_stats, usage);

  // No SYNC went out for the stats' seq, and nothing counted a gap.
  EXPECT_TRUE(work_barrier().empty());
  auto c = counters();
  EXPECT_EQ(c["events.gap"], 0u);
  EXPECT_GE(c["events.node_stats"], 1u);
  auto status = call(protocol::StatusRequest{next_request_++});
  ASSERT_TRUE(status.broker.has_value());
  EXPECT_EQ(status.broker->scheduler, "roundrobin");

  // Usage reported for another attempt is not this run's: GET shows none.
  stats.tasks[0].attempt = 2;
  stats.usage.cpu_used = 1.25;
  ASSERT_TRUE(publish_until(stats, [&] {
    auto r = call(protocol::NodesRequest{next_request_++});
    return r.nodes.size() == 1 && r.nodes[0].usage && r.nodes[0].usage->cpu_used == 1.25;
  }));
  EXPECT_FALSE(call(protocol::GetRequest{next_request_++, id}).task_stats.has_value());

  // Stats from a session that is not current are dropped.
  stats.session_id = "not-a-session";
  stats.usage.cpu_used = 1.75;
  uint64_t refused = counters()["events.no_session"];
  ASSERT_TRUE(publish_until(stats, [&] { return counters()["events.no_session"] > refused; }));
  auto after = call(protocol::NodesRequest{next_request_++});
  ASSERT_EQ(after.nodes.size(), 1u);
  EXPECT_NE(after.nodes[0].usage->cpu_used, 1.75);
}

// --- batches (docs/protocol.md, Agent session item 9) ---

const std::vector<std::string> kBatches = {std::string(protocol::kFeatureBatches)};
// What every broker of this version announces in WELCOME.
const std::vector<std::string> kBrokerFeatures = {std::string(protocol::kFeatureBatches),
                                                  std::string(protocol::kFeatureBeaconSlices)};

AttemptStatus attempt_status(const std::string& task_id, TaskState state) {
  AttemptStatus s;
  s.task_id = task_id;
  s.attempt = 1;
  s.state = state;
  if (state == TaskState::Completed)
    s.exit_code = 0;
  return s;
}

// An agent released before batches announces no features: the broker still announces its own
// and sends it single ASSIGNs, one per task placed.
TEST_F(BrokerLoopTest, AnAgentWithoutBatchesGetsSingleAssigns) {
  std::vector<std::string> ids = {submit_task("a"), submit_task("b"), submit_task("c")};
  protocol::Welcome welcome = hello("agent-old");
  EXPECT_EQ(welcome.features, kBrokerFeatures);
  ASSERT_TRUE(protocol::send(dealer_, protocol::Credit{welcome.session_id, 3}).is_ok());
  std::set<std::string> assigned;
  while (assigned.size() < ids.size()) {
    auto message = receive_within(dealer_, kWait);
    ASSERT_TRUE(message.has_value()) << "got " << assigned.size() << " ASSIGNs";
    ASSERT_EQ(message->type, type_of(MessageType::Assign));
    assigned.insert(protocol::decode_as<protocol::Assign>(message->body)->task.id);
  }
  EXPECT_EQ(assigned, std::set<std::string>(ids.begin(), ids.end()));
  EXPECT_TRUE(work_barrier().empty());
  auto c = counters();
  EXPECT_EQ(c["work.sent.ASSIGN"], 3u);
  EXPECT_EQ(c["work.sent.ASSIGN_BATCH"], 0u);
}

// Tasks waiting when an agent's credit arrives are placed in one pass: one ASSIGN_BATCH of as
// many as its credit. Its ACCEPT_BATCH answers them all, and TASK_STATE_BATCHes are applied
// like that many TASK_STATEs: duplicates (an overlap) dropped, a gap answered with SYNC.
TEST_F(BrokerLoopTest, OnePassIsOneAssignBatchAndBatchesFromTheAgentAreApplied) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(submit_task("t" + std::to_string(i)));
  protocol::Welcome welcome = hello("agent-b", 0, {}, kBatches);
  EXPECT_EQ(welcome.features, kBrokerFeatures);
  ASSERT_TRUE(protocol::send(dealer_, protocol::Credit{welcome.session_id, 4}).is_ok());
  auto message = receive_within(dealer_, kWait);
  ASSERT_TRUE(message.has_value());
  ASSERT_EQ(message->type, type_of(MessageType::AssignBatch));
  auto batch = protocol::decode_as<protocol::AssignBatch>(message->body);
  ASSERT_TRUE(batch.is_ok()) << batch.status().to_string();
  ASSERT_EQ(batch->tasks.size(), 4u) << "as many as the credit";
  EXPECT_TRUE(work_barrier().empty()) << "the fifth task waits: no credit left";
  std::vector<std::string> placed;
  protocol::AcceptBatch accepts{welcome.session_id, {}};
  for (const Task& t : batch->tasks) {
    EXPECT_EQ(t.attempt, 1u);
    EXPECT_EQ(get(t.id).state, TaskState::Scheduled);
    placed.push_back(t.id);
    accepts.attempts.push_back({t.id, t.attempt});
  }

  ASSERT_TRUE(protocol::send(dealer_, accepts).is_ok());
  EXPECT_TRUE(work_barrier().empty()) << "no STOP: every attempt was the current one";
  auto nodes = call(protocol::NodesRequest{next_request_++});
  ASSERT_EQ(nodes.nodes.size(), 1u);
  EXPECT_EQ(nodes.nodes[0].free_slots, 0u) << "each ACCEPT took a slot";

  // Events 1..4: the four start.
  protocol::TaskStateBatch running{"agent-b", welcome.session_id, 4, {}};
  for (const auto& id : placed)
    running.statuses.push_back(attempt_status(id, TaskState::Running));
  ASSERT_TRUE(publish_until(running, [&] {
    for (const auto& id : placed) {
      if (get(id).state != TaskState::Running)
        return false;
    }
    return true;
  }));

  // Events 3..6, replayed over 3 and 4: those two are dropped, 5 and 6 end two tasks.
  events_barrier("agent-b", welcome.session_id);  // publish_until's extra copies are handled
  uint64_t duplicates = counters()["events.duplicate"];
  protocol::TaskStateBatch overlap{"agent-b", welcome.session_id, 6, {}};
  overlap.statuses = {attempt_status(placed[2], TaskState::Running),
                      attempt_status(placed[3], TaskState::Running),
                      attempt_status(placed[0], TaskState::Completed),
                      attempt_status(placed[1], TaskState::Completed)};
  ASSERT_TRUE(protocol::send(pub_, overlap).is_ok());
  events_barrier("agent-b", welcome.session_id);
  EXPECT_EQ(get(placed[0]).state, TaskState::Completed);
  EXPECT_EQ(get(placed[1]).state, TaskState::Completed);
  EXPECT_EQ(get(placed[2]).state, TaskState::Running);
  EXPECT_EQ(counters()["events.duplicate"], duplicates + 2);

  // Events 8..9 after 6: event 7 is missing, so both are dropped and the broker asks for a
  // SNAPSHOT.
  protocol::TaskStateBatch gap{"agent-b", welcome.session_id, 9, {}};
  gap.statuses = {attempt_status(placed[2], TaskState::Completed),
                  attempt_status(placed[3], TaskState::Completed)};
  ASSERT_TRUE(protocol::send(pub_, gap).is_ok());
  message = receive_within(dealer_, kWait);
  ASSERT_TRUE(message.has_value());
  ASSERT_EQ(message->type, type_of(MessageType::Sync));
  EXPECT_EQ(protocol::decode_as<protocol::Sync>(message->body)->reason, "missed events 7..7");
  EXPECT_EQ(get(placed[2]).state, TaskState::Running);
  EXPECT_EQ(get(placed[3]).state, TaskState::Running);

  auto c = counters();
  EXPECT_EQ(c["events.gap"], 1u);
  EXPECT_EQ(c["work.received.ACCEPT_BATCH"], 1u);
  EXPECT_GE(c["events.received.TASK_STATE_BATCH"], 3u);
  EXPECT_EQ(c["tasks.placed"], 4u);
  EXPECT_EQ(c["work.sent.ASSIGN_BATCH"], 1u);
  EXPECT_EQ(c["work.sent.ASSIGN"], 0u);
}

// Bad batches are counted and answered as the single messages are: malformed or empty is an
// ERROR invalid (nothing on the events socket, which cannot answer), a wrong session an ERROR
// unauthorized, an attempt of an unknown task a STOP.
TEST_F(BrokerLoopTest, BadBatchesAreCountedAndAnsweredLikeSingleMessages) {
  protocol::Welcome welcome = hello("agent-x", 0, {}, kBatches);
  ASSERT_TRUE(protocol::send(dealer_, protocol::Credit{welcome.session_id, 1}).is_ok());
  std::string id = submit_task("only");
  auto message = receive_within(dealer_, kWait);
  ASSERT_TRUE(message.has_value());
  ASSERT_EQ(message->type, type_of(MessageType::Assign)) << "a batch of one stays an ASSIGN";

  auto expect_error = [&](ErrorCode code, const std::string& text) {
    auto error = receive_within(dealer_, kWait);
    ASSERT_TRUE(error && error->type == type_of(MessageType::Error));
    auto decoded = protocol::decode_as<protocol::ErrorMessage>(error->body);
    EXPECT_EQ(decoded->code, code);
    EXPECT_THAT(decoded->message, HasSubstr(text));
  };
  ASSERT_TRUE(protocol::send(dealer_, protocol::AcceptBatch{welcome.session_id, {}}).is_ok());
  expect_error(ErrorCode::Invalid, "malformed ACCEPT_BATCH: no attempts");
  ASSERT_TRUE(protocol::send_raw(dealer_, {}, MessageType::AcceptBatch,
                                 "\x81\xa8"
                                 "attempts\x05")
                  .is_ok());
  expect_error(ErrorCode::Invalid, "malformed ACCEPT_BATCH");
  ASSERT_TRUE(protocol::send(dealer_, protocol::AcceptBatch{"made-up", {{id, 1}}}).is_ok());
  expect_error(ErrorCode::Unauthorized, "no session");

  // The known attempt is accepted; the unknown task's attempt gets its STOP.
  ASSERT_TRUE(
      protocol::send(dealer_, protocol::AcceptBatch{welcome.session_id, {{id, 1}, {"nope", 3}}})
          .is_ok());
  message = receive_within(dealer_, kWait);
  ASSERT_TRUE(message && message->type == type_of(MessageType::Stop));
  auto stop = protocol::decode_as<protocol::Stop>(message->body);
  EXPECT_EQ(stop->task_id, "nope");
  EXPECT_EQ(stop->attempt, 3u);
  EXPECT_TRUE(work_barrier().empty());

  // Events: an empty batch, and one whose seq cannot number its statuses (they would start at
  // 0), are counted and change nothing: event 1 is still the next one.
  protocol::TaskStateBatch empty{"agent-x", welcome.session_id, 1, {}};
  ASSERT_TRUE(
      publish_until(empty, [&] { return counters()["events.malformed.TASK_STATE_BATCH"] >= 1; }));
  events_barrier("agent-x", welcome.session_id);
  uint64_t malformed = counters()["events.malformed.TASK_STATE_BATCH"];
  protocol::TaskStateBatch unnumbered{"agent-x", welcome.session_id, 1, {}};
  unnumbered.statuses = {attempt_status(id, TaskState::Running),
                         attempt_status(id, TaskState::Completed)};
  ASSERT_TRUE(protocol::send(pub_, unnumbered).is_ok());
  protocol::TaskStateEvent running{"agent-x", welcome.session_id, 1,
                                   attempt_status(id, TaskState::Running)};
  ASSERT_TRUE(protocol::send(pub_, running).is_ok());
  events_barrier("agent-x", welcome.session_id);
  EXPECT_EQ(get(id).state, TaskState::Running);
  auto c = counters();
  EXPECT_EQ(c["events.malformed.TASK_STATE_BATCH"], malformed + 1);
  EXPECT_EQ(c["work.malformed.ACCEPT_BATCH"], 2u);
  EXPECT_EQ(c["events.gap"], 0u);
}

class BrokerLoopStoreFailureTest : public BrokerLoopTest {
 protected:
  BrokerLoopStoreFailureTest() { fail_first_commit_ = true; }
};

TEST_F(BrokerLoopStoreFailureTest, ASubmitIsNeverAcknowledgedBeforeItsCommit) {
  Task t;
  t.id = "0190a3c4-2222-7000-8000-000000000001";
  t.image = "busybox";
  ASSERT_TRUE(protocol::send(client_, protocol::SubmitRequest{41, t}).is_ok());
  // The commit failed: the client hears so at once (not an acknowledgement), with the store's
  // error, instead of waiting for a store that may not come back.
  protocol::Reply refused = read_reply();
  EXPECT_EQ(refused.request_id, 41u);
  EXPECT_TRUE(refused.status.is_unavailable()) << refused.status.to_string();
  EXPECT_EQ(refused.status.message(), "not stored: disk full");
  // Until a commit lands, writes are refused before they change anything...
  Task other = t;
  other.id = "0190a3c4-2222-7000-8000-000000000002";
  ASSERT_TRUE(protocol::send(client_, protocol::SubmitRequest{42, other}).is_ok());
  protocol::Reply also_refused = read_reply();
  EXPECT_EQ(also_refused.request_id, 42u);
  EXPECT_TRUE(also_refused.status.is_unavailable());
  // ... while time stands still, nothing else is sent.
  EXPECT_FALSE(readable(client_, Millis(300)));
  // Time passes: the broker retries the commit, which lands; the client's retry of the same
  // submit is acknowledged (the task was stored by the retried batch).
  clock_.advance(Millis(1000));
  // The loop retries the commit in the step after it wakes, but one wake-up reads up to
  // kBatchLimit requests while they keep coming (each STATUS is answered at once), so the
  // retry can take that many round trips and a few more.
  for (int i = 0; i < 4 * kBatchLimit && counters()["store.commits"] == 0u; ++i) {
  }
  ASSERT_EQ(counters()["store.commits"], 1u);
  ASSERT_TRUE(protocol::send(client_, protocol::SubmitRequest{43, t}).is_ok());
  protocol::Reply reply = read_reply();
  EXPECT_EQ(reply.request_id, 43u);
  EXPECT_TRUE(reply.status.is_ok()) << reply.status.to_string();
  EXPECT_EQ(reply.task->id, t.id);
  auto c = counters();
  EXPECT_EQ(c["store.commit_failed"], 1u);
  EXPECT_EQ(c["store.replies_refused"], 1u);
  EXPECT_EQ(c["client.refused_store_down"], 1u);
  EXPECT_EQ(c["store.commits"], 1u);
}

// The beacon port as an old agent sees it: subscribed to everything. `Beacons` is what one
// interval of the broker's time brought, in order.
struct Beacons {
  int plain = 0;
  std::vector<std::string> topics;  // of the sliced ones
};

class BeaconTest : public BrokerLoopTest {
 protected:
  void SetUp() override {
    BrokerLoopTest::SetUp();
    sub_ = connect(zmq::socket_type::sub, 3);
    sub_.set(zmq::sockopt::subscribe, "");
  }

  // Moves the broker's clock one heartbeat on and reads what it publishes up to the interval's
  // last tick: the slice 63 (sliced) or, as the loop catches up tick by tick and the next
  // interval's first tick is due at the same moment, the plain beacon (plain). Empty when
  // nothing came (the subscription may not have reached the broker yet).
  Beacons one_interval(bool expect_sliced) {
    clock_.advance(Millis(1000));
    Beacons got;
    while (readable(sub_, Millis(500))) {
      Status error;
      auto message = protocol::receive_published(sub_, &error);
      if (!message)
        break;
      EXPECT_TRUE(error.is_ok()) << error.to_string();
      EXPECT_EQ(message->type, static_cast<uint8_t>(MessageType::Beacon));
      if (message->envelope_start == 0) {
        ++got.plain;
        if (!expect_sliced)
          return got;
      } else {
        got.topics.push_back(message->frames[0].to_string());
        if (expect_sliced &&
            got.topics.back() == protocol::beacon_topic(protocol::kBeaconSlices - 1))
          return got;
      }
    }
    return got;
  }

  zmq::socket_t sub_;
};

TEST_F(BeaconTest, EveryAgentTakingSlicesGetsSlicedBeaconsSpreadOverTheInterval) {
  hello("agent-new", 0, {},
        {std::string(protocol::kFeatureBatches), std::string(protocol::kFeatureBeaconSlices)});
  // Until the SUB's subscription has reached the broker, intervals go unheard.
  Beacons got;
  for (int round = 0; round < 20 && got.topics.size() < size_t{protocol::kBeaconSlices}; ++round)
    got = one_interval(true);
  // A whole interval heard (its first tick comes right after the last one of the interval
  // before): each slice once, in order, one per 15 ms tick; no plain beacon.
  EXPECT_EQ(got.plain, 0);
  std::vector<std::string> every;
  for (int slice = 0; slice < protocol::kBeaconSlices; ++slice)
    every.push_back(protocol::beacon_topic(slice));
  EXPECT_EQ(got.topics, every);
  auto c = counters();
  EXPECT_EQ(c["beacon.agents_without_slices"], 0u);
  EXPECT_GE(c["beacon.sent_slices"], uint64_t{protocol::kBeaconSlices});
  EXPECT_EQ(c["beacon.sent_plain"], 0u);
}

TEST_F(BeaconTest, AnAgentWithoutSlicesBringsBackThePlainBeaconForEveryone) {
  hello("agent-new", 0, {},
        {std::string(protocol::kFeatureBatches), std::string(protocol::kFeatureBeaconSlices)});
  hello("agent-old");  // announced no feature: released before slices
  Beacons got;
  for (int round = 0; round < 20 && got.plain == 0; ++round)
    got = one_interval(false);
  ASSERT_EQ(got.plain, 1) << "no plain beacon";
  // A whole interval from one plain beacon to the next: nothing sliced in between.
  auto before = counters();
  got = one_interval(false);
  EXPECT_EQ(got.plain, 1);
  EXPECT_TRUE(got.topics.empty()) << got.topics.size() << " sliced beacons beside the plain one";
  // STATUS says why: one agent takes no slices; and counts what was sent.
  auto after = counters();
  EXPECT_EQ(after["beacon.agents_without_slices"], 1u);
  EXPECT_EQ(after["beacon.sent_plain"], before["beacon.sent_plain"] + 1);
  EXPECT_EQ(after["beacon.sent_slices"], before["beacon.sent_slices"]);
}

}  // namespace
}  // namespace cube::broker
