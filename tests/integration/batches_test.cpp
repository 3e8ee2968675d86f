// Batched agent messages between real processes (docs/protocol.md, Agent session item 9): a
// cube-agent and cube-broker of this release use ASSIGN_BATCH, ACCEPT_BATCH and
// TASK_STATE_BATCH, and an agent that announces no features still gets single messages. The
// broker's counters (`cube-client status -o json`) show which kind travelled.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "protocol/zmq_io.h"
#include "tests/integration/cluster.h"

namespace cube::test {
namespace {

constexpr int kCompleted = 3;  // TaskState::Completed in the task JSON

// The broker's counters as `cube-client status -o json` shows them.
std::map<std::string, uint64_t> status_counters(Cluster& c) {
  auto status = c.cli({"status", "-o", "json"});
  EXPECT_EQ(status.status.code, 0) << status.err;
  auto json = nlohmann::json::parse(status.out, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("Counters"))
    return {};
  return json["Counters"].get<std::map<std::string, uint64_t>>();
}

uint64_t completed_count(Client& client) {
  auto status = client.status();
  if (!status.is_ok())
    return 0;
  auto it = status->tasks_by_state.find("Completed");
  return it == status->tasks_by_state.end() ? 0 : it->second;
}

Task sim_task(const std::string& name, int64_t duration_ms) {
  Task t;
  t.name = name;
  t.driver = "sim";
  t.duration_ms = duration_ms;
  return t;
}

// Tasks waiting when an agent arrives are placed on it in one scheduling pass: with batches
// the pass is one ASSIGN_BATCH, the agent answers it with one ACCEPT_BATCH, and the states of
// tasks that start (and end) together travel as TASK_STATE_BATCHes. Without batches each task
// would cost the broker an ASSIGN, an ACCEPT and two TASK_STATEs.
TEST(Batches, ManyTasksPlacedOnOneAgentTravelInBatchesAndAllRun) {
  constexpr int kTasks = 200;
  Cluster c;
  c.start_broker({"--store", "memory"});
  Client client = client_for(c, Millis(5000), 3);
  for (int i = 0; i < kTasks; ++i) {
    auto submitted = client.submit(sim_task("burst-" + std::to_string(i), 300));
    ASSERT_TRUE(submitted.is_ok()) << submitted.status().to_string();
  }
  c.start_agent("s1", {"--driver", "sim", "--slots", std::to_string(kTasks)});
  ASSERT_TRUE(eventually([&] { return completed_count(client) == uint64_t{kTasks}; }, 30s, 100ms))
      << c.cli({"status"}).out << c.logs();

  auto counters = status_counters(c);
  EXPECT_EQ(counters["tasks.placed"], static_cast<uint64_t>(kTasks));
  EXPECT_EQ(counters["work.received.REJECT"], 0u);
  EXPECT_EQ(counters["events.gap"], 0u);
  EXPECT_GE(counters["work.sent.ASSIGN_BATCH"], 1u);
  EXPECT_GE(counters["work.received.ACCEPT_BATCH"], 1u);
  EXPECT_GE(counters["events.received.TASK_STATE_BATCH"], 1u);
  // A handful of messages carried what would have been 200 ASSIGNs, 200 ACCEPTs and 400
  // TASK_STATEs.
  EXPECT_LT(counters["work.sent.ASSIGN_BATCH"] + counters["work.sent.ASSIGN"], kTasks / 10u);
  EXPECT_LT(counters["work.received.ACCEPT_BATCH"] + counters["work.received.ACCEPT"],
            kTasks / 10u);
  EXPECT_LT(counters["events.received.TASK_STATE_BATCH"] + counters["events.received.TASK_STATE"],
            2 * kTasks / 10u);
}

// An agent released before batches, speaking the protocol by hand: its HELLO has no features,
// so the broker sends it single ASSIGNs and takes its single ACCEPTs and TASK_STATEs.
class PreBatchAgent {
 public:
  explicit PreBatchAgent(const Cluster& c)
      : dealer_(context_, zmq::socket_type::dealer), pub_(context_, zmq::socket_type::pub) {
    protocol::apply_socket_defaults(dealer_, protocol::kMaxInboundMessageBytes);
    protocol::apply_socket_defaults(pub_, protocol::kMaxInboundMessageBytes);
    dealer_.connect(protocol::tcp_endpoint("127.0.0.1", c.port() + 1));
    pub_.connect(protocol::tcp_endpoint("127.0.0.1", c.port() + 2));
  }

  // The next message from the broker within `timeout`, or nullopt.
  std::optional<protocol::Received> next(std::chrono::milliseconds timeout = 5s) {
    zmq::pollitem_t item{dealer_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) != 1)
      return std::nullopt;
    Status error;
    auto message = protocol::receive(dealer_, 0, &error);
    EXPECT_TRUE(error.is_ok()) << error.to_string();
    return message;
  }

  template <typename M>
  void send(const M& message) {
    ASSERT_TRUE(protocol::send(dealer_, message).is_ok());
  }
  template <typename M>
  void publish(const M& message) {
    ASSERT_TRUE(protocol::send(pub_, message).is_ok());
  }

 private:
  zmq::context_t context_;
  zmq::socket_t dealer_;
  zmq::socket_t pub_;
};

TEST(Batches, AnAgentWithoutTheFeatureGetsAndSendsSingleMessages) {
  constexpr uint32_t kTasks = 5;
  Cluster c;
  c.start_broker({"--store", "memory"});
  Client client = client_for(c, Millis(5000), 3);
  std::set<std::string> submitted;
  for (uint32_t i = 0; i < kTasks; ++i) {
    auto task = client.submit(sim_task("old-" + std::to_string(i), 0));
    ASSERT_TRUE(task.is_ok()) << task.status().to_string();
    submitted.insert(task->id);
  }

  PreBatchAgent agent(c);
  protocol::Hello hello;
  hello.agent_id = "pre-batch-agent";
  hello.name = "old";
  hello.version = "0.9";
  hello.drivers = {"sim"};
  hello.capacity = {4, int64_t{8} << 30, int64_t{64} << 30, kTasks};
  agent.send(hello);
  auto welcome_message = agent.next();
  ASSERT_TRUE(welcome_message.has_value()) << c.logs();
  auto welcome = protocol::decode_as<protocol::Welcome>(welcome_message->body);
  ASSERT_TRUE(welcome.is_ok()) << welcome.status().to_string();
  agent.send(protocol::Credit{welcome->session_id, kTasks});

  std::vector<Task> assigned;
  while (assigned.size() < kTasks) {
    auto message = agent.next();
    ASSERT_TRUE(message.has_value()) << "got " << assigned.size() << " tasks" << c.logs();
    ASSERT_EQ(message->type, static_cast<uint8_t>(protocol::MessageType::Assign))
        << protocol::message_type_name(message->type);
    auto assign = protocol::decode_as<protocol::Assign>(message->body);
    ASSERT_TRUE(assign.is_ok()) << assign.status().to_string();
    assigned.push_back(assign->task);
    agent.send(protocol::Accept{welcome->session_id, assign->task.id, assign->task.attempt});
  }

  // A PUB drops what it sends before its connection is up: heartbeat until the broker has one.
  protocol::AgentHeartbeat beat{hello.agent_id, welcome->session_id, 0, 0, kTasks};
  ASSERT_TRUE(eventually(
      [&] {
        agent.publish(beat);
        return status_counters(c)["events.received.AGENT_HEARTBEAT"] > 0;
      },
      10s, 50ms));
  uint64_t seq = 0;
  for (TaskState state : {TaskState::Running, TaskState::Completed}) {
    for (const Task& task : assigned) {
      AttemptStatus status;
      status.task_id = task.id;
      status.attempt = task.attempt;
      status.state = state;
      if (state == TaskState::Completed)
        status.exit_code = 0;
      agent.publish(protocol::TaskStateEvent{hello.agent_id, welcome->session_id, ++seq, status});
    }
  }
  ASSERT_TRUE(eventually([&] { return completed_count(client) == kTasks; }, 10s, 50ms))
      << c.cli({"list"}).out << c.logs();

  std::set<std::string> ids;
  for (const Task& task : assigned)
    ids.insert(task.id);
  EXPECT_EQ(ids, submitted);
  auto counters = status_counters(c);
  EXPECT_EQ(counters["work.sent.ASSIGN"], kTasks);
  EXPECT_EQ(counters["work.sent.ASSIGN_BATCH"], 0u);
  EXPECT_EQ(counters["work.received.ACCEPT"], kTasks);
  EXPECT_EQ(counters["events.received.TASK_STATE"], 2 * kTasks);
  EXPECT_EQ(counters["events.gap"], 0u);
}

}  // namespace
}  // namespace cube::test
