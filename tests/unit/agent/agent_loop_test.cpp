// AgentLoop against a fake broker made of real ZeroMQ sockets (ROUTER, SUB, PUB) bound on
// ephemeral loopback ports. The loop runs on its own thread with a ManualClock: its timers fire
// only when a test advances the clock, so nothing here depends on how fast the machine is.
// A BEACON (or any message) wakes the loop so that it notices an advanced clock at once.
#include "agent/agent_loop.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <condition_variable>
#include <map>
#include <optional>
#include <thread>

#include "agent/drivers/exec/exec_driver.h"
#include "common/ids.h"
#include "common/mutex.h"
#include "common/unique_fd.h"
#include "protocol/beacon_slices.h"
#include "protocol/zmq_io.h"
#include "tests/support/temp_dir.h"

namespace cube::agent {
namespace {

using protocol::MessageType;
constexpr Millis kWait{5000};

// --- a driver whose tasks end when the test says so ---

class FakeDriver final : public Driver {
 public:
  std::string_view name() const override { return kDriverExec; }

  Result<AttemptStatus> start(const Task& task) override {
    MutexLock lock(mu_);
    ++starts_[task.id];
    if (!task.cmd.empty() && task.cmd[0] == "missing")
      return Status::not_found("executable not found: missing");
    AttemptStatus s;
    s.task_id = task.id;
    s.attempt = task.attempt;
    s.state = TaskState::Running;
    s.start_time_ms = 1234;
    return s;
  }
  Status stop(const std::string& task_id, Millis grace) override {
    ExitSink sink;
    uint32_t attempt = 0;
    {
      MutexLock lock(mu_);
      stops_[task_id] = grace;
      sink = sink_;
      attempt = attempts_[task_id];
    }
    // SIGTERM ended it.
    sink(AttemptEnd{task_id, attempt, {TaskExit::Kind::Signaled, std::nullopt, 15, true, ""}, 0});
    return Status::ok();
  }
  Result<AttemptStatus> inspect(const std::string&) override { return Status::not_found("fake"); }
  Result<LogChunk> logs(const std::string&, int64_t, int64_t) override {
    return Status::not_found("fake");
  }
  Result<std::vector<AttemptStatus>> list_owned() override { return owned_; }
  void set_exit_sink(ExitSink sink) override {
    MutexLock lock(mu_);
    sink_ = std::move(sink);
  }

  // Ends a task as if its process exited with `exit_code`.
  void finish(const std::string& task_id, uint32_t attempt, int exit_code) {
    ExitSink sink;
    {
      MutexLock lock(mu_);
      sink = sink_;
    }
    sink(AttemptEnd{task_id, attempt, {TaskExit::Kind::Exited, exit_code, 0, false, ""}, 0});
  }
  int starts(const std::string& task_id) {
    MutexLock lock(mu_);
    return starts_[task_id];
  }
  std::optional<Millis> stop_grace(const std::string& task_id) {
    MutexLock lock(mu_);
    auto it = stops_.find(task_id);
    return it == stops_.end() ? std::nullopt : std::optional<Millis>(it->second);
  }
  void remember_attempt(const std::string& task_id, uint32_t attempt) {
    MutexLock lock(mu_);
    attempts_[task_id] = attempt;
  }

  std::vector<AttemptStatus> owned_;  // set before the loop is built

 private:
  Mutex mu_;
  ExitSink sink_ CUBE_GUARDED_BY(mu_);
  std::map<std::string, int> starts_ CUBE_GUARDED_BY(mu_);
  std::map<std::string, Millis> stops_ CUBE_GUARDED_BY(mu_);
  std::map<std::string, uint32_t> attempts_ CUBE_GUARDED_BY(mu_);
};

// --- the fake broker ---

struct WorkMessage {
  uint8_t type = 0;
  std::string body;
  std::string routing_id;
};

class FakeBroker {
 public:
  // Bound on ephemeral ports each (configure() points the agent at them), or, with
  // `at_base_port`, on BASE+1..BASE+3 of a free base port, as a real broker is: then
  // base_address() is the "127.0.0.1:BASE" a not_leader answer names.
  explicit FakeBroker(bool at_base_port = false)
      : router_(context_, zmq::socket_type::router),
        events_(context_, zmq::socket_type::sub),
        beacon_(context_, zmq::socket_type::pub) {
    protocol::apply_socket_defaults(router_, protocol::kMaxInboundMessageBytes);
    protocol::apply_socket_defaults(events_, protocol::kMaxInboundMessageBytes);
    protocol::apply_socket_defaults(beacon_, protocol::kMaxInboundMessageBytes);
    events_.set(zmq::sockopt::subscribe, "");
    if (!at_base_port) {
      router_.bind("tcp://127.0.0.1:*");
      events_.bind("tcp://127.0.0.1:*");
      beacon_.bind("tcp://127.0.0.1:*");
      return;
    }
    // Three consecutive free ports: ask the kernel for one, try the next two, else again.
    for (int tries = 0; tries < 50 && base_port_ == 0; ++tries) {
      router_.bind("tcp://127.0.0.1:*");
      std::string work = router_.get(zmq::sockopt::last_endpoint);
      int port = std::stoi(work.substr(work.rfind(':') + 1));
      try {
        events_.bind("tcp://127.0.0.1:" + std::to_string(port + 1));
        try {
          beacon_.bind("tcp://127.0.0.1:" + std::to_string(port + 2));
          base_port_ = port - 1;
        } catch (const zmq::error_t&) {
          events_.unbind("tcp://127.0.0.1:" + std::to_string(port + 1));
          router_.unbind(work);
        }
      } catch (const zmq::error_t&) {
        router_.unbind(work);
      }
    }
  }

  std::string base_address() const { return "127.0.0.1:" + std::to_string(base_port_); }

  void configure(AgentOptions& o) {
    o.work_endpoint_override = router_.get(zmq::sockopt::last_endpoint);
    o.events_endpoint_override = events_.get(zmq::sockopt::last_endpoint);
    o.beacon_endpoint_override = beacon_.get(zmq::sockopt::last_endpoint);
  }

  // The next message on the work ROUTER, waiting up to `timeout`.
  std::optional<WorkMessage> next_work(Millis timeout = kWait) {
    auto msg = receive(router_, 1, timeout);
    if (msg)
      last_routing_id_ = msg->routing_id;
    return msg;
  }

  // The next work message, which must be an M.
  template <typename M>
  std::optional<M> expect_work(Millis timeout = kWait) {
    auto msg = next_work(timeout);
    if (!msg) {
      ADD_FAILURE() << "no " << protocol::message_type_name(static_cast<uint8_t>(kType<M>))
                    << " from the agent";
      return std::nullopt;
    }
    if (msg->type != static_cast<uint8_t>(kType<M>)) {
      ADD_FAILURE() << "expected " << protocol::message_type_name(static_cast<uint8_t>(kType<M>))
                    << ", got " << protocol::message_type_name(msg->type);
      return std::nullopt;
    }
    auto decoded = protocol::decode_as<M>(msg->body);
    if (!decoded.is_ok()) {
      ADD_FAILURE() << decoded.status().to_string();
      return std::nullopt;
    }
    return std::move(*decoded);
  }

  // The next event of type M on the events SUB, skipping other event types.
  template <typename M>
  std::optional<M> next_event(Millis timeout = kWait) {
    const Clock& clock = system_clock();
    auto deadline = clock.now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<Millis>(deadline - clock.now());
      if (left.count() < 0)
        return std::nullopt;
      auto msg = receive(events_, 0, left);
      if (!msg)
        return std::nullopt;
      if (msg->type != static_cast<uint8_t>(kType<M>))
        continue;
      auto decoded = protocol::decode_as<M>(msg->body);
      if (!decoded.is_ok()) {
        ADD_FAILURE() << decoded.status().to_string();
        return std::nullopt;
      }
      return std::move(*decoded);
    }
  }

  // The next message on the events SUB, whatever its type.
  std::optional<WorkMessage> next_any_event(Millis timeout = kWait) {
    return receive(events_, 0, timeout);
  }

  template <typename M>
  void send_work(const M& message) {
    zmq::message_t routing(last_routing_id_.data(), last_routing_id_.size());
    std::vector<zmq::message_t> frames;
    frames.push_back(std::move(routing));
    Status s = protocol::send(router_, frames, message);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }

  // Plain, or to the agents of `slice` (protocol/beacon_slices.h).
  void send_beacon(const std::string& epoch, int64_t heartbeat_ms = 100,
                   std::optional<int> slice = std::nullopt) {
    std::vector<zmq::message_t> topic;
    if (slice)
      topic.emplace_back(protocol::beacon_topic(*slice));
    Status s = protocol::send(beacon_, topic, protocol::Beacon{epoch, heartbeat_ms});
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }

  const std::string& last_routing_id() const { return last_routing_id_; }

 private:
  template <typename M>
  static constexpr MessageType kType = protocol::MessageTraits<M>::kType;

  static std::optional<WorkMessage> receive(zmq::socket_t& socket, size_t routing, Millis timeout) {
    zmq_pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) <= 0)
      return std::nullopt;
    Status error;
    auto msg = protocol::receive(socket, routing, &error);
    if (!msg || !error.is_ok()) {
      ADD_FAILURE() << "bad message from the agent: " << error.to_string();
      return std::nullopt;
    }
    WorkMessage out;
    out.type = msg->type;
    out.body = std::string(msg->body);
    if (routing > 0)
      out.routing_id = msg->frames[0].to_string();
    return out;
  }

  zmq::context_t context_{1};
  zmq::socket_t router_;
  zmq::socket_t events_;
  zmq::socket_t beacon_;
  std::string last_routing_id_;
  int base_port_ = 0;
};

// --- the loop on its own thread ---

class AgentLoopTest : public ::testing::Test {
 protected:
  AgentLoopTest() : stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    options_.agent_id = new_random_id();
    options_.name = "node-a";
    options_.slots = 2;
    options_.data_dir = dir_.path();
    options_.heartbeat = Millis(100);
    options_.stop_grace = Millis(7000);
    options_.welcome_timeout = Millis(3000);
    options_.labels = {{"zone", "a"}};
    broker_.configure(options_);
  }
  ~AgentLoopTest() override { stop_loop(); }

  // Stops the loop when it goes out of scope. A test that runs the loop on a driver of its own
  // keeps this next to that driver, so the loop stops before the driver is destroyed (locals
  // die in reverse order, also when an ASSERT returns early).
  struct LoopStopper {
    AgentLoopTest& test;
    ~LoopStopper() { test.stop_loop(); }
  };

  void start_loop_on(Driver& driver) {
    loop_ = std::make_unique<AgentLoop>(options_, driver, clock_);
    thread_ = std::thread([this] { result_ = loop_->run(stop_fd_.get()); });
  }
  [[nodiscard]] LoopStopper start_loop(Driver& driver) {
    start_loop_on(driver);
    return LoopStopper{*this};
  }
  void start_loop() { start_loop_on(driver_); }

  void stop_loop() {
    if (!thread_.joinable())
      return;
    uint64_t one = 1;
    ASSERT_EQ(::write(stop_fd_.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
    thread_.join();
    EXPECT_TRUE(result_.is_ok()) << result_.to_string();
    loop_.reset();
  }

  // HELLO -> WELCOME -> CREDIT. Returns the HELLO. Without `features` the WELCOME is that of a
  // broker released before batches.
  protocol::Hello welcome(const std::string& session = "s1", const std::string& epoch = "e1",
                          std::vector<std::string> features = {}) {
    auto hello = broker_.expect_work<protocol::Hello>();
    EXPECT_TRUE(hello.has_value());
    broker_.send_work(protocol::Welcome{session, epoch, 100, std::move(features)});
    auto credit = broker_.expect_work<protocol::Credit>();
    EXPECT_TRUE(credit.has_value());
    if (credit) {
      EXPECT_EQ(credit->session_id, session);
      EXPECT_EQ(credit->free_slots, options_.slots);
    }
    return hello.value_or(protocol::Hello{});
  }

  // Advances the loop's clock by one heartbeat (with a beacon, which keeps the broker alive in
  // the agent's eyes and wakes the loop) until an AGENT_HEARTBEAT arrives: then the events
  // PUB/SUB pair is connected and subscribed, and no TASK_STATE is lost to the slow joiner.
  std::optional<protocol::AgentHeartbeat> heartbeat(const std::string& epoch = "e1") {
    for (int i = 0; i < 100; ++i) {
      clock_.advance(Millis(100));
      broker_.send_beacon(epoch);
      auto hb = broker_.next_event<protocol::AgentHeartbeat>(Millis(200));
      if (hb)
        return hb;
    }
    ADD_FAILURE() << "no AGENT_HEARTBEAT";
    return std::nullopt;
  }

  // A Running attempt the driver already owns when the loop is built (call before start_loop).
  AttemptStatus own_running_attempt(uint32_t attempt) {
    AttemptStatus owned;
    owned.task_id = new_random_id();
    owned.attempt = attempt;
    owned.state = TaskState::Running;
    driver_.owned_ = {owned};
    return owned;
  }

  Task exec_task(uint32_t attempt = 1, std::vector<std::string> cmd = {"sleep", "300"}) {
    Task t;
    t.id = new_random_id();
    t.driver = "exec";
    t.attempt = attempt;
    t.cmd = std::move(cmd);
    return t;
  }

  test::TempDir dir_;
  ManualClock clock_;
  FakeBroker broker_;
  FakeDriver driver_;
  AgentOptions options_;
  UniqueFd stop_fd_;
  std::unique_ptr<AgentLoop> loop_;
  std::thread thread_;
  Status result_;
};

TEST_F(AgentLoopTest, HelloCarriesTheAgentsIdentityAndCapacity) {
  start_loop();
  auto hello = broker_.expect_work<protocol::Hello>();
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->agent_id, options_.agent_id);
  EXPECT_EQ(hello->name, "node-a");
  EXPECT_EQ(hello->version, "0.1.0");
  EXPECT_EQ(hello->drivers, std::vector<std::string>{"exec"});
  EXPECT_GE(hello->capacity.cpu, 1.0);
  EXPECT_GT(hello->capacity.memory_bytes, 0);
  EXPECT_GT(hello->capacity.disk_bytes, 0);
  EXPECT_EQ(hello->capacity.slots, 2u);
  EXPECT_EQ(hello->labels, (std::map<std::string, std::string>{{"zone", "a"}}));
  EXPECT_EQ(hello->seq, 0u);
  EXPECT_TRUE(hello->tasks.empty());
  EXPECT_EQ(hello->features, (std::vector<std::string>{"batches", "beacon_slices"}));
}

// Starts on the worker pool report back in any grouping: however the Running states are
// batched, they carry the numbers 1 and 2 once each; the ACCEPTs of one ASSIGN_BATCH are one
// ACCEPT_BATCH, and the ends come before the CREDIT that frees their slots.
TEST_F(AgentLoopTest, ABatchBrokerGetsOneAcceptBatchAndEveryStateNumberedOnce) {
  start_loop();
  welcome("s1", "e1", {"batches"});
  ASSERT_TRUE(heartbeat().has_value());
  Task a = exec_task();
  Task b = exec_task();
  driver_.remember_attempt(a.id, 1);
  driver_.remember_attempt(b.id, 1);
  broker_.send_work(protocol::AssignBatch{{a, b}});
  auto accepted = broker_.expect_work<protocol::AcceptBatch>();
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(accepted->attempts, (std::vector<protocol::AttemptRef>{{a.id, 1}, {b.id, 1}}));

  // Every state, single or batched, as (seq, task, state).
  std::map<uint64_t, std::pair<std::string, TaskState>> states;
  auto collect_until = [&](size_t count) {
    while (states.size() < count) {
      auto event = broker_.next_any_event();
      if (!event)
        return false;
      protocol::TaskStateBatch batch;
      if (event->type == static_cast<uint8_t>(MessageType::TaskStateEvent)) {
        auto single = protocol::decode_as<protocol::TaskStateEvent>(event->body);
        EXPECT_TRUE(single.is_ok());
        batch = {single->agent_id, single->session_id, single->seq, {single->status}};
      } else if (event->type == static_cast<uint8_t>(MessageType::TaskStateBatch)) {
        auto decoded = protocol::decode_as<protocol::TaskStateBatch>(event->body);
        EXPECT_TRUE(decoded.is_ok());
        batch = *decoded;
      }
      for (size_t i = 0; i < batch.statuses.size(); ++i) {
        uint64_t seq = batch.seq - (batch.statuses.size() - 1 - i);
        EXPECT_FALSE(states.contains(seq)) << "seq " << seq << " twice";
        states[seq] = {batch.statuses[i].task_id, batch.statuses[i].state};
      }
    }
    return true;
  };
  ASSERT_TRUE(collect_until(2));
  EXPECT_EQ(states[1].second, TaskState::Running);
  EXPECT_EQ(states[2].second, TaskState::Running);
  EXPECT_NE(states[1].first, states[2].first);

  driver_.finish(a.id, 1, 0);
  driver_.finish(b.id, 1, 3);
  ASSERT_TRUE(collect_until(4));
  EXPECT_EQ(states.rbegin()->first, 4u);
  std::map<std::string, TaskState> ended{states[3], states[4]};
  EXPECT_EQ(ended[a.id], TaskState::Completed);
  EXPECT_EQ(ended[b.id], TaskState::Failed);
  // CREDITs follow the ends (one per step that freed a slot); the last one frees both.
  std::optional<protocol::Credit> credit;
  while (!credit || credit->free_slots < 2) {
    credit = broker_.expect_work<protocol::Credit>();
    ASSERT_TRUE(credit.has_value());
  }
}

TEST_F(AgentLoopTest, WelcomeIsAnsweredWithCreditAndHeartbeatsFollow) {
  start_loop();
  welcome();
  auto hb = heartbeat();
  ASSERT_TRUE(hb.has_value());
  EXPECT_EQ(hb->agent_id, options_.agent_id);
  EXPECT_EQ(hb->session_id, "s1");
  EXPECT_EQ(hb->seq, 0u);
  EXPECT_EQ(hb->running, 0u);
  EXPECT_EQ(hb->free_slots, 2u);
}

TEST_F(AgentLoopTest, AssignIsAcceptedThenRunningThenCompletedWithSequenceNumbers) {
  start_loop();
  welcome();
  ASSERT_TRUE(heartbeat().has_value());
  Task t = exec_task(3);
  broker_.send_work(protocol::Assign{t});
  auto accept = broker_.expect_work<protocol::Accept>();
  ASSERT_TRUE(accept.has_value());
  EXPECT_EQ(accept->session_id, "s1");
  EXPECT_EQ(accept->task_id, t.id);
  EXPECT_EQ(accept->attempt, 3u);

  auto running = broker_.next_event<protocol::TaskStateEvent>();
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->seq, 1u);
  EXPECT_EQ(running->agent_id, options_.agent_id);
  EXPECT_EQ(running->session_id, "s1");
  EXPECT_EQ(running->status.task_id, t.id);
  EXPECT_EQ(running->status.attempt, 3u);
  EXPECT_EQ(running->status.state, TaskState::Running);
  EXPECT_EQ(running->status.start_time_ms, 1234);

  driver_.finish(t.id, 3, 0);
  auto completed = broker_.next_event<protocol::TaskStateEvent>();
  ASSERT_TRUE(completed.has_value());
  EXPECT_EQ(completed->seq, 2u);
  EXPECT_EQ(completed->status.state, TaskState::Completed);
  EXPECT_EQ(completed->status.exit_code, 0);
  EXPECT_EQ(completed->status.reason, "exit code 0") << "the agent's verdict, kept by the broker";
  EXPECT_EQ(completed->status.start_time_ms, 1234) << "the final status keeps what Running had";
  auto credit = broker_.expect_work<protocol::Credit>();
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->free_slots, 2u);
  EXPECT_EQ(driver_.starts(t.id), 1);

  auto hb = heartbeat();
  ASSERT_TRUE(hb.has_value());
  EXPECT_EQ(hb->seq, 2u) << "a heartbeat repeats the last seq";
}

TEST_F(AgentLoopTest, RepeatedAssignIsAcceptedAgainAndNotStartedTwice) {
  start_loop();
  welcome();
  Task t = exec_task(1);
  broker_.send_work(protocol::Assign{t});
  ASSERT_TRUE(broker_.expect_work<protocol::Accept>().has_value());
  broker_.send_work(protocol::Assign{t});
  auto again = broker_.expect_work<protocol::Accept>();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->task_id, t.id);
  // The SNAPSHOT answer proves that the loop handled both ASSIGNs; one attempt is known.
  broker_.send_work(protocol::Sync{"test"});
  auto snap = broker_.expect_work<protocol::Snapshot>();
  ASSERT_TRUE(snap.has_value());
  ASSERT_EQ(snap->tasks.size(), 1u);
  EXPECT_LE(driver_.starts(t.id), 1);
}

TEST_F(AgentLoopTest, AssignBeyondTheSlotsOrForAnotherDriverIsRejected) {
  start_loop();
  welcome();
  Task a = exec_task(), b = exec_task(), c = exec_task();
  broker_.send_work(protocol::Assign{a});
  ASSERT_TRUE(broker_.expect_work<protocol::Accept>().has_value());
  broker_.send_work(protocol::Assign{b});
  ASSERT_TRUE(broker_.expect_work<protocol::Accept>().has_value());
  broker_.send_work(protocol::Assign{c});
  auto reject = broker_.expect_work<protocol::Reject>();
  ASSERT_TRUE(reject.has_value());
  EXPECT_EQ(reject->session_id, "s1");
  EXPECT_EQ(reject->task_id, c.id);
  EXPECT_EQ(reject->attempt, 1u);
  EXPECT_EQ(reject->reason, "no free slot");

  Task docker = exec_task();
  docker.driver = "docker";
  broker_.send_work(protocol::Assign{docker});
  reject = broker_.expect_work<protocol::Reject>();
  ASSERT_TRUE(reject.has_value());
  EXPECT_EQ(reject->reason, "driver docker not offered by this agent");
  Task default_driver = exec_task();
  default_driver.driver = "";
  broker_.send_work(protocol::Assign{default_driver});
  reject = broker_.expect_work<protocol::Reject>();
  ASSERT_TRUE(reject.has_value());
  EXPECT_EQ(reject->reason, "driver docker not offered by this agent") << "\"\" means docker";
}

TEST_F(AgentLoopTest, StartFailureIsReportedAsFailedAndTheSlotComesBack) {
  start_loop();
  welcome();
  ASSERT_TRUE(heartbeat().has_value());
  Task t = exec_task(1, {"missing"});
  broker_.send_work(protocol::Assign{t});
  ASSERT_TRUE(broker_.expect_work<protocol::Accept>().has_value()) << "ACCEPT before starting";
  auto failed = broker_.next_event<protocol::TaskStateEvent>();
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->seq, 1u);
  EXPECT_EQ(failed->status.state, TaskState::Failed);
  EXPECT_EQ(failed->status.reason, "executable not found: missing");
  EXPECT_FALSE(failed->status.exit_code.has_value());
  auto credit = broker_.expect_work<protocol::Credit>();
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->free_slots, 2u);
}

TEST_F(AgentLoopTest, StopUsesTheGraceAndReportsCompletedWithTheReason) {
  start_loop();
  welcome();
  ASSERT_TRUE(heartbeat().has_value());
  Task t = exec_task(2);
  driver_.remember_attempt(t.id, 2);
  broker_.send_work(protocol::Assign{t});
  ASSERT_TRUE(broker_.expect_work<protocol::Accept>().has_value());
  auto running = broker_.next_event<protocol::TaskStateEvent>();
  ASSERT_TRUE(running.has_value());
  ASSERT_EQ(running->status.state, TaskState::Running);

  // A STOP for an unknown task is ignored; the one for attempt 0 ("any") stops ours.
  broker_.send_work(protocol::Stop{"unknown-task", 0, 1000, "stopped"});
  broker_.send_work(protocol::Stop{t.id, 0, 1500, "user asked"});
  auto stopped = broker_.next_event<protocol::TaskStateEvent>();
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(stopped->seq, 2u);
  EXPECT_EQ(stopped->status.state, TaskState::Completed);
  EXPECT_EQ(stopped->status.reason, "user asked");
  EXPECT_EQ(stopped->status.exit_code, 143);
  EXPECT_EQ(driver_.stop_grace(t.id), Millis(1500));
  EXPECT_FALSE(driver_.stop_grace("unknown-task").has_value());
  auto credit = broker_.expect_work<protocol::Credit>();
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->free_slots, 2u);
}

TEST_F(AgentLoopTest, SyncIsAnsweredWithASnapshotAsOfTheLastSeq) {
  start_loop();
  welcome();
  ASSERT_TRUE(heartbeat().has_value());
  Task t = exec_task(1);
  broker_.send_work(protocol::Assign{t});
  ASSERT_TRUE(broker_.expect_work<protocol::Accept>().has_value());
  ASSERT_TRUE(broker_.next_event<protocol::TaskStateEvent>().has_value());
  broker_.send_work(protocol::Sync{"gap"});
  auto snap = broker_.expect_work<protocol::Snapshot>();
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->session_id, "s1");
  EXPECT_EQ(snap->seq, 1u);
  ASSERT_EQ(snap->tasks.size(), 1u);
  EXPECT_EQ(snap->tasks[0].task_id, t.id);
  EXPECT_EQ(snap->tasks[0].state, TaskState::Running);
}

TEST_F(AgentLoopTest, NewBeaconEpochTriggersANewHelloWithTheTasks) {
  start_loop();
  welcome();
  ASSERT_TRUE(heartbeat().has_value());
  Task t = exec_task(1);
  broker_.send_work(protocol::Assign{t});
  ASSERT_TRUE(broker_.expect_work<protocol::Accept>().has_value());
  ASSERT_TRUE(broker_.next_event<protocol::TaskStateEvent>().has_value());

  std::optional<WorkMessage> msg;
  for (int i = 0; i < 50 && !msg; ++i) {
    broker_.send_beacon("e2-restarted");
    msg = broker_.next_work(Millis(100));
  }
  ASSERT_TRUE(msg.has_value()) << "no HELLO after the broker epoch changed";
  ASSERT_EQ(msg->type, static_cast<uint8_t>(MessageType::Hello));
  auto hello = protocol::decode_as<protocol::Hello>(msg->body);
  ASSERT_TRUE(hello.is_ok());
  EXPECT_EQ(hello->seq, 1u);
  ASSERT_EQ(hello->tasks.size(), 1u);
  EXPECT_EQ(hello->tasks[0].task_id, t.id);
  EXPECT_EQ(hello->tasks[0].state, TaskState::Running);

  // Until the new WELCOME, the old session is gone: ASSIGNs are not answered.
  broker_.send_work(protocol::Welcome{"s2", "e2-restarted", 100});
  auto credit = broker_.expect_work<protocol::Credit>();
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->session_id, "s2");
  EXPECT_EQ(credit->free_slots, 1u);
}

TEST_F(AgentLoopTest, TheAgentHearsItsOwnBeaconSliceAndNoOther) {
  start_loop();
  welcome();
  ASSERT_TRUE(heartbeat().has_value());
  const int own = protocol::beacon_slice_of(options_.agent_id);
  const int other = (own + 1) % protocol::kBeaconSlices;
  // Another slice's beacon, with an epoch that would make the agent say HELLO again, is not
  // delivered: the subscription filters it out.
  for (int i = 0; i < 5; ++i) {
    broker_.send_beacon("e2-other-slice", 100, other);
    auto msg = broker_.next_work(Millis(100));
    ASSERT_FALSE(msg && msg->type == static_cast<uint8_t>(MessageType::Hello))
        << "the agent acted on another slice's beacon";
  }
  std::optional<WorkMessage> msg;
  for (int i = 0; i < 50 && !msg; ++i) {
    broker_.send_beacon("e2-own-slice", 100, own);
    msg = broker_.next_work(Millis(100));
  }
  ASSERT_TRUE(msg.has_value()) << "no HELLO after its slice's beacon named a new epoch";
  EXPECT_EQ(msg->type, static_cast<uint8_t>(MessageType::Hello));
}

TEST_F(AgentLoopTest, UnauthorizedErrorTriggersANewHello) {
  start_loop();
  welcome();
  broker_.send_work(protocol::ErrorMessage{ErrorCode::Unauthorized, "no session: send HELLO"});
  auto hello = broker_.expect_work<protocol::Hello>();
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->agent_id, options_.agent_id);
}

TEST_F(AgentLoopTest, MissingBeaconsMeanTheBrokerIsGone) {
  start_loop();
  auto first = broker_.expect_work<protocol::Hello>();
  ASSERT_TRUE(first.has_value());
  std::string first_routing = broker_.last_routing_id();
  broker_.send_work(protocol::Welcome{"s1", "e1", 100});
  ASSERT_TRUE(broker_.expect_work<protocol::Credit>().has_value());
  // 3 beacon intervals without a beacon. A SYNC wakes the loop without counting as a beacon;
  // the loop may also wake by itself first, so its SNAPSHOT may or may not come before the
  // HELLO (after the HELLO it cannot: the SYNC went to the old socket).
  clock_.advance(Millis(300));
  broker_.send_work(protocol::Sync{"wake up"});
  auto msg = broker_.next_work();
  if (msg && msg->type == static_cast<uint8_t>(MessageType::Snapshot))
    msg = broker_.next_work();
  ASSERT_TRUE(msg.has_value()) << "no HELLO after the beacons stopped";
  EXPECT_EQ(msg->type, static_cast<uint8_t>(MessageType::Hello));
  EXPECT_NE(broker_.last_routing_id(), first_routing) << "the DEALER was recreated";
}

TEST_F(AgentLoopTest, NotLeaderSendsTheAgentToTheNamedLeaderWithItsTasks) {
  FakeBroker leader(/*at_base_port=*/true);
  ASSERT_FALSE(leader.base_address().ends_with(":0")) << "no three consecutive free ports";
  AttemptStatus owned = own_running_attempt(3);
  start_loop();
  auto hello = broker_.expect_work<protocol::Hello>();
  ASSERT_TRUE(hello.has_value());
  ASSERT_EQ(hello->tasks.size(), 1u);

  // A standby: the agent goes to the leader it names at once, with the same task list.
  broker_.send_work(protocol::ErrorMessage{ErrorCode::Unavailable,
                                           "not_leader: leader is " + leader.base_address()});
  auto redirected = leader.expect_work<protocol::Hello>();
  ASSERT_TRUE(redirected.has_value()) << "no HELLO at the leader's work port";
  EXPECT_EQ(redirected->agent_id, options_.agent_id);
  ASSERT_EQ(redirected->tasks.size(), 1u);
  EXPECT_EQ(redirected->tasks[0], owned);
  EXPECT_EQ(redirected->seq, hello->seq);
  leader.send_work(protocol::Welcome{"s-leader", "e-leader", 100});
  auto credit = leader.expect_work<protocol::Credit>();
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->session_id, "s-leader");
  EXPECT_EQ(driver_.starts(owned.task_id), 0) << "nothing was started again";
}

TEST_F(AgentLoopTest, NoWelcomeMeansRetryOnAFreshSocketWithBackoff) {
  options_.welcome_timeout = Millis(200);
  start_loop();
  ASSERT_TRUE(broker_.expect_work<protocol::Hello>().has_value());
  std::string first_routing = broker_.last_routing_id();

  // The WELCOME timeout passes: the agent gives up on this socket and backs off (at most 1 s).
  clock_.advance(Millis(200));
  broker_.send_beacon("e1");
  EXPECT_FALSE(broker_.next_work(Millis(300)).has_value()) << "no retry before the backoff";
  clock_.advance(Millis(1000));
  std::optional<WorkMessage> retry;
  for (int i = 0; i < 50 && !retry; ++i) {
    broker_.send_beacon("e1");
    retry = broker_.next_work(Millis(100));
  }
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->type, static_cast<uint8_t>(MessageType::Hello));
  EXPECT_NE(broker_.last_routing_id(), first_routing) << "Lazy Pirate: a fresh DEALER";

  broker_.send_work(protocol::Welcome{"s1", "e1", 100});
  auto credit = broker_.expect_work<protocol::Credit>();
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->session_id, "s1");
}

TEST_F(AgentLoopTest, TasksTheDriverAlreadyOwnsAreReportedInHello) {
  AttemptStatus owned = own_running_attempt(4);
  start_loop();
  auto hello = broker_.expect_work<protocol::Hello>();
  ASSERT_TRUE(hello.has_value());
  ASSERT_EQ(hello->tasks.size(), 1u);
  EXPECT_EQ(hello->tasks[0], owned);
  broker_.send_work(protocol::Welcome{"s1", "e1", 100});
  auto credit = broker_.expect_work<protocol::Credit>();
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->free_slots, 1u) << "the adopted task holds a slot";
}

TEST_F(AgentLoopTest, RealExecDriverEndToEnd) {
  ExecDriver exec(dir_.path(), clock_, CUBE_AGENT_BINARY);
  LoopStopper stopper = start_loop(exec);
  welcome();
  ASSERT_TRUE(heartbeat().has_value());
  Task t = exec_task(1, {"sh", "-c", "echo hello; exit 0"});
  broker_.send_work(protocol::Assign{t});
  ASSERT_TRUE(broker_.expect_work<protocol::Accept>().has_value());
  auto running = broker_.next_event<protocol::TaskStateEvent>();
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->seq, 1u);
  EXPECT_EQ(running->status.state, TaskState::Running) << "Running comes first, even for a "
                                                          "task that exits at once";
  auto completed = broker_.next_event<protocol::TaskStateEvent>();
  ASSERT_TRUE(completed.has_value());
  EXPECT_EQ(completed->seq, 2u);
  EXPECT_EQ(completed->status.state, TaskState::Completed);
  EXPECT_EQ(completed->status.exit_code, 0);
  auto credit = broker_.expect_work<protocol::Credit>();
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->free_slots, 2u);
  auto log = exec.logs(t.id, 0, 100);
  ASSERT_TRUE(log.is_ok());
  EXPECT_EQ(log->data, "hello\n");
  stop_loop();  // before `exec` goes away
}

// --- logs and the driver's backend ---

TEST_F(AgentLoopTest, LogsFetchIsAnsweredWithTheTasksOutput) {
  ExecDriver exec(dir_.path(), clock_, CUBE_AGENT_BINARY);
  LoopStopper stopper = start_loop(exec);
  welcome();
  ASSERT_TRUE(heartbeat().has_value());
  Task t = exec_task(1, {"sh", "-c", "echo one; echo two; echo three"});
  broker_.send_work(protocol::Assign{t});
  ASSERT_TRUE(broker_.expect_work<protocol::Accept>().has_value());
  ASSERT_TRUE(broker_.next_event<protocol::TaskStateEvent>().has_value());  // Running
  auto completed = broker_.next_event<protocol::TaskStateEvent>();
  ASSERT_TRUE(completed.has_value());
  ASSERT_EQ(completed->status.state, TaskState::Completed);
  ASSERT_TRUE(broker_.expect_work<protocol::Credit>().has_value());

  broker_.send_work(protocol::LogsFetch{77, t.id, 1, 0, 0, 0});
  auto data = broker_.expect_work<protocol::LogsData>();
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(data->fetch_id, 77u);
  EXPECT_EQ(data->error_code, ErrorCode::Ok) << data->error_message;
  EXPECT_EQ(data->data, "one\ntwo\nthree\n");
  EXPECT_EQ(data->next_offset, 14);
  EXPECT_TRUE(data->eof);

  broker_.send_work(protocol::LogsFetch{78, t.id, 1, 0, 0, 1});
  auto tail = broker_.expect_work<protocol::LogsData>();
  ASSERT_TRUE(tail.has_value());
  EXPECT_EQ(tail->fetch_id, 78u);
  EXPECT_EQ(tail->data, "three\n");

  broker_.send_work(protocol::LogsFetch{79, "no-such-task", 1, 0, 0, 0});
  auto missing = broker_.expect_work<protocol::LogsData>();
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->fetch_id, 79u);
  EXPECT_EQ(missing->error_code, ErrorCode::NotFound);
  EXPECT_EQ(missing->error_message.rfind("agent node-a: ", 0), 0u) << missing->error_message;
  EXPECT_TRUE(missing->data.empty());
  stop_loop();  // before `exec` goes away
}

// A driver whose backend can be switched off and on, like dockerd going away and coming back.
class BackendDriver final : public Driver {
 public:
  std::string_view name() const override { return kDriverDocker; }
  Result<AttemptStatus> start(const Task& task) override {
    AttemptStatus s;
    s.task_id = task.id;
    s.attempt = task.attempt;
    s.state = TaskState::Running;
    return s;
  }
  Status stop(const std::string&, Millis) override { return Status::ok(); }
  Result<AttemptStatus> inspect(const std::string&) override { return Status::not_found("fake"); }
  Result<LogChunk> logs(const std::string&, int64_t, int64_t) override {
    return Status::not_found("fake");
  }
  Result<std::vector<AttemptStatus>> list_owned() override {
    MutexLock lock(mu_);
    ++listings_;
    if (!backend_.is_ok())
      return backend_;
    return std::vector<AttemptStatus>{};
  }
  Status check_backend() override {
    MutexLock lock(mu_);
    return backend_;
  }
  void set_exit_sink(ExitSink) override {}

  void set_backend(Status s) {
    MutexLock lock(mu_);
    backend_ = std::move(s);
  }
  int listings() {
    MutexLock lock(mu_);
    return listings_;
  }

 private:
  Mutex mu_;
  Status backend_ CUBE_GUARDED_BY(mu_);
  int listings_ CUBE_GUARDED_BY(mu_) = 0;
};

TEST_F(AgentLoopTest, AnUnreachableBackendRejectsTasksUntilItAnswersAgain) {
  const Status down = Status::unavailable(
      "dockerd unreachable at /var/run/docker.sock: Couldn't connect to server");
  BackendDriver driver;
  driver.set_backend(down);
  LoopStopper stopper = start_loop(driver);
  protocol::Hello hello = welcome();
  EXPECT_EQ(hello.labels.at(std::string(kLabelDriverError)), down.message())
      << "the node shows why it takes no tasks";
  EXPECT_EQ(hello.labels.at("zone"), "a");

  Task t;
  t.id = new_random_id();
  t.attempt = 1;
  t.image = "cube/busybox:latest";
  broker_.send_work(protocol::Assign{t});
  auto reject = broker_.expect_work<protocol::Reject>();
  ASSERT_TRUE(reject.has_value());
  EXPECT_EQ(reject->task_id, t.id);
  EXPECT_EQ(reject->reason, down.message());

  // dockerd comes back: the next check (within the unhealthy interval) notices, the agent says
  // HELLO again without the label, and lists the containers it could not list at start.
  driver.set_backend(Status::ok());
  std::optional<protocol::Hello> again;
  for (int i = 0; i < 60 && !again; ++i) {
    clock_.advance(Millis(100));
    broker_.send_beacon("e1");
    auto msg = broker_.next_work(Millis(100));
    if (msg && msg->type == static_cast<uint8_t>(MessageType::Hello)) {
      auto decoded = protocol::decode_as<protocol::Hello>(msg->body);
      ASSERT_TRUE(decoded.is_ok());
      again = *decoded;
    }
  }
  ASSERT_TRUE(again.has_value()) << "no new HELLO after the backend recovered";
  EXPECT_EQ(again->labels.count(std::string(kLabelDriverError)), 0u);
  broker_.send_work(protocol::Welcome{"s2", "e1", 100});
  ASSERT_TRUE(broker_.expect_work<protocol::Credit>().has_value());

  Task t2 = t;
  t2.attempt = 2;
  broker_.send_work(protocol::Assign{t2});
  auto accept = broker_.expect_work<protocol::Accept>();
  ASSERT_TRUE(accept.has_value());
  EXPECT_EQ(accept->attempt, 2u);
  stop_loop();
  EXPECT_GE(driver.listings(), 2) << "list_owned failed at start and was tried again";
}

// --- NODE_STATS ---

// The fake driver, plus usage for every task it runs.
class UsageReportingDriver final : public Driver {
 public:
  explicit UsageReportingDriver(FakeDriver& inner) : inner_(inner) {}
  std::string_view name() const override { return inner_.name(); }
  Result<AttemptStatus> start(const Task& task) override { return inner_.start(task); }
  Status stop(const std::string& id, Millis grace) override { return inner_.stop(id, grace); }
  Result<AttemptStatus> inspect(const std::string& id) override { return inner_.inspect(id); }
  Result<LogChunk> logs(const std::string& id, int64_t offset, int64_t max_bytes) override {
    return inner_.logs(id, offset, max_bytes);
  }
  Result<std::vector<AttemptStatus>> list_owned() override { return inner_.list_owned(); }
  void set_exit_sink(ExitSink sink) override { inner_.set_exit_sink(std::move(sink)); }
  Result<TaskUsage> stats(const std::string&) override { return TaskUsage{0.5, 64 << 20}; }

 private:
  FakeDriver& inner_;
};

TEST_F(AgentLoopTest, NodeStatsCarryHostAndTaskUsageAndRepeatTheLastSeq) {
  options_.stats_interval = Millis(300);
  UsageReportingDriver driver(driver_);
  LoopStopper stopper = start_loop(driver);
  welcome();
  ASSERT_TRUE(heartbeat().has_value());
  Task t = exec_task(2);
  broker_.send_work(protocol::Assign{t});
  ASSERT_TRUE(broker_.expect_work<protocol::Accept>().has_value());
  auto running = broker_.next_event<protocol::TaskStateEvent>();
  ASSERT_TRUE(running.has_value());
  ASSERT_EQ(running->seq, 1u);

  // Stats taken before the task ran list no task; wait for one that does.
  std::optional<protocol::NodeStats> stats;
  for (int i = 0; i < 100 && !(stats && !stats->tasks.empty()); ++i) {
    clock_.advance(Millis(100));
    broker_.send_beacon("e1");
    stats = broker_.next_event<protocol::NodeStats>(Millis(200));
  }
  ASSERT_TRUE(stats.has_value() && !stats->tasks.empty()) << "no NODE_STATS listing the task";
  EXPECT_EQ(stats->agent_id, options_.agent_id);
  EXPECT_EQ(stats->session_id, "s1");
  EXPECT_EQ(stats->seq, 1u) << "stats repeat the last seq, like heartbeats";
  EXPECT_GT(stats->usage.cpu_total, 0);
  EXPECT_GE(stats->usage.cpu_used, 0);
  EXPECT_GT(stats->usage.memory_total_bytes, 0);
  EXPECT_GT(stats->usage.memory_used_bytes, 0);
  EXPECT_GT(stats->usage.disk_total_bytes, 0);
  EXPECT_EQ(stats->usage.running, 1u);
  EXPECT_EQ(stats->usage.sampled_ms, to_unix_ms(clock_.wall()));
  ASSERT_EQ(stats->tasks.size(), 1u);
  EXPECT_EQ(stats->tasks[0].task_id, t.id);
  EXPECT_EQ(stats->tasks[0].attempt, 2u);
  EXPECT_DOUBLE_EQ(stats->tasks[0].cpu_used, 0.5);
  EXPECT_EQ(stats->tasks[0].memory_bytes, 64 << 20);
  EXPECT_EQ(stats->tasks[0].sampled_ms, stats->usage.sampled_ms);

  // A task event still takes seq 2: stats consumed no number.
  driver_.finish(t.id, 2, 0);
  auto completed = broker_.next_event<protocol::TaskStateEvent>();
  ASSERT_TRUE(completed.has_value());
  EXPECT_EQ(completed->seq, 2u);
}

TEST_F(AgentLoopTest, StatsIntervalZeroSendsNoNodeStats) {
  options_.stats_interval = Millis(0);
  options_.capacity_overrides.memory_bytes = int64_t{1} << 30;
  options_.capacity_overrides.cpu = 3;
  start_loop();
  auto hello = welcome();
  EXPECT_EQ(hello.capacity.memory_bytes, int64_t{1} << 30) << "--memory replaces detection";
  EXPECT_DOUBLE_EQ(hello.capacity.cpu, 3);
  EXPECT_GT(hello.capacity.disk_bytes, 0) << "undeclared dimensions are still detected";
  ASSERT_TRUE(heartbeat().has_value());
  // Ten heartbeats' worth of time (the first stats would come after one): no NODE_STATS...
  for (int i = 0; i < 10; ++i) {
    clock_.advance(Millis(100));
    broker_.send_beacon("e1");
    EXPECT_FALSE(broker_.next_event<protocol::NodeStats>(Millis(100)).has_value());
  }
  // ...while the loop is alive and publishing.
  EXPECT_TRUE(heartbeat().has_value());
}

// --- health checks ---

// An HTTP server on 127.0.0.1:<ephemeral> answering every request with `code`, counting them.
class HttpStub {
 public:
  explicit HttpStub(int code) : code_(code) {
    listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_.get(), 8), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpStub() {
    ::shutdown(listener_.get(), SHUT_RDWR);  // accept() returns: the thread ends
    thread_.join();
  }
  int port() const { return port_; }
  // Waits until `n` requests were answered.
  bool wait_requests(int n, Millis timeout = kWait) {
    MutexLock lock(mu_);
    return mu_.wait_for(cv_, timeout, [&]() CUBE_REQUIRES(mu_) { return served_ >= n; });
  }
  int served() {
    MutexLock lock(mu_);
    return served_;
  }

 private:
  void serve() {
    while (true) {
      UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn.valid())
        return;
      std::string request;
      char buf[2048];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
        if (n <= 0)
          break;
        request.append(buf, static_cast<size_t>(n));
      }
      std::string answer = "HTTP/1.1 " + std::to_string(code_) +
                           " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      ::send(conn.get(), answer.data(), answer.size(), MSG_NOSIGNAL);
      conn = UniqueFd();
      MutexLock lock(mu_);
      ++served_;
      cv_.notify_all();
    }
  }

  int code_;
  UniqueFd listener_;
  int port_ = 0;
  Mutex mu_;
  std::condition_variable cv_;
  int served_ CUBE_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

class AgentHealthTest : public AgentLoopTest {
 protected:
  // An exec task (the fake driver publishes nothing, so the agent probes 127.0.0.1 at the
  // exposed port) with a health check every 100 ms and `retries` failures allowed.
  Task health_task(const HttpStub& server, int32_t retries) {
    Task t = exec_task(1);
    t.exposed_ports = {std::to_string(server.port()) + "/tcp"};
    t.health_check = "/h";
    t.health_interval_ms = 100;
    t.health_retries = retries;
    return t;
  }
  void run_task(const Task& t) {
    start_loop();
    welcome();
    ASSERT_TRUE(heartbeat().has_value());
    driver_.remember_attempt(t.id, t.attempt);
    broker_.send_work(protocol::Assign{t});
    ASSERT_TRUE(broker_.expect_work<protocol::Accept>().has_value());
    auto running = broker_.next_event<protocol::TaskStateEvent>();
    ASSERT_TRUE(running.has_value());
    ASSERT_EQ(running->status.state, TaskState::Running);
  }
  // One probe interval of loop time (the beacon wakes the loop and keeps the broker alive),
  // then waits for the probe to reach the server.
  void probe_once(HttpStub& server) {
    int before = server.served();
    clock_.advance(Millis(100));
    broker_.send_beacon("e1");
    ASSERT_TRUE(server.wait_requests(before + 1)) << "no probe after an interval";
  }
};

TEST_F(AgentHealthTest, FailedProbesStopTheTaskAndReportItFailedWithTheReason) {
  HttpStub server(404);
  Task t = health_task(server, 2);
  run_task(t);
  EXPECT_EQ(server.served(), 0) << "no probe before the grace of one interval";
  probe_once(server);
  EXPECT_FALSE(broker_.next_event<protocol::TaskStateEvent>(Millis(200)).has_value())
      << "one failure of two is not enough";
  EXPECT_FALSE(driver_.stop_grace(t.id).has_value());
  probe_once(server);
  auto failed = broker_.next_event<protocol::TaskStateEvent>();
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->status.task_id, t.id);
  EXPECT_EQ(failed->status.state, TaskState::Failed);
  EXPECT_EQ(failed->status.reason, "health check failed 2 times: GET http://127.0.0.1:" +
                                       std::to_string(server.port()) + "/h: HTTP 404");
  EXPECT_EQ(failed->status.exit_code, 143) << "the exit code of the stop is kept";
  EXPECT_EQ(driver_.stop_grace(t.id), options_.stop_grace);
  auto credit = broker_.expect_work<protocol::Credit>();
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->free_slots, 2u);
  // Nothing is probed any more.
  clock_.advance(Millis(1000));
  broker_.send_beacon("e1");
  EXPECT_FALSE(server.wait_requests(3, Millis(300)));
}

TEST_F(AgentHealthTest, AHealthyTaskKeepsRunningWhileProbed) {
  HttpStub server(200);
  Task t = health_task(server, 1);
  run_task(t);
  for (int i = 0; i < 5; ++i)
    probe_once(server);
  EXPECT_FALSE(broker_.next_event<protocol::TaskStateEvent>(Millis(200)).has_value());
  EXPECT_FALSE(driver_.stop_grace(t.id).has_value());
  // A STOP ends the probing with the task.
  broker_.send_work(protocol::Stop{t.id, 0, 1000, "stopped"});
  auto stopped = broker_.next_event<protocol::TaskStateEvent>();
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(stopped->status.state, TaskState::Completed);
  int served = server.served();
  clock_.advance(Millis(1000));
  broker_.send_beacon("e1");
  EXPECT_FALSE(server.wait_requests(served + 1, Millis(300)));
}

}  // namespace
}  // namespace cube::agent
