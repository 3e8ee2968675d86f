// The health prober's state machine on a ManualClock (grace, threshold, reset on success, late
// probes), the URL it probes, the settings it uses and the agent's default flags.
#include "agent/health_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cube::agent {
namespace {

using ::testing::HasSubstr;
using Kind = HealthProber::Outcome::Kind;

constexpr char kTask[] = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";
constexpr char kUrl[] = "http://127.0.0.1:49153/health";

HealthSettings settings(Millis interval = Millis(200), Millis timeout = Millis(100),
                        int32_t retries = 3) {
  return {kUrl, interval, timeout, retries};
}

Status http_404() {
  return Status::unavailable(std::string("GET ") + kUrl + ": HTTP 404");
}

class Prober : public ::testing::Test {
 protected:
  // Advances to the next probe, checks that exactly one is due for kTask/1, and returns it.
  HealthProber::Probe next_probe() {
    auto deadline = prober_.next_deadline();
    EXPECT_TRUE(deadline.has_value());
    if (deadline && *deadline > clock_.now())
      clock_.advance(std::chrono::duration_cast<Millis>(*deadline - clock_.now()));
    auto due = prober_.advance(clock_.now());
    EXPECT_TRUE(due.verdicts.empty());
    EXPECT_EQ(due.probes.size(), 1u);
    return due.probes.empty() ? HealthProber::Probe{} : due.probes[0];
  }
  HealthProber::Outcome answer(const HealthProber::Probe& p, const Status& result) {
    clock_.advance(Millis(5));
    return prober_.on_result(p.task_id, p.attempt, p.seq, result, clock_.now());
  }

  ManualClock clock_;
  HealthProber prober_;
};

TEST_F(Prober, NoProbeBeforeTheGraceOfOneInterval) {
  prober_.watch(kTask, 1, settings(), clock_.now());
  EXPECT_EQ(prober_.next_deadline(), clock_.now() + Millis(200));
  EXPECT_TRUE(prober_.advance(clock_.now()).probes.empty());
  clock_.advance(Millis(199));
  EXPECT_TRUE(prober_.advance(clock_.now()).probes.empty()) << "a slow starter is not probed";
  clock_.advance(Millis(1));
  auto due = prober_.advance(clock_.now());
  ASSERT_EQ(due.probes.size(), 1u);
  EXPECT_EQ(due.probes[0].task_id, kTask);
  EXPECT_EQ(due.probes[0].attempt, 1u);
  EXPECT_EQ(due.probes[0].url, kUrl);
  EXPECT_EQ(due.probes[0].timeout, Millis(100));
  // In flight: never a second probe of the same attempt at once.
  EXPECT_TRUE(prober_.advance(clock_.now() + Millis(150)).probes.empty());
}

TEST_F(Prober, ThresholdOfConsecutiveFailuresGivesTheVerdictWithTheLastError) {
  prober_.watch(kTask, 1, settings(), clock_.now());
  auto first = answer(next_probe(), http_404());
  EXPECT_EQ(first.kind, Kind::Failing);
  EXPECT_EQ(first.failures, 1);
  EXPECT_EQ(first.retries, 3);
  EXPECT_EQ(answer(next_probe(), http_404()).kind, Kind::Failing);
  auto last = answer(next_probe(), http_404());
  ASSERT_EQ(last.kind, Kind::Unhealthy);
  ASSERT_TRUE(last.verdict.has_value());
  EXPECT_EQ(last.verdict->task_id, kTask);
  EXPECT_EQ(last.verdict->attempt, 1u);
  EXPECT_EQ(last.verdict->reason,
            "health check failed 3 times: GET http://127.0.0.1:49153/health: HTTP 404");
  // Unhealthy: no more probes while the loop stops it.
  EXPECT_FALSE(prober_.next_deadline().has_value());
  clock_.advance(Millis(10000));
  EXPECT_TRUE(prober_.advance(clock_.now()).probes.empty());
}

TEST_F(Prober, ASuccessResetsTheCount) {
  prober_.watch(kTask, 1, settings(), clock_.now());
  EXPECT_EQ(answer(next_probe(), http_404()).kind, Kind::Failing);
  EXPECT_EQ(answer(next_probe(), http_404()).failures, 2);
  auto ok = answer(next_probe(), Status::ok());
  EXPECT_EQ(ok.kind, Kind::Healthy);
  EXPECT_TRUE(ok.recovered);
  // Two more failures are not enough now: the count started over.
  EXPECT_EQ(answer(next_probe(), http_404()).failures, 1);
  EXPECT_EQ(answer(next_probe(), http_404()).failures, 2);
  EXPECT_EQ(answer(next_probe(), Status::ok()).kind, Kind::Healthy);
  EXPECT_FALSE(answer(next_probe(), Status::ok()).recovered) << "nothing to recover from";
}

TEST_F(Prober, ProbesKeepTheirCadenceFromTheStartOfTheLastProbe) {
  prober_.watch(kTask, 1, settings(Millis(200)), clock_.now());
  const SteadyTime start = clock_.now();
  auto p = next_probe();
  EXPECT_EQ(clock_.now(), start + Millis(200));
  answer(p, Status::ok());  // 5 ms later
  EXPECT_EQ(prober_.next_deadline(), start + Millis(400));
}

TEST_F(Prober, ATimedOutProbeCountsAsAFailure) {
  prober_.watch(kTask, 1, settings(Millis(200), Millis(100), 2), clock_.now());
  // The HTTP client's own timeout comes back as a failed result.
  auto r = answer(next_probe(),
                  Status::unavailable(std::string("GET ") + kUrl + ": no answer within 100 ms"));
  EXPECT_EQ(r.kind, Kind::Failing);

  // A probe whose worker never answers is counted by the prober itself once its timeout and
  // the slack have passed, and its late answer is ignored.
  auto p = next_probe();
  const SteadyTime started = clock_.now();
  EXPECT_EQ(prober_.next_deadline(), started + Millis(100) + HealthProber::kLateAnswerSlack);
  clock_.advance(Millis(100) + HealthProber::kLateAnswerSlack - Millis(1));
  EXPECT_TRUE(prober_.advance(clock_.now()).verdicts.empty());
  clock_.advance(Millis(1));
  auto due = prober_.advance(clock_.now());
  ASSERT_EQ(due.verdicts.size(), 1u);
  EXPECT_THAT(due.verdicts[0].reason, HasSubstr("health check failed 2 times: GET " +
                                                std::string(kUrl) + ": no answer within 100 ms"));
  EXPECT_TRUE(due.probes.empty());
  EXPECT_EQ(answer(p, Status::ok()).kind, Kind::Ignored) << "too late to count";
}

TEST_F(Prober, ALateProbeBelowTheThresholdIsFollowedByTheNextOne) {
  prober_.watch(kTask, 1, settings(Millis(200), Millis(100), 3), clock_.now());
  auto late = next_probe();
  clock_.advance(Millis(100) + HealthProber::kLateAnswerSlack);
  auto due = prober_.advance(clock_.now());
  EXPECT_TRUE(due.verdicts.empty());
  ASSERT_EQ(due.probes.size(), 1u) << "the interval has long passed: probe again at once";
  EXPECT_NE(due.probes[0].seq, late.seq);
  EXPECT_EQ(answer(late, http_404()).kind, Kind::Ignored);
  auto r = answer(due.probes[0], http_404());
  EXPECT_EQ(r.failures, 2) << "the late probe counted once";
}

TEST_F(Prober, ForgottenAttemptsAreNotProbedAndTheirAnswersIgnored) {
  prober_.watch(kTask, 1, settings(), clock_.now());
  prober_.watch(kTask, 2, settings(Millis(300)), clock_.now());
  EXPECT_EQ(prober_.watched(), 2u);
  clock_.advance(Millis(200));
  auto due = prober_.advance(clock_.now());
  ASSERT_EQ(due.probes.size(), 1u);
  prober_.forget(kTask, 1);
  EXPECT_FALSE(prober_.is_watched(kTask, 1));
  EXPECT_EQ(answer(due.probes[0], http_404()).kind, Kind::Ignored);
  EXPECT_EQ(prober_.next_deadline(), SteadyTime(Millis(300))) << "attempt 2 only";
  prober_.forget(kTask, 2);
  prober_.forget(kTask, 7);  // unknown: ignored
  EXPECT_FALSE(prober_.next_deadline().has_value());
}

TEST_F(Prober, RearmAfterAFailedStopProbesAgainFromZero) {
  prober_.watch(kTask, 1, settings(Millis(200), Millis(100), 1), clock_.now());
  auto r = answer(next_probe(), http_404());
  ASSERT_EQ(r.kind, Kind::Unhealthy);
  EXPECT_EQ(r.verdict->reason,
            "health check failed 1 time: GET http://127.0.0.1:49153/health: HTTP 404");
  prober_.rearm(kTask, 1, clock_.now());
  EXPECT_EQ(prober_.next_deadline(), clock_.now() + Millis(200));
  EXPECT_EQ(answer(next_probe(), Status::ok()).kind, Kind::Healthy);
}

TEST_F(Prober, NonsenseSettingsAreRaisedToTheMinimum) {
  prober_.watch(kTask, 1, settings(Millis(0), Millis(0), 0), clock_.now());
  auto p = next_probe();
  EXPECT_EQ(p.timeout, Millis(1));
  EXPECT_EQ(answer(p, http_404()).kind, Kind::Unhealthy) << "at least one failure is needed";
}

// --- which URL ---

using Bindings = std::map<std::string, std::vector<PortBinding>>;

TEST(HealthCheckUrl, TheFirstPublishedTcpPortInTheSpecsOrder) {
  Bindings b = {{"53/udp", {{"127.0.0.1", "40000"}}},
                {"80/tcp", {{"127.0.0.1", "40001"}}},
                {"8080/tcp", {{"127.0.0.1", "40002"}}}};
  EXPECT_EQ(health_check_url("/health", {"53/udp", "8080/tcp", "80/tcp"}, b, "127.0.0.1"),
            "http://127.0.0.1:40002/health");
  EXPECT_EQ(health_check_url("/", {"80"}, b, "127.0.0.1"), "http://127.0.0.1:40001/")
      << "a port without /tcp means tcp";
}

TEST(HealthCheckUrl, WildcardBindingsUseThePublishAddress) {
  Bindings b = {{"80/tcp", {{"0.0.0.0", "40001"}}}};
  EXPECT_EQ(health_check_url("/h", {"80/tcp"}, b, "10.0.0.5"), "http://10.0.0.5:40001/h");
  EXPECT_EQ(health_check_url("/h", {"80/tcp"}, b, "0.0.0.0"), "http://127.0.0.1:40001/h");
  Bindings v6 = {{"80/tcp", {{"::1", "40001"}}}};
  EXPECT_EQ(health_check_url("/h", {"80/tcp"}, v6, "127.0.0.1"), "http://[::1]:40001/h");
}

TEST(HealthCheckUrl, UnpublishedPortsOfAnExecTaskAreProbedOnLoopback) {
  EXPECT_EQ(health_check_url("/ready", {"53/udp", "9000/tcp"}, {}, "127.0.0.1"),
            "http://127.0.0.1:9000/ready");
}

TEST(HealthCheckUrl, NothingToProbe) {
  Bindings b = {{"80/tcp", {{"127.0.0.1", "40001"}}}};
  EXPECT_EQ(health_check_url("", {"80/tcp"}, b, "127.0.0.1"), std::nullopt) << "no path";
  EXPECT_EQ(health_check_url("/h", {}, {}, "127.0.0.1"), std::nullopt) << "no port";
  EXPECT_EQ(health_check_url("/h", {"53/udp"}, {}, "127.0.0.1"), std::nullopt) << "UDP only";
  Bindings unbound = {{"80/tcp", {{"127.0.0.1", ""}}}};
  EXPECT_EQ(health_check_url("/h", {"80/tcp"}, unbound, "127.0.0.1"), std::nullopt);
}

TEST(HealthCheckUrl, BindingsTheSpecDoesNotNameAreUsedInOrder) {
  Bindings b = {{"8080/tcp", {{"127.0.0.1", "40002"}}}};
  EXPECT_EQ(health_check_url("/h", {}, b, "127.0.0.1"), "http://127.0.0.1:40002/h");
}

// --- settings and defaults ---

TEST(HealthSettingsOf, TaskValuesWinOverTheAgentsDefaults) {
  HealthDefaults defaults;
  Task t;
  HealthSettings d = health_settings(t, defaults, kUrl);
  EXPECT_EQ(d.url, kUrl);
  EXPECT_EQ(d.interval, Millis(10000));
  EXPECT_EQ(d.timeout, Millis(2000));
  EXPECT_EQ(d.retries, 3);
  t.health_interval_ms = 200;
  t.health_timeout_ms = 50;
  t.health_retries = 7;
  HealthSettings s = health_settings(t, defaults, kUrl);
  EXPECT_EQ(s.interval, Millis(200));
  EXPECT_EQ(s.timeout, Millis(50));
  EXPECT_EQ(s.retries, 7);
}

TEST(HealthDefaultsFlags, ParseAndNameTheBadFlag) {
  auto ok = parse_health_defaults("500ms", "1s", 2);
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(ok->interval, Millis(500));
  EXPECT_EQ(ok->timeout, Millis(1000));
  EXPECT_EQ(ok->retries, 2);
  EXPECT_THAT(parse_health_defaults("0s", "1s", 2).status().message(),
              HasSubstr("--health-interval"));
  EXPECT_THAT(parse_health_defaults("1s", "soon", 2).status().message(),
              HasSubstr("--health-timeout"));
  EXPECT_THAT(parse_health_defaults("1s", "1s", 0).status().message(),
              HasSubstr("--health-retries"));
}

}  // namespace
}  // namespace cube::agent
