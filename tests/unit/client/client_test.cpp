// cube::Client against a fake broker: Lazy Pirate retries, stale replies, a dead endpoint,
// error replies and the typed request methods.
#include "client/client.h"

#include <gtest/gtest.h>

#include <array>

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

}  // namespace
}  // namespace cube
