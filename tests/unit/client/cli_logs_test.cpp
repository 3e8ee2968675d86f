// `cube-client logs` against a fake broker: what it asks for (offsets, tail), what it prints,
// how -f follows until eof and paces itself on the clock, and its exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "client/cli.h"
#include "protocol/codec.h"
#include "tests/unit/client/fake_broker.h"

namespace cube {
namespace {

using testing::FakeBroker;
using testing::FakeResponse;
using ::testing::HasSubstr;
using testing::ReceivedRequest;

constexpr char kId[] = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

CliResult run(std::vector<std::string> args, const Clock& clock) {
  args.insert(args.begin(), "cube-client");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream out;
  std::ostringstream err;
  std::istringstream in;
  CliResult result;
  result.code = run_cli(static_cast<int>(args.size()), argv.data(), out, err, in, clock);
  result.out = out.str();
  result.err = err.str();
  return result;
}

// Answers the n-th LOGS with the n-th scripted reply (the last one again when the script ends).
FakeBroker::Handler scripted(std::vector<protocol::Reply> replies) {
  return [replies = std::move(replies)](size_t index, const ReceivedRequest&) {
    return FakeResponse::answer(replies.at(std::min(index, replies.size() - 1)));
  };
}

protocol::Reply chunk(std::string data, int64_t next_offset, bool eof) {
  protocol::Reply r;
  r.logs = protocol::LogsChunk{std::move(data), next_offset, eof};
  return r;
}

std::vector<protocol::LogsRequest> logs_requests(const FakeBroker& broker) {
  std::vector<protocol::LogsRequest> out;
  for (const auto& r : broker.requests()) {
    EXPECT_EQ(r.type, static_cast<uint8_t>(protocol::MessageType::LogsRequest));
    auto decoded = protocol::decode_as<protocol::LogsRequest>(r.body);
    EXPECT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    if (decoded.is_ok())
      out.push_back(*decoded);
  }
  return out;
}

TEST(CliLogs, PrintsWhatIsThereAndStops) {
  FakeBroker broker(scripted({chunk("hello from cube\n", 16, false)}));
  ManualClock clock;
  CliResult r = run({"--broker", broker.address(), "logs", kId}, clock);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "hello from cube\n");
  auto requests = logs_requests(broker);
  ASSERT_EQ(requests.size(), 1u) << "caught up after one short answer";
  EXPECT_EQ(requests[0].task_id, kId);
  EXPECT_EQ(requests[0].offset, 0);
  EXPECT_EQ(requests[0].tail_lines, 0);
}

TEST(CliLogs, ReadsOnWhileAnswersAreFull) {
  std::string full(static_cast<size_t>(protocol::kMaxLogChunkBytes), 'x');
  FakeBroker broker(scripted({chunk(full, protocol::kMaxLogChunkBytes, false),
                              chunk("end\n", protocol::kMaxLogChunkBytes + 4, true)}));
  ManualClock clock;
  CliResult r = run({"--broker", broker.address(), "logs", kId}, clock);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, full + "end\n");
  auto requests = logs_requests(broker);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].offset, protocol::kMaxLogChunkBytes);
}

TEST(CliLogs, FollowAsksFromTheNextOffsetUntilEofPacedByTheClock) {
  FakeBroker broker(scripted({chunk("one\n", 4, false), chunk("", 4, false),
                              chunk("two\n", 8, false), chunk("three\n", 14, true)}));
  ManualClock clock;
  const SteadyTime start = clock.now();
  CliResult r = run({"--broker", broker.address(), "logs", "-f", kId}, clock);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "one\ntwo\nthree\n");
  auto requests = logs_requests(broker);
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].offset, 0);
  EXPECT_EQ(requests[1].offset, 4);
  EXPECT_EQ(requests[2].offset, 4);
  EXPECT_EQ(requests[3].offset, 8);
  // A pause after each answer that left it caught up, none after eof.
  EXPECT_EQ(clock.now() - start, Millis(3 * 250));
}

TEST(CliLogs, TailAsksForTheLastLinesOnceThenFollowsByOffset) {
  FakeBroker broker(scripted({chunk("9\n10\n", 30, false), chunk("11\n", 33, true)}));
  ManualClock clock;
  CliResult r = run({"--broker", broker.address(), "logs", kId, "--tail", "2", "-f"}, clock);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "9\n10\n11\n");
  auto requests = logs_requests(broker);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].tail_lines, 2);
  EXPECT_EQ(requests[1].tail_lines, 0);
  EXPECT_EQ(requests[1].offset, 30);
}

TEST(CliLogs, TailZeroPrintsOnlyWhatComesNext) {
  FakeBroker broker(scripted({chunk("old line\n", 40, false), chunk("new\n", 44, true)}));
  ManualClock clock;
  CliResult r = run({"--broker", broker.address(), "logs", kId, "--tail", "0", "-f"}, clock);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "new\n");
  EXPECT_EQ(logs_requests(broker).at(1).offset, 40);
}

TEST(CliLogs, FollowWaitsForATaskThatIsNotPlacedYet) {
  protocol::Reply not_placed;
  not_placed.status = Status::unavailable("task X has not been placed on a node yet");
  FakeBroker broker(scripted({not_placed, not_placed, chunk("up\n", 3, true)}));
  ManualClock clock;
  CliResult r = run({"--broker", broker.address(), "logs", "-f", kId}, clock);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "up\n");
  EXPECT_EQ(r.err, "cube-client: waiting: task X has not been placed on a node yet\n")
      << "said once";
  EXPECT_EQ(logs_requests(broker).size(), 3u);

  // Without -f the same answer is an error.
  FakeBroker once(scripted({not_placed}));
  r = run({"--broker", once.address(), "logs", kId}, clock);
  EXPECT_EQ(r.code, kExitBrokerError);
  EXPECT_THAT(r.err, HasSubstr("not been placed"));
}

TEST(CliLogs, BrokerErrorsExitOneWithTheMessage) {
  protocol::Reply missing;
  missing.status = Status::not_found(std::string("no task with ID ") + kId);
  FakeBroker broker(scripted({missing}));
  ManualClock clock;
  CliResult r = run({"--broker", broker.address(), "logs", kId}, clock);
  EXPECT_EQ(r.code, kExitBrokerError);
  EXPECT_THAT(r.err, HasSubstr("not_found: no task with ID"));
  EXPECT_EQ(r.out, "");
}

TEST(CliLogs, UsageErrorsSendNothing) {
  FakeBroker broker(scripted({chunk("", 0, true)}));
  ManualClock clock;
  EXPECT_EQ(run({"--broker", broker.address(), "logs"}, clock).code, kExitUsage);
  EXPECT_EQ(run({"--broker", broker.address(), "logs", kId, "--tail", "ten"}, clock).code,
            kExitUsage);
  EXPECT_EQ(run({"--broker", broker.address(), "logs", kId, "--tail", "-1"}, clock).code,
            kExitUsage);
  EXPECT_TRUE(broker.requests().empty());
}

}  // namespace
}  // namespace cube
