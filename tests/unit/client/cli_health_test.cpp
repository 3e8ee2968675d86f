// cube-client's health check flags: what `submit`/`run` send, and the usage errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

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

CliResult run(std::vector<std::string> args) {
  ManualClock clock;
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

// Answers every SUBMIT with the task and kId.
FakeResponse accept_submit(size_t, const ReceivedRequest& request) {
  protocol::Reply reply;
  auto submit = protocol::decode_as<protocol::SubmitRequest>(request.body);
  if (submit.is_ok()) {
    reply.task = submit->task;
    reply.task->id = kId;
  }
  return FakeResponse::answer(reply);
}

Task submitted(const FakeBroker& broker) {
  auto requests = broker.requests();
  EXPECT_EQ(requests.size(), 1u);
  if (requests.empty())
    return {};
  auto submit = protocol::decode_as<protocol::SubmitRequest>(requests[0].body);
  EXPECT_TRUE(submit.is_ok()) << submit.status().to_string();
  return submit.is_ok() ? submit->task : Task{};
}

TEST(CliHealth, SubmitSendsThePathIntervalTimeoutAndRetries) {
  FakeBroker broker(accept_submit);
  CliResult r =
      run({"submit", "--broker", broker.address(), "--name", "web", "--image",
           "cube/busybox:latest", "-p", "8080/tcp", "--health", "/health", "--health-interval",
           "200ms", "--health-timeout", "1s", "--health-retries", "2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  Task t = submitted(broker);
  EXPECT_EQ(t.health_check, "/health");
  EXPECT_EQ(t.health_interval_ms, 200);
  EXPECT_EQ(t.health_timeout_ms, 1000);
  EXPECT_EQ(t.health_retries, 2);
}

TEST(CliHealth, RunTakesTheSameFlagsAndLeavesUnsetOnesToTheAgent) {
  FakeBroker broker(accept_submit);
  CliResult r = run({"run", "--broker", broker.address(), "web", "cube/busybox:latest", "-p",
                     "8080/tcp", "--health", "/", "--health-retries", "5"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  Task t = submitted(broker);
  EXPECT_EQ(t.health_check, "/");
  EXPECT_EQ(t.health_retries, 5);
  EXPECT_EQ(t.health_interval_ms, 0) << "0 = the agent's --health-interval";
  EXPECT_EQ(t.health_timeout_ms, 0);
}

TEST(CliHealth, BadValuesAreUsageErrorsAndNothingIsSent) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--health-interval", "soon"}, "--health-interval"},
      {{"--health-interval", "0s"}, "--health-interval must be more than 0"},
      {{"--health-timeout", "-1s"}, "--health-timeout"},
      {{"--health-retries", "0"}, "--health-retries: \"0\" is not a number from 1 to 1000"},
      {{"--health-retries", "three"}, "--health-retries"},
  };
  for (const auto& [flags, needle] : cases) {
    FakeBroker broker(accept_submit);
    std::vector<std::string> args = {"submit", "--broker", broker.address(),      "--name",
                                     "web",    "--image",  "cube/busybox:latest", "--health",
                                     "/health"};
    args.insert(args.end(), flags.begin(), flags.end());
    CliResult r = run(args);
    EXPECT_EQ(r.code, kExitUsage) << flags[0] << " " << flags[1];
    EXPECT_THAT(r.err, HasSubstr(needle));
    EXPECT_TRUE(broker.requests().empty());
  }
}

TEST(CliHealth, FlagsCannotBeMixedWithATaskFile) {
  FakeBroker broker(accept_submit);
  CliResult r =
      run({"submit", "--broker", broker.address(), "-f", "task.json", "--health-interval", "1s"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("not both"));
  EXPECT_TRUE(broker.requests().empty());
}

}  // namespace
}  // namespace cube
