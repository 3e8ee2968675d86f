// AgentLoop with the sim driver against a fake broker of real ZeroMQ sockets on ephemeral
// loopback ports, with a ManualClock: a sim task runs for its DurationMs of clock time and the
// loop wakes for its end by itself (Driver::next_deadline / poll_due). Also the stepping API
// (begin/step/wake_fds/next_deadline) that bench/sim_fleet uses to host many agents on one
// thread in a shared ZeroMQ context.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent_loop.h"
#include "agent/drivers/sim/sim_driver.h"
#include "agent/reconnect.h"
#include "common/ids.h"
#include "common/unique_fd.h"
#include "protocol/zmq_io.h"
#include "tests/support/temp_dir.h"

namespace cube::agent {
namespace {

constexpr Millis kWait{5000};

struct Message {
  uint8_t type = 0;
  std::string body;
  std::string routing_id;
};

// The broker's three sockets, bound on 127.0.0.1 ephemeral ports.
class FakeBroker {
 public:
  FakeBroker()
      : router_(context_, zmq::socket_type::router),
        events_(context_, zmq::socket_type::sub),
        beacon_(context_, zmq::socket_type::pub) {
    for (auto* s : {&router_, &events_, &beacon_})
      protocol::apply_socket_defaults(*s, protocol::kMaxInboundMessageBytes);
    events_.set(zmq::sockopt::subscribe, "");
    router_.bind("tcp://127.0.0.1:*");
    events_.bind("tcp://127.0.0.1:*");
    beacon_.bind("tcp://127.0.0.1:*");
  }

  void configure(AgentOptions& o) {
    o.work_endpoint_override = router_.get(zmq::sockopt::last_endpoint);
    o.events_endpoint_override = events_.get(zmq::sockopt::last_endpoint);
    o.beacon_endpoint_override = beacon_.get(zmq::sockopt::last_endpoint);
  }

  std::optional<Message> next_work(Millis timeout) { return receive(router_, 1, timeout); }
  std::optional<Message> next_event(Millis timeout) { return receive(events_, 0, timeout); }

  template <typename M>
  void send_work(const std::string& routing_id, const M& message) {
    std::vector<zmq::message_t> frames;
    frames.emplace_back(routing_id.data(), routing_id.size());
    Status s = protocol::send(router_, frames, message);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }

  // A body as given, for malformed messages.
  void send_raw_work(const std::string& routing_id, protocol::MessageType type,
                     std::string_view body) {
    std::vector<zmq::message_t> frames;
    frames.emplace_back(routing_id.data(), routing_id.size());
    ASSERT_TRUE(protocol::send_raw(router_, frames, type, body).is_ok());
  }

  void send_beacon(const std::string& epoch, int64_t heartbeat_ms) {
    ASSERT_TRUE(protocol::send(beacon_, protocol::Beacon{epoch, heartbeat_ms}).is_ok());
  }

 private:
  static std::optional<Message> receive(zmq::socket_t& socket, size_t routing, Millis timeout) {
    zmq_pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) <= 0)
      return std::nullopt;
    Status error;
    auto msg = protocol::receive(socket, routing, &error);
    if (!msg || !error.is_ok())
      return std::nullopt;
    Message out{msg->type, std::string(msg->body), ""};
    if (routing > 0)
      out.routing_id = msg->frames[0].to_string();
    return out;
  }

  zmq::context_t context_{1};
  zmq::socket_t router_;
  zmq::socket_t events_;
  zmq::socket_t beacon_;
};

template <typename M>
std::optional<M> decode(const std::optional<Message>& msg) {
  if (!msg || msg->type != static_cast<uint8_t>(protocol::MessageTraits<M>::kType))
    return std::nullopt;
  auto decoded = protocol::decode_as<M>(msg->body);
  if (!decoded.is_ok())
    return std::nullopt;
  return std::move(*decoded);
}

Task sim_task(int64_t duration_ms) {
  Task t;
  t.id = new_random_id();
  t.driver = "sim";
  t.attempt = 1;
  t.duration_ms = duration_ms;
  return t;
}

AgentOptions sim_options(FakeBroker& broker, const std::string& name) {
  AgentOptions o;
  o.agent_id = new_random_id();
  o.name = name;
  o.driver = "sim";
  o.slots = 2;
  o.data_dir = "/";
  o.heartbeat = Millis(100);
  broker.configure(o);
  return o;
}

// --- run() on its own thread ---

TEST(SimAgentLoopTest, ASimTaskRunsForItsDurationOfClockTimeThenCompletes) {
  ManualClock clock;
  // The beacons advertise a 1 s heartbeat, so the agent gives up on the broker only after 3 s of
  // clock time: the test's 999 ms jump must not make it register again when the jump is seen
  // before the beacon that follows it.
  constexpr int64_t kBeaconHeartbeatMs = 1000;
  FakeBroker broker;
  SimDriver driver(clock);
  AgentOptions options = sim_options(broker, "sim-a");
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  auto loop = std::make_unique<AgentLoop>(options, driver, clock);
  Status result;
  std::thread thread([&] { result = loop->run(stop.get()); });
  // Stops and joins the loop however the test ends: a failed ASSERT returns early, and a
  // joinable std::thread destroyed there would terminate the whole test binary.
  auto stop_loop = [&] {
    if (!thread.joinable())
      return;
    uint64_t one = 1;
    EXPECT_EQ(::write(stop.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
    thread.join();
  };
  struct StopOnExit {
    std::function<void()> stop;
    ~StopOnExit() { stop(); }
  } stop_on_exit{stop_loop};

  auto hello_msg = broker.next_work(kWait);
  auto hello = decode<protocol::Hello>(hello_msg);
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->drivers, std::vector<std::string>{"sim"});
  std::string routing = hello_msg->routing_id;
  broker.send_work(routing, protocol::Welcome{"s1", "e1", 100});
  ASSERT_TRUE(decode<protocol::Credit>(broker.next_work(kWait)).has_value());

  // Wait until the events PUB/SUB pair is connected (a heartbeat arrives), so that no
  // TASK_STATE is lost to the slow joiner.
  bool connected = false;
  for (int i = 0; i < 100 && !connected; ++i) {
    clock.advance(Millis(100));
    broker.send_beacon("e1", kBeaconHeartbeatMs);
    for (auto ev = broker.next_event(Millis(200)); ev && !connected;
         ev = broker.next_event(Millis(0)))
      connected = decode<protocol::AgentHeartbeat>(ev).has_value();
  }
  ASSERT_TRUE(connected);

  Task task = sim_task(1000);
  broker.send_work(routing, protocol::Assign{task});
  auto accept = decode<protocol::Accept>(broker.next_work(kWait));
  ASSERT_TRUE(accept.has_value());
  EXPECT_EQ(accept->task_id, task.id);

  auto next_state = [&]() -> std::optional<protocol::TaskStateEvent> {
    for (int i = 0; i < 50; ++i) {
      auto ev = broker.next_event(Millis(200));
      if (auto state = decode<protocol::TaskStateEvent>(ev))
        return state;
    }
    return std::nullopt;
  };
  auto running = next_state();
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->status.state, TaskState::Running);

  // 999 ms of clock time: still running; the beacon wakes the loop so it looks.
  clock.advance(Millis(999));
  broker.send_beacon("e1", kBeaconHeartbeatMs);
  EXPECT_FALSE(decode<protocol::Credit>(broker.next_work(Millis(300))).has_value());
  clock.advance(Millis(1));
  broker.send_beacon("e1", kBeaconHeartbeatMs);
  auto completed = next_state();
  ASSERT_TRUE(completed.has_value());
  EXPECT_EQ(completed->status.task_id, task.id);
  EXPECT_EQ(completed->status.state, TaskState::Completed);
  EXPECT_EQ(completed->status.exit_code, 0);
  auto credit = decode<protocol::Credit>(broker.next_work(kWait));
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->free_slots, 2u);

  stop_loop();
  EXPECT_TRUE(result.is_ok()) << result.to_string();
}

// --- the stepping API, on the test's thread ---

// Services `loop` whenever one of its wake fds is readable (or every 20 ms) until `done`.
bool serve_until(AgentLoop& loop, const Clock& clock, const std::function<bool()>& done) {
  for (int i = 0; i < 250; ++i) {
    auto fds = loop.wake_fds();
    pollfd p[3] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}, {fds[2], POLLIN, 0}};
    ::poll(p, 3, 20);
    auto more = loop.step(clock.now());
    EXPECT_TRUE(more.is_ok()) << more.status().to_string();
    if (done())
      return true;
  }
  return false;
}

TEST(SimAgentLoopTest, TwoAgentsShareAContextAndAreServedByTheCallersThread) {
  ManualClock clock;
  FakeBroker broker;
  zmq::context_t shared(1);
  SimDriver driver_a(clock);
  SimDriver driver_b(clock);
  const SteadyTime welcomed = clock.now();  // the clock stands still until the task below
  AgentOptions a_options = sim_options(broker, "sim-a");
  AgentLoop a(a_options, driver_a, clock, &shared);
  AgentLoop b(sim_options(broker, "sim-b"), driver_b, clock, &shared);
  ASSERT_TRUE(a.begin().is_ok());
  ASSERT_TRUE(b.begin().is_ok());
  for (int fd : a.wake_fds())
    EXPECT_GE(fd, 0);

  // Both HELLOs arrive; each agent is welcomed and answers with CREDIT.
  std::map<std::string, std::string> routing_of;  // agent name -> routing id
  ASSERT_TRUE(serve_until(a, clock, [&] {
    (void)b.step(clock.now());
    if (auto msg = broker.next_work(Millis(0))) {
      if (auto hello = decode<protocol::Hello>(msg))
        routing_of[hello->name] = msg->routing_id;
    }
    return routing_of.size() == 2;
  }));
  broker.send_work(routing_of["sim-a"], protocol::Welcome{"sa", "e1", 10000});
  broker.send_work(routing_of["sim-b"], protocol::Welcome{"sb", "e1", 10000});
  std::set<std::string> credited;
  ASSERT_TRUE(serve_until(a, clock, [&] {
    (void)b.step(clock.now());
    if (auto credit = decode<protocol::Credit>(broker.next_work(Millis(0))))
      credited.insert(credit->session_id);
    return credited.size() == 2;
  }));

  // A sim task on agent a: ACCEPT, and a's next deadline is the task's end.
  Task task = sim_task(200);
  broker.send_work(routing_of["sim-a"], protocol::Assign{task});
  ASSERT_TRUE(serve_until(
      a, clock, [&] { return decode<protocol::Accept>(broker.next_work(Millis(0))).has_value(); }));
  EXPECT_EQ(driver_a.running(), 1u);
  EXPECT_EQ(a.next_deadline(clock.now()), clock.now() + Millis(200));

  // At that time, one step() call ends it and sends CREDIT with the slot back.
  clock.advance(Millis(200));
  std::optional<protocol::Credit> credit;
  ASSERT_TRUE(serve_until(a, clock, [&] {
    credit = decode<protocol::Credit>(broker.next_work(Millis(0)));
    return credit.has_value();
  }));
  EXPECT_EQ(credit->session_id, "sa");
  EXPECT_EQ(credit->free_slots, 2u);
  EXPECT_EQ(driver_a.running(), 0u);
  // Nothing is due any more but the heartbeat, whose first one comes at an ID-given point of
  // the interval (agent/reconnect.h): maybe within the next 200 ms too.
  SteadyTime heartbeat = welcomed + first_heartbeat_delay(a_options.agent_id, Millis(10000));
  if (heartbeat <= clock.now())
    heartbeat += Millis(10000);
  SteadyTime next = a.next_deadline(clock.now());
  EXPECT_TRUE(next == heartbeat || next > clock.now() + Millis(200))
      << "something other than the heartbeat is due in "
      << std::chrono::duration_cast<Millis>(next - clock.now()).count() << " ms";
}

// --- batches: one step() handles what has arrived and sends what it decided ---

// One sim agent stepped on the test's thread, welcomed by a fake broker that announces the
// "batches" feature or not (an older broker).
class SimAgentBatchesTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kSlots = 3;
  // WELCOME's heartbeat: the agent gives up on a broker after 3 of them without a beacon.
  static constexpr int64_t kHeartbeatMs = 1000;

  ~SimAgentBatchesTest() override { loop_.reset(); }  // before the driver it calls

  // HELLO -> WELCOME (with or without batches) -> CREDIT, then waits until the agent's events
  // reach the broker (a heartbeat arrives), so no task state is lost to the slow joiner.
  void start(bool broker_batches) {
    AgentOptions options = sim_options(broker_, "sim-batches");
    options.slots = kSlots;
    loop_ = std::make_unique<AgentLoop>(options, driver_, clock_);
    ASSERT_TRUE(loop_->begin().is_ok());
    std::optional<Message> hello_message;
    ASSERT_TRUE(serve([&] {
      hello_message = broker_.next_work(Millis(0));
      return hello_message.has_value();
    }));
    hello_ = decode<protocol::Hello>(hello_message);
    ASSERT_TRUE(hello_.has_value());
    routing_ = hello_message->routing_id;
    protocol::Welcome welcome{"s1", "e1", kHeartbeatMs, {}};
    if (broker_batches)
      welcome.features = {std::string(protocol::kFeatureBatches)};
    broker_.send_work(routing_, welcome);
    ASSERT_TRUE(decode<protocol::Credit>(next_work()).has_value());
    bool connected = false;
    for (int i = 0; i < 100 && !connected; ++i) {
      clock_.advance(Millis(kHeartbeatMs));
      broker_.send_beacon("e1", kHeartbeatMs);
      ASSERT_TRUE(loop_->step(clock_.now()).is_ok());
      for (auto ev = broker_.next_event(Millis(100)); ev && !connected;
           ev = broker_.next_event(Millis(0)))
        connected = decode<protocol::AgentHeartbeat>(ev).has_value();
    }
    ASSERT_TRUE(connected);
  }

  // Steps the loop whenever one of its fds fires (or every 20 ms) until `done`.
  bool serve(const std::function<bool()>& done) { return serve_until(*loop_, clock_, done); }

  // The agent's next message on the work socket, stepping the loop until one arrives.
  std::optional<Message> next_work() {
    std::optional<Message> message;
    if (!serve([&] { return (message = broker_.next_work(Millis(0))).has_value(); }))
      ADD_FAILURE() << "no message from the agent";
    return message;
  }

  // The next task state event (TASK_STATE or TASK_STATE_BATCH), skipping heartbeats.
  std::optional<Message> next_state() {
    for (int i = 0; i < 50; ++i) {
      auto ev = broker_.next_event(Millis(100));
      if (ev && (ev->type == static_cast<uint8_t>(protocol::MessageType::TaskStateEvent) ||
                 ev->type == static_cast<uint8_t>(protocol::MessageType::TaskStateBatch)))
        return ev;
    }
    ADD_FAILURE() << "no task state from the agent";
    return std::nullopt;
  }

  template <typename M>
  void send(const M& message) {
    broker_.send_work(routing_, message);
  }

  ManualClock clock_;
  FakeBroker broker_;
  SimDriver driver_{clock_};
  std::unique_ptr<AgentLoop> loop_;
  std::optional<protocol::Hello> hello_;
  std::string routing_;
};

std::vector<std::string> task_ids(const std::vector<AttemptStatus>& statuses) {
  std::vector<std::string> ids;
  for (const auto& s : statuses)
    ids.push_back(s.task_id);
  return ids;
}

TEST_F(SimAgentBatchesTest, AnAssignBatchIsAcceptedInOneBatchAndItsStatesGoOutInOne) {
  start(/*broker_batches=*/true);
  EXPECT_EQ(hello_->features, (std::vector<std::string>{"batches", "beacon_slices"}));
  Task a = sim_task(500);
  Task b = sim_task(500);
  send(protocol::AssignBatch{{a, b}});

  auto accepted = decode<protocol::AcceptBatch>(next_work());
  ASSERT_TRUE(accepted.has_value()) << "one ACCEPT_BATCH for the ASSIGN_BATCH";
  EXPECT_EQ(accepted->session_id, "s1");
  EXPECT_EQ(accepted->attempts,
            (std::vector<protocol::AttemptRef>{{a.id, a.attempt}, {b.id, b.attempt}}));
  auto running = decode<protocol::TaskStateBatch>(next_state());
  ASSERT_TRUE(running.has_value()) << "both starts happened in one step";
  EXPECT_EQ(running->seq, 2u) << "the number of its last status: events 1 and 2";
  EXPECT_EQ(task_ids(running->statuses), (std::vector<std::string>{a.id, b.id}));
  EXPECT_EQ(running->statuses[0].state, TaskState::Running);
  EXPECT_EQ(running->statuses[1].state, TaskState::Running);
  EXPECT_EQ(driver_.running(), 2u);

  // Both end at the same clock time: one batch of two ends (events 3 and 4), then the CREDIT.
  clock_.advance(Millis(500));
  broker_.send_beacon("e1", kHeartbeatMs);
  auto credit = decode<protocol::Credit>(next_work());
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->free_slots, kSlots);
  auto ended = decode<protocol::TaskStateBatch>(next_state());
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->seq, 4u);
  // Ends due at the same time come in the driver's order, not the ASSIGN's.
  EXPECT_THAT(task_ids(ended->statuses), ::testing::UnorderedElementsAre(a.id, b.id));
  EXPECT_EQ(ended->statuses[0].state, TaskState::Completed);
  EXPECT_EQ(ended->statuses[1].state, TaskState::Completed);
}

// The broker's credit arithmetic counts on the agent answering every ASSIGN before its next
// CREDIT: a step that accepts and frees a slot sends the ACCEPT_BATCH first.
TEST_F(SimAgentBatchesTest, TheAcceptsOfAStepLeaveBeforeItsCredit) {
  start(/*broker_batches=*/true);
  Task runs = sim_task(0);    // until stopped
  Task fails = sim_task(-1);  // the sim driver refuses to start it: its slot is free again
  send(protocol::AssignBatch{{runs, fails}});
  auto accepted = decode<protocol::AcceptBatch>(next_work());
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(accepted->attempts.size(), 2u);
  auto credit = decode<protocol::Credit>(next_work());
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->free_slots, kSlots - 1);
  auto states = decode<protocol::TaskStateBatch>(next_state());
  ASSERT_TRUE(states.has_value());
  EXPECT_EQ(states->seq, 2u);
  ASSERT_EQ(states->statuses.size(), 2u);
  EXPECT_EQ(states->statuses[0].state, TaskState::Running);
  EXPECT_EQ(states->statuses[1].state, TaskState::Failed);
  EXPECT_NE(states->statuses[1].reason.find("negative"), std::string::npos);
}

TEST_F(SimAgentBatchesTest, EachTaskOfABatchIsAdmittedOnItsOwn) {
  start(/*broker_batches=*/true);
  Task first = sim_task(0);
  Task second = sim_task(0);
  Task third = sim_task(0);
  Task no_slot = sim_task(0);
  // The repeated task is accepted again and not started twice; the fourth task finds no slot:
  // the ACCEPTs before its REJECT leave first.
  send(protocol::AssignBatch{{first, first, second, third, no_slot}});
  auto accepted = decode<protocol::AcceptBatch>(next_work());
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(accepted->attempts, (std::vector<protocol::AttemptRef>{
                                    {first.id, 1}, {first.id, 1}, {second.id, 1}, {third.id, 1}}));
  auto rejected = decode<protocol::Reject>(next_work());
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->task_id, no_slot.id);
  EXPECT_EQ(rejected->reason, "no free slot");
  EXPECT_EQ(driver_.running(), 3u);
  auto running = decode<protocol::TaskStateBatch>(next_state());
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(task_ids(running->statuses), (std::vector<std::string>{first.id, second.id, third.id}));
}

TEST_F(SimAgentBatchesTest, AnEmptyOrMalformedAssignBatchIsDroppedAndServingGoesOn) {
  start(/*broker_batches=*/true);
  send(protocol::AssignBatch{});
  broker_.send_raw_work(routing_, protocol::MessageType::AssignBatch, "\x81\xa5tasks\x05");
  // Nothing answers them: the SNAPSHOT for this SYNC is the next message.
  send(protocol::Sync{"test"});
  ASSERT_TRUE(decode<protocol::Snapshot>(next_work()).has_value());
  Task task = sim_task(0);
  send(protocol::AssignBatch{{task}});
  auto accept = decode<protocol::Accept>(next_work());
  ASSERT_TRUE(accept.has_value()) << "a batch of one is answered with a plain ACCEPT";
  EXPECT_EQ(accept->task_id, task.id);
}

// A broker of an older release announces no features: every ACCEPT and every task state goes
// out as its own message, numbered as before.
TEST_F(SimAgentBatchesTest, ABrokerWithoutBatchesGetsSingleAcceptsAndTaskStates) {
  start(/*broker_batches=*/false);
  Task a = sim_task(0);
  Task b = sim_task(0);
  send(protocol::AssignBatch{{a, b}});
  auto accept_a = decode<protocol::Accept>(next_work());
  auto accept_b = decode<protocol::Accept>(next_work());
  ASSERT_TRUE(accept_a.has_value() && accept_b.has_value());
  EXPECT_EQ(accept_a->task_id, a.id);
  EXPECT_EQ(accept_b->task_id, b.id);
  auto running_a = decode<protocol::TaskStateEvent>(next_state());
  auto running_b = decode<protocol::TaskStateEvent>(next_state());
  ASSERT_TRUE(running_a.has_value() && running_b.has_value());
  EXPECT_EQ(running_a->seq, 1u);
  EXPECT_EQ(running_a->status.task_id, a.id);
  EXPECT_EQ(running_b->seq, 2u);
  EXPECT_EQ(running_b->status.task_id, b.id);
}

}  // namespace
}  // namespace cube::agent
