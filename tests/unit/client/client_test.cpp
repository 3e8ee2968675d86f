// cube::Client against a fake broker: Lazy Pirate retries, stale replies, a dead endpoint,
// error replies and the typed request methods, submit_many among them.
#include "client/client.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "common/ids.h"
#include "protocol/codec.h"
#include "protocol/envelope.h"
#include "tests/unit/client/fake_broker.h"

namespace cube {
namespace {

using testing::FakeBroker;
using testing::FakeResponse;
using testing::ReceivedRequest;

ClientOptions options_for(const std::string& endpoint, Millis per_try, int tries = 3) {
  ClientOptions options;
  options.endpoint = endpoint;
  options.timeout_per_try = per_try;
  options.tries = tries;
  return options;
}

protocol::Reply reply_with_task(const std::string& name) {
  protocol::Reply reply;
  Task task;
  task.id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";
  task.name = name;
  reply.task = task;
  reply.events = {TaskEvent{TaskState::Pending, 1000, "", ""}};
  return reply;
}

TEST(BrokerEndpoint, BuildsTcpEndpointFromHostPort) {
  EXPECT_EQ(*broker_endpoint("127.0.0.1:7100"), "tcp://127.0.0.1:7100");
  EXPECT_EQ(*broker_endpoint("[::1]:7100"), "tcp://[::1]:7100");
  auto bad = broker_endpoint("localhost");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_TRUE(bad.status().is_invalid());
  EXPECT_NE(bad.status().message().find("localhost"), std::string::npos);
  EXPECT_FALSE(broker_endpoint("127.0.0.1:70000").is_ok());
}

TEST(ClientLazyPirate, RetriesASilentRequestWithTheSameIdOnAFreshSocket) {
  FakeBroker broker([](size_t index, const ReceivedRequest&) {
    return index == 0 ? FakeResponse::drop() : FakeResponse::answer(reply_with_task("web"));
  });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(200)), clock);

  auto details = client.get("0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12");

  ASSERT_TRUE(details.is_ok()) << details.status().to_string();
  EXPECT_EQ(details->task.name, "web");
  ASSERT_EQ(details->events.size(), 1u);
  EXPECT_FALSE(client.was_unanswered());
  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].type, static_cast<uint8_t>(protocol::MessageType::GetRequest));
  EXPECT_NE(requests[0].request_id, 0u);
  EXPECT_EQ(requests[0].request_id, requests[1].request_id);
  EXPECT_EQ(requests[0].body, requests[1].body);
}

// A submit whose reply is lost is retried with the same task ID: a broker that stored the first
// try then answers the retry with the stored task instead of storing a second one.
TEST(ClientLazyPirate, ASubmitRetryCarriesTheTaskIdChosenBeforeTheFirstTry) {
  FakeBroker broker([](size_t index, const ReceivedRequest&) {
    return index == 0 ? FakeResponse::drop() : FakeResponse::answer(reply_with_task("web"));
  });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(200)), clock);
  Task task;
  task.name = "web";
  task.image = "nginx:1.25";

  ASSERT_TRUE(client.submit(task).is_ok());

  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 2u);
  auto first = protocol::decode_as<protocol::SubmitRequest>(requests[0].body);
  auto retry = protocol::decode_as<protocol::SubmitRequest>(requests[1].body);
  ASSERT_TRUE(first.is_ok() && retry.is_ok());
  EXPECT_TRUE(is_uuid_v7(first->task.id)) << first->task.id;
  EXPECT_EQ(retry->task.id, first->task.id);
}

TEST(ClientRequests, ASubmitThatStopsATaskByStateThreeGetsNoNewId) {
  FakeBroker broker(
      [](size_t, const ReceivedRequest&) { return FakeResponse::answer(reply_with_task("web")); });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);
  Task stop;
  stop.desired_state = TaskState::Completed;

  (void)client.submit(stop);

  auto sent = protocol::decode_as<protocol::SubmitRequest>(broker.requests().at(0).body);
  ASSERT_TRUE(sent.is_ok());
  EXPECT_EQ(sent->task.id, "") << "the broker answers a stop without an ID with a clear error";
}

TEST(ClientLazyPirate, EachCallUsesTheNextRequestId) {
  FakeBroker broker(
      [](size_t, const ReceivedRequest&) { return FakeResponse::answer(protocol::Reply{}); });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);

  ASSERT_TRUE(client.list().is_ok());
  ASSERT_TRUE(client.list().is_ok());

  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].request_id, requests[0].request_id + 1);
}

TEST(ClientLazyPirate, IgnoresAReplyToAnotherRequest) {
  FakeBroker broker([](size_t index, const ReceivedRequest& request) {
    if (index == 0) {
      protocol::Reply stale = reply_with_task("stale");
      stale.request_id = request.request_id + 1000;
      return FakeResponse::answer(stale);
    }
    return FakeResponse::answer(reply_with_task("fresh"));
  });
  Client client(options_for(broker.endpoint(), Millis(2000)), system_clock());

  SteadyTime start = system_clock().now();
  auto task = client.stop("0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12");
  Millis elapsed = std::chrono::duration_cast<Millis>(system_clock().now() - start);

  ASSERT_TRUE(task.is_ok()) << task.status().to_string();
  EXPECT_EQ(task->name, "fresh");
  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].request_id, requests[1].request_id);
  // Nothing else can arrive on a REQ socket after a reply, so the client resends at once
  // instead of waiting out the 2 s try.
  EXPECT_LT(elapsed, Millis(1500));
}

TEST(ClientLazyPirate, OnlyStaleRepliesEndUnavailableAndSaySo) {
  FakeBroker broker([](size_t, const ReceivedRequest& request) {
    protocol::Reply stale;
    stale.request_id = request.request_id + 1;
    return FakeResponse::answer(stale);
  });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);

  auto nodes = client.nodes();

  ASSERT_FALSE(nodes.is_ok());
  EXPECT_TRUE(nodes.status().is_unavailable());
  EXPECT_NE(nodes.status().message().find("dropped 3 replies to other requests"), std::string::npos)
      << nodes.status().message();
  EXPECT_EQ(broker.requests().size(), 3u);
}

TEST(ClientLazyPirate, DeadEndpointIsUnavailableWithinTheTimeout) {
  std::string address = testing::unused_local_address();
  Client client(options_for("tcp://" + address, Millis(100)), system_clock());

  SteadyTime start = system_clock().now();
  auto tasks = client.list();
  Millis elapsed = std::chrono::duration_cast<Millis>(system_clock().now() - start);

  ASSERT_FALSE(tasks.is_ok());
  EXPECT_TRUE(tasks.status().is_unavailable());
  EXPECT_TRUE(client.was_unanswered());
  EXPECT_EQ(tasks.status().message(),
            "broker at " + address + " did not answer within 0.3 s (3 tries)");
  // Upper bound only: 3 tries of 100 ms, with room for a slow machine.
  EXPECT_LT(elapsed, Millis(2000));
}

TEST(ClientLazyPirate, DefaultsAreThreeTriesOfTwoAndAHalfSeconds) {
  ClientOptions defaults;
  EXPECT_EQ(defaults.endpoint, "tcp://127.0.0.1:7100");
  EXPECT_EQ(defaults.timeout_per_try, Millis(2500));
  EXPECT_EQ(defaults.tries, 3);
}

TEST(ClientLazyPirate, OneTryIsNamedInTheSingular) {
  std::string address = testing::unused_local_address();
  Client client(options_for("tcp://" + address, Millis(500), 1), system_clock());
  auto status = client.status();
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.status().message(),
            "broker at " + address + " did not answer within 0.5 s (1 try)");
}

TEST(ClientLazyPirate, RecoversOnTheNextCallAfterGivingUp) {
  FakeBroker broker([](size_t index, const ReceivedRequest&) {
    return index < 2 ? FakeResponse::drop() : FakeResponse::answer(protocol::Reply{});
  });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(100), 2), clock);

  EXPECT_TRUE(client.list().status().is_unavailable());
  EXPECT_TRUE(client.was_unanswered());
  auto second = client.list();
  EXPECT_TRUE(second.is_ok()) << second.status().to_string();
  EXPECT_FALSE(client.was_unanswered());
}

class ClientErrorReply : public ::testing::TestWithParam<ErrorCode> {};

TEST_P(ClientErrorReply, BecomesTheSameStatus) {
  ErrorCode code = GetParam();
  FakeBroker broker([code](size_t, const ReceivedRequest&) {
    protocol::Reply reply;
    reply.status = Status(code, "no task with ID x");
    return FakeResponse::answer(reply);
  });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);

  auto details = client.get("x");

  ASSERT_FALSE(details.is_ok());
  EXPECT_EQ(details.status(), Status(code, "no task with ID x"));
  EXPECT_FALSE(client.was_unanswered());
  EXPECT_EQ(broker.requests().size(), 1u);  // an answer, even an error, is never retried
}

INSTANTIATE_TEST_SUITE_P(AllCodes, ClientErrorReply,
                         ::testing::Values(ErrorCode::NotFound, ErrorCode::Invalid,
                                           ErrorCode::Conflict, ErrorCode::Unavailable,
                                           ErrorCode::Unauthorized, ErrorCode::Internal));

TEST(ClientMalformedReply, AnotherProtocolVersionIsInternalAndNamesIt) {
  FakeBroker broker([](size_t, const ReceivedRequest&) {
    return FakeResponse::raw({"CUBE2", std::string(1, '\x3c'), "\x80"});
  });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);

  auto tasks = client.list();

  ASSERT_FALSE(tasks.is_ok());
  EXPECT_EQ(tasks.status().code(), ErrorCode::Internal);
  EXPECT_NE(tasks.status().message().find("CUBE2"), std::string::npos) << tasks.status().message();
  EXPECT_FALSE(client.was_unanswered());
}

TEST(ClientMalformedReply, AMessageThatIsNotAReplyIsInternal) {
  FakeBroker broker([](size_t, const ReceivedRequest&) {
    return FakeResponse::raw({std::string(protocol::kMagic),
                              std::string(1, static_cast<char>(protocol::MessageType::Beacon)),
                              protocol::encode_body(protocol::Beacon{})});
  });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);

  auto tasks = client.list();

  ASSERT_FALSE(tasks.is_ok());
  EXPECT_EQ(tasks.status().code(), ErrorCode::Internal);
  EXPECT_NE(tasks.status().message().find("BEACON"), std::string::npos) << tasks.status().message();
}

TEST(ClientRequests, SubmitSendsTheTaskAndReturnsTheStoredOne) {
  FakeBroker broker([](size_t, const ReceivedRequest& request) {
    auto submit = protocol::decode_as<protocol::SubmitRequest>(request.body);
    protocol::Reply reply;
    if (!submit) {
      reply.status = submit.status();
      return FakeResponse::answer(reply);
    }
    Task stored = submit->task;
    stored.id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";
    reply.task = stored;
    return FakeResponse::answer(reply);
  });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);
  Task task;
  task.name = "web";
  task.image = "nginx:1.25";
  task.memory_bytes = 256 << 20;

  auto stored = client.submit(task);

  ASSERT_TRUE(stored.is_ok()) << stored.status().to_string();
  EXPECT_EQ(stored->id, "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12");
  EXPECT_EQ(stored->name, "web");
  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].type, static_cast<uint8_t>(protocol::MessageType::SubmitRequest));
  auto sent = protocol::decode_as<protocol::SubmitRequest>(requests[0].body);
  ASSERT_TRUE(sent.is_ok());
  // Sent as given, but with an ID the client chose (a UUIDv7), kept for every retry.
  EXPECT_TRUE(is_uuid_v7(sent->task.id)) << sent->task.id;
  Task expected = task;
  expected.id = sent->task.id;
  EXPECT_EQ(sent->task, expected);
}

TEST(ClientRequests, EachMethodSendsItsMessageType) {
  FakeBroker broker([](size_t, const ReceivedRequest& request) {
    protocol::Reply reply;
    if (request.type == static_cast<uint8_t>(protocol::MessageType::StatusRequest)) {
      reply.broker.emplace();
      reply.broker->version = "0.1.0";
    }
    if (request.type == static_cast<uint8_t>(protocol::MessageType::NodesRequest)) {
      reply.nodes.resize(1);
      reply.nodes[0].id = "n1";
      reply.nodes[0].name = "node-1";
    }
    if (request.type == static_cast<uint8_t>(protocol::MessageType::StopRequest))
      reply.task = Task{};
    return FakeResponse::answer(reply);
  });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);

  auto status = client.status();
  ASSERT_TRUE(status.is_ok());
  EXPECT_EQ(status->version, "0.1.0");
  auto nodes = client.nodes();
  ASSERT_TRUE(nodes.is_ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].name, "node-1");
  ASSERT_TRUE(client.stop("t1").is_ok());
  // A reply without the task a GET must carry is the broker's bug, not an empty task.
  EXPECT_EQ(client.get("t1").status().code(), ErrorCode::Internal);

  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].type, static_cast<uint8_t>(protocol::MessageType::StatusRequest));
  EXPECT_EQ(requests[1].type, static_cast<uint8_t>(protocol::MessageType::NodesRequest));
  EXPECT_EQ(requests[2].type, static_cast<uint8_t>(protocol::MessageType::StopRequest));
  auto stop = protocol::decode_as<protocol::StopRequest>(requests[2].body);
  ASSERT_TRUE(stop.is_ok());
  EXPECT_EQ(stop->task_id, "t1");
  EXPECT_EQ(requests[3].type, static_cast<uint8_t>(protocol::MessageType::GetRequest));
}

// A broker whose task is Pending for the first `pending_gets` GETs and then in `final_state`.
FakeBroker::Handler task_becomes(size_t pending_gets, TaskState final_state) {
  return [pending_gets, final_state](size_t index, const ReceivedRequest&) {
    protocol::Reply reply = reply_with_task("web");
    reply.task->state = index < pending_gets ? TaskState::Pending : final_state;
    return FakeResponse::answer(reply);
  };
}

TEST(ClientWaitFor, PollsUntilTheStateIsReachedPacedByTheClock) {
  FakeBroker broker(task_becomes(3, TaskState::Running));
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);
  SteadyTime start = clock.now();
  std::array states = {TaskState::Running, TaskState::Failed};

  auto task = client.wait_for("t1", states, clock.now() + Millis(60'000), Millis(250));

  ASSERT_TRUE(task.is_ok()) << task.status().to_string();
  EXPECT_EQ(task->state, TaskState::Running);
  EXPECT_EQ(broker.requests().size(), 4u);
  EXPECT_EQ(clock.now() - start, Millis(750));  // three sleeps between four GETs
}

TEST(ClientWaitFor, GivesUpAtTheDeadlineNamingTheState) {
  FakeBroker broker(task_becomes(1'000'000, TaskState::Running));
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);

  auto task = client.wait_for(
      "t1", [](const Task& t) { return t.state == TaskState::Running; }, clock.now() + Millis(1000),
      Millis(200));

  ASSERT_FALSE(task.is_ok());
  EXPECT_TRUE(task.status().is_unavailable());
  EXPECT_EQ(task.status().message(), "task t1 is still Pending after 1 s");
  EXPECT_EQ(broker.requests().size(), 6u);  // at 0, 200, ..., 1000 ms
}

TEST(ClientWaitFor, ReturnsAGetErrorAtOnce) {
  FakeBroker broker([](size_t, const ReceivedRequest&) {
    protocol::Reply reply;
    reply.status = Status::not_found("no task with ID t1");
    return FakeResponse::answer(reply);
  });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);

  auto task = client.wait_for(
      "t1", [](const Task&) { return true; }, clock.now() + Millis(1000));

  EXPECT_TRUE(task.status().is_not_found());
  EXPECT_EQ(broker.requests().size(), 1u);
}

TEST(ClientMove, AMovedClientKeepsWorking) {
  FakeBroker broker(
      [](size_t, const ReceivedRequest&) { return FakeResponse::answer(protocol::Reply{}); });
  ManualClock clock;
  Client first(options_for(broker.endpoint(), Millis(2000)), clock);
  ASSERT_TRUE(first.list().is_ok());
  Client second = std::move(first);
  ASSERT_TRUE(second.list().is_ok());
  Client third(options_for(broker.endpoint(), Millis(2000)), clock);
  ASSERT_TRUE(third.list().is_ok());
  third = std::move(second);
  ASSERT_TRUE(third.list().is_ok());
  EXPECT_EQ(broker.requests().size(), 4u);
}

// Clients on one shared context (ClientOptions::context): each keeps its own requests and
// retries (a retry replaces only its own socket), and none ends the context when it goes.
TEST(ClientSharedContext, ClientsOnOneContextRetryAndOutliveEachOther) {
  FakeBroker broker([](size_t index, const ReceivedRequest&) {
    return index == 1 ? FakeResponse::drop() : FakeResponse::answer(reply_with_task("web"));
  });
  zmq::context_t context(1);
  ManualClock clock;
  ClientOptions options = options_for(broker.endpoint(), Millis(200));
  options.context = &context;
  const std::string id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";
  {
    Client first(options, clock);
    Client second(options, clock);
    ASSERT_TRUE(first.get(id).is_ok());
    auto retried = second.get(id);  // its first try is dropped, the retry answered
    ASSERT_TRUE(retried.is_ok()) << retried.status().to_string();
    ASSERT_TRUE(first.get(id).is_ok());
  }
  Client third(options, clock);
  auto after = third.get(id);
  ASSERT_TRUE(after.is_ok()) << after.status().to_string();
  EXPECT_EQ(after->task.name, "web");
  EXPECT_EQ(broker.requests().size(), 5u);
}

// --- submit_many: IDs chosen once before the first send, requests split at kMaxSubmitBatch and
// at the broker's message limit, one outcome per task in order, errors of the call as a whole ---

Task sim_task(const std::string& name) {
  Task task;
  task.name = name;
  task.driver = std::string(kDriverSim);
  return task;
}

std::vector<Task> sim_tasks(size_t n) {
  std::vector<Task> tasks;
  for (size_t i = 0; i < n; ++i)
    tasks.push_back(sim_task("t" + std::to_string(i)));
  return tasks;
}

std::vector<protocol::SubmitBatchRequest> batches_received(const FakeBroker& broker) {
  std::vector<protocol::SubmitBatchRequest> batches;
  for (const auto& request : broker.requests()) {
    EXPECT_EQ(request.type, static_cast<uint8_t>(protocol::MessageType::SubmitBatchRequest));
    auto batch = protocol::decode_as<protocol::SubmitBatchRequest>(request.body);
    EXPECT_TRUE(batch.is_ok()) << batch.status().to_string();
    if (batch.is_ok())
      batches.push_back(std::move(*batch));
  }
  return batches;
}

// What a broker answers when it accepts every task of the batch except those named "bad".
FakeResponse accept_all_but_bad(const ReceivedRequest& request) {
  auto batch = protocol::decode_as<protocol::SubmitBatchRequest>(request.body);
  protocol::Reply reply;
  if (!batch)
    reply.status = batch.status();
  for (const Task& task : batch ? batch->tasks : std::vector<Task>{}) {
    if (task.name == "bad") {
      reply.submitted.push_back({task.id, ErrorCode::Invalid, "field \"Memory\": negative"});
    } else {
      reply.submitted.push_back({task.id, ErrorCode::Ok, ""});
    }
  }
  return FakeResponse::answer(reply);
}

// A batch whose reply is lost is retried with the same IDs: a broker that stored the first try
// answers the retry with the stored tasks instead of storing them again.
TEST(ClientSubmitMany, ChoosesEveryIdBeforeTheFirstSendAndKeepsItForTheRetry) {
  FakeBroker broker([](size_t index, const ReceivedRequest& request) {
    return index == 0 ? FakeResponse::drop() : accept_all_but_bad(request);
  });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(200)), clock);
  std::vector<Task> tasks = {sim_task("no-id"), sim_task("own-id"), sim_task("stop")};
  tasks[1].id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";
  tasks[2].desired_state = TaskState::Completed;  // names the task it stops: no ID is made up

  auto outcomes = client.submit_many(tasks);

  ASSERT_TRUE(outcomes.is_ok()) << outcomes.status().to_string();
  auto requests = broker.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].request_id, requests[1].request_id);
  EXPECT_EQ(requests[0].body, requests[1].body);
  auto sent = batches_received(broker);
  ASSERT_EQ(sent.size(), 2u);
  ASSERT_EQ(sent[0].tasks.size(), 3u);
  EXPECT_TRUE(is_uuid_v7(sent[0].tasks[0].id)) << sent[0].tasks[0].id;
  EXPECT_EQ(sent[0].tasks[1].id, tasks[1].id);
  EXPECT_EQ(sent[0].tasks[2].id, "");
  EXPECT_EQ(sent[0].tasks[0].name, "no-id");
  ASSERT_EQ(outcomes->size(), 3u);
  EXPECT_EQ((*outcomes)[0].task_id, sent[0].tasks[0].id);
  EXPECT_EQ((*outcomes)[1].task_id, tasks[1].id);
}

TEST(ClientSubmitMany, SplitsMoreThanOneRequestMayCarryAndKeepsTheOrder) {
  FakeBroker broker(
      [](size_t, const ReceivedRequest& request) { return accept_all_but_bad(request); });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);
  const size_t n = 2 * protocol::kMaxSubmitBatch + 500;
  std::vector<Task> tasks = sim_tasks(n);
  for (size_t i = 0; i < n; i += 7)
    tasks[i].name = "bad";

  auto outcomes = client.submit_many(tasks);

  ASSERT_TRUE(outcomes.is_ok()) << outcomes.status().to_string();
  auto sent = batches_received(broker);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].tasks.size(), protocol::kMaxSubmitBatch);
  EXPECT_EQ(sent[1].tasks.size(), protocol::kMaxSubmitBatch);
  EXPECT_EQ(sent[2].tasks.size(), 500u);
  EXPECT_NE(sent[0].request_id, sent[1].request_id);
  ASSERT_EQ(outcomes->size(), n);
  size_t i = 0;
  for (const auto& batch : sent) {
    for (const Task& task : batch.tasks) {
      EXPECT_EQ(task.name, tasks[i].name) << i;
      EXPECT_EQ((*outcomes)[i].task_id, task.id) << i;
      EXPECT_EQ((*outcomes)[i].error_code, i % 7 == 0 ? ErrorCode::Invalid : ErrorCode::Ok) << i;
      ++i;
    }
  }
  EXPECT_EQ(i, n);
}

// A thousand large tasks would be dropped unread by the broker's 1 MiB message limit, which the
// client would only see as silence: such a request is halved until it fits.
TEST(ClientSubmitMany, SplitsARequestThatWouldPassTheBrokersMessageLimit) {
  FakeBroker broker(
      [](size_t, const ReceivedRequest& request) { return accept_all_but_bad(request); });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);
  std::vector<Task> tasks = sim_tasks(12);
  for (Task& task : tasks)
    task.env = {"BLOB=" + std::string(200 << 10, 'x')};

  auto outcomes = client.submit_many(tasks);

  ASSERT_TRUE(outcomes.is_ok()) << outcomes.status().to_string();
  EXPECT_EQ(outcomes->size(), 12u);
  auto requests = broker.requests();
  EXPECT_GT(requests.size(), 2u);
  size_t sent = 0;
  for (const auto& request : requests) {
    EXPECT_LT(static_cast<int64_t>(request.body.size()), protocol::kMaxInboundMessageBytes);
    auto batch = protocol::decode_as<protocol::SubmitBatchRequest>(request.body);
    ASSERT_TRUE(batch.is_ok());
    for (const Task& task : batch->tasks)
      EXPECT_EQ(task.name, "t" + std::to_string(sent++));
  }
  EXPECT_EQ(sent, 12u);
}

TEST(ClientSubmitMany, TwoTasksWithOneIdAreRefusedBeforeAnythingIsSent) {
  FakeBroker broker(
      [](size_t, const ReceivedRequest& request) { return accept_all_but_bad(request); });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);
  std::vector<Task> tasks = sim_tasks(3);
  tasks[0].id = tasks[2].id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";

  auto outcomes = client.submit_many(tasks);

  ASSERT_FALSE(outcomes.is_ok());
  EXPECT_TRUE(outcomes.status().is_invalid());
  EXPECT_EQ(outcomes.status().message(),
            "task ID 0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12 is given twice (#0 and #2): give each "
            "task its own ID, or none");
  EXPECT_TRUE(broker.requests().empty());
}

TEST(ClientSubmitMany, NoTaskSendsNothing) {
  FakeBroker broker(
      [](size_t, const ReceivedRequest& request) { return accept_all_but_bad(request); });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);

  auto outcomes = client.submit_many({});

  ASSERT_TRUE(outcomes.is_ok());
  EXPECT_TRUE(outcomes->empty());
  EXPECT_TRUE(broker.requests().empty());
}

TEST(ClientSubmitMany, ASilentBrokerIsUnavailableAsForCall) {
  FakeBroker broker([](size_t, const ReceivedRequest&) { return FakeResponse::drop(); });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(100)), clock);

  auto outcomes = client.submit_many(sim_tasks(2));

  ASSERT_FALSE(outcomes.is_ok());
  EXPECT_TRUE(outcomes.status().is_unavailable());
  EXPECT_TRUE(client.was_unanswered());
  EXPECT_EQ(outcomes.status().message(),
            "broker at " + broker.address() + " did not answer within 0.3 s (3 tries)");
}

// The broker answers the first request and then falls silent: the error says how far it got.
TEST(ClientSubmitMany, AFailureAfterTheFirstRequestSaysHowManyTasksWereAnswered) {
  FakeBroker broker([](size_t index, const ReceivedRequest& request) {
    return index == 0 ? accept_all_but_bad(request) : FakeResponse::drop();
  });
  ManualClock clock;
  // One try of a second: the broker's answer to a thousand tasks must not be mistaken for
  // silence on a loaded machine.
  Client client(options_for(broker.endpoint(), Millis(1000), 1), clock);

  auto outcomes = client.submit_many(sim_tasks(protocol::kMaxSubmitBatch + 5));

  ASSERT_FALSE(outcomes.is_ok());
  EXPECT_TRUE(outcomes.status().is_unavailable());
  EXPECT_TRUE(client.was_unanswered());
  EXPECT_EQ(outcomes.status().message(),
            "the broker answered for the first 1000 of 1005 tasks; the request with the next 5 "
            "failed: broker at " +
                broker.address() + " did not answer within 1 s (1 try)");
}

TEST(ClientSubmitMany, AReplyWithoutAnOutcomePerTaskIsInternal) {
  FakeBroker broker([](size_t, const ReceivedRequest&) {
    protocol::Reply reply;
    reply.submitted.push_back({"0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12", ErrorCode::Ok, ""});
    return FakeResponse::answer(reply);
  });
  ManualClock clock;
  Client client(options_for(broker.endpoint(), Millis(2000)), clock);

  auto outcomes = client.submit_many(sim_tasks(2));

  ASSERT_FALSE(outcomes.is_ok());
  EXPECT_EQ(outcomes.status().code(), ErrorCode::Internal);
  EXPECT_EQ(outcomes.status().message(),
            "the broker answered 2 submitted tasks with 1 outcomes (is the broker a different "
            "version?)");
}

}  // namespace
}  // namespace cube
