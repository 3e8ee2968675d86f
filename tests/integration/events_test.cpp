// The event feed end to end (docs/events.md): a real cube-broker and exec agents, followed by the
// real cube-client (`events`, `list --watch`) and by curl on the gateway's GET /events, each
// spawned with its stdout on a pipe that the test reads line by line as it arrives. Latency is
// measured by timestamps: the broker's own time for a change (the task's history) against the
// wall time the client's line reached the test, never by sleeping.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/spawn.h"
#include "common/unique_fd.h"
#include "tests/integration/cluster.h"

extern char** environ;

namespace cube::test {
namespace {

using json = nlohmann::json;

// A child whose stdout the test reads line by line as it arrives (stderr goes to a file).
class LineStream {
 public:
  LineStream(const std::vector<std::string>& argv, const std::string& stderr_path) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    read_end_ = UniqueFd(fds[0]);
    UniqueFd write_end(fds[1]);
    SpawnActions actions;
    ::posix_spawn_file_actions_adddup2(actions.get(), write_end.get(), STDOUT_FILENO);
    ::posix_spawn_file_actions_addopen(actions.get(), STDERR_FILENO, stderr_path.c_str(),
                                       O_WRONLY | O_CREAT | O_APPEND, 0644);
    SpawnAttr attr;
    attr.reset_signals();
    auto args = c_strings(argv);
    if (::posix_spawn(&pid_, args[0], actions.get(), attr.get(), args.data(), environ) != 0)
      throw std::runtime_error("cannot start " + argv[0]);
  }
  ~LineStream() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  LineStream(const LineStream&) = delete;
  LineStream& operator=(const LineStream&) = delete;

  struct Line {
    std::string text;
    SystemTime arrived;
  };

  // The next whole line, or nullopt when none came within `timeout` (or the child closed its
  // stdout).
  std::optional<Line> next(std::chrono::milliseconds timeout) {
    SteadyTime deadline = system_clock().now() + timeout;
    while (true) {
      if (size_t nl = buffer_.find('\n'); nl != std::string::npos) {
        Line line{buffer_.substr(0, nl), arrived_};
        buffer_.erase(0, nl + 1);
        return line;
      }
      int64_t left = millis_until(system_clock().now(), deadline);
      if (left == 0)
        return std::nullopt;
      pollfd p{read_end_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0)
        continue;
      char chunk[4096];
      ssize_t n = ::read(read_end_.get(), chunk, sizeof chunk);
      if (n <= 0)
        return std::nullopt;
      arrived_ = system_clock().wall();
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // The first line for which pred holds, within `timeout` in all.
  std::optional<Line> until(const std::function<bool(const std::string&)>& pred,
                            std::chrono::milliseconds timeout) {
    SteadyTime deadline = system_clock().now() + timeout;
    while (true) {
      int64_t left = millis_until(system_clock().now(), deadline);
      auto line = next(std::chrono::milliseconds(left));
      if (!line)
        return std::nullopt;
      if (pred(line->text))
        return line;
    }
  }

  // Sends `sig` and waits up to `timeout` for the exit code (-1: killed or still running).
  int stop(int sig, std::chrono::milliseconds timeout) {
    ::kill(pid_, sig);
    SteadyTime deadline = system_clock().now() + timeout;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (millis_until(system_clock().now(), deadline) == 0)
        return -1;
      pollfd none{-1, 0, 0};
      ::poll(&none, 0, 10);  // waitpid cannot be polled; 10 ms steps, bounded by the deadline
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd read_end_;
  std::string buffer_;
  SystemTime arrived_{};
};

std::vector<std::string> client_argv(const Cluster& c, std::vector<std::string> args) {
  std::vector<std::string> argv = {binary("cube-client"), "--broker", c.address()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

json parse(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

// An event's Time ("2026-12-06T22:40:01.123Z", protocol/task_json.h format_rfc3339) in Unix ms;
// 0 when it is not one.
int64_t rfc3339_ms(const json& time) {
  std::tm tm{};
  int ms = 0;
  if (!time.is_string() ||
      std::sscanf(time.get<std::string>().c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(::timegm(&tm)) * 1000 + ms;
}

// The time the broker recorded for the task's entry into `state` (its history), in Unix ms.
int64_t history_time(Cluster& c, const std::string& id, TaskState state) {
  Client client = client_for(c, Millis(3000));
  auto details = client.get(id);
  if (!details.is_ok())
    return 0;
  for (const auto& e : details->events) {
    if (e.state == state)
      return e.timestamp_ms;
  }
  return 0;
}

// EVENTS requests the broker holds now (its feed.subscribers gauge); 0 when it cannot say.
uint64_t waiting_subscribers(const Cluster& c) {
  Client client = client_for(c, Millis(3000));
  auto status = client.status();
  if (!status.is_ok())
    return 0;
  auto it = status->counters.find("feed.subscribers");
  return it == status->counters.end() ? 0 : it->second;
}

TEST(Events, ASubmittedTaskShowsPendingScheduledRunningCompletedInOrder) {
  Cluster c;
  c.start_broker();
  c.start_agent("a");
  LineStream events(client_argv(c, {"events", "-o", "json", "--filter", "type=task"}),
                    (c.dir() / "events.err").string());
  // Submit only once the broker holds the subscriber's request: it follows from now.
  ASSERT_TRUE(eventually([&] { return waiting_subscribers(c) >= 1; }, 10s)) << c.logs();
  std::string id = c.submit({"--name", "feed-1", "--driver", "exec", "--", "sh", "-c", "exit 0"});

  std::vector<std::string> states;
  uint64_t last_index = 0;
  auto done = events.until(
      [&](const std::string& line) {
        json e = parse(line);
        if (!e.is_object() || e["Task"]["ID"] != id)
          return false;
        EXPECT_GT(e["Index"].get<uint64_t>(), last_index) << line;
        last_index = e["Index"].get<uint64_t>();
        states.push_back(e["Task"]["State"]);
        EXPECT_EQ(e["Type"], "task");
        EXPECT_EQ(e["Task"]["Name"], "feed-1");
        return e["Task"]["State"] == "Completed";
      },
      20s);
  ASSERT_TRUE(done.has_value()) << "seen: " << json(states).dump() << "\n" << c.logs();
  EXPECT_EQ(states, (std::vector<std::string>{"Pending", "Scheduled", "Running", "Completed"}));
  json completed = parse(done->text);
  EXPECT_EQ(completed["Task"]["Node"], "a");
  EXPECT_EQ(completed["Task"]["PreviousState"], "Running");
  EXPECT_EQ(events.stop(SIGINT, 5s), 0) << "events exits 0 on SIGINT";
}

TEST(Events, ANodeKilledWithSigkillShowsLost) {
  Cluster c;
  c.start_broker({"--heartbeat", "200ms", "--node-grace", "1s"});
  c.start_agent("a");
  c.start_agent("doomed");
  LineStream events(client_argv(c, {"events", "-o", "json", "--filter", "node=doomed"}),
                    (c.dir() / "events.err").string());
  ASSERT_TRUE(eventually([&] { return waiting_subscribers(c) >= 1; }, 10s)) << c.logs();
  c.agent("doomed").signal(SIGKILL);
  // Suspect after 3 missed heartbeats (600 ms), then lost at the grace (1 s).
  auto suspect = events.next(15s);
  ASSERT_TRUE(suspect.has_value()) << c.logs();
  json s = parse(suspect->text);
  EXPECT_EQ(s["Node"]["State"], "suspect") << suspect->text;
  EXPECT_EQ(s["Node"]["PreviousState"], "ready") << suspect->text;
  auto lost = events.until(
      [](const std::string& line) { return parse(line)["Node"]["State"] == "lost"; }, 15s);
  ASSERT_TRUE(lost.has_value()) << c.logs();
  json e = parse(lost->text);
  EXPECT_GT(e["Index"].get<uint64_t>(), s["Index"].get<uint64_t>());
  EXPECT_EQ(e["Type"], "node");
  EXPECT_EQ(e["Node"]["Name"], "doomed");
  EXPECT_EQ(e["Node"]["PreviousState"], "suspect");
  EXPECT_EQ(events.stop(SIGTERM, 5s), 0);
}

TEST(Events, ASinceTooOldIsAResetThenTheFeedGoesOnFromNextIndex) {
  Cluster c;
  c.start_broker({"--event-buffer", "4"});
  c.start_agent("a");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(
        c.submit({"--name", "old-" + std::to_string(i), "--driver", "exec", "--", "true"}));
  for (const auto& id : ids)
    ASSERT_TRUE(c.wait_task(
        id, [](const json& t) { return state_of(t) == 3; }, 20s));

  // The library: too_old with the newest index; resynchronising means a LIST, then from there.
  Client client = client_for(c, Millis(3000));
  auto page = client.events(1, {}, Millis(0));
  ASSERT_TRUE(page.is_ok()) << page.status().to_string();
  EXPECT_TRUE(page->too_old);
  EXPECT_NE(page->message.find("reload"), std::string::npos) << page->message;
  uint64_t next = page->next_index;
  EXPECT_GE(next, 12u) << "3 tasks x 4 changes and a node join";
  auto snapshot = client.list();
  ASSERT_TRUE(snapshot.is_ok());
  EXPECT_EQ(snapshot->size(), 3u);

  // The CLI: a reset line, then the next change after it.
  LineStream events(client_argv(c, {"events", "-o", "json", "--since", "1"}),
                    (c.dir() / "events.err").string());
  auto reset = events.next(10s);
  ASSERT_TRUE(reset.has_value()) << c.logs();
  json r = parse(reset->text);
  EXPECT_EQ(r["Type"], "reset") << reset->text;
  EXPECT_EQ(r["NextIndex"], next);
  std::string id = c.submit({"--name", "after-reset", "--driver", "exec", "--", "true"});
  auto after = events.next(10s);
  ASSERT_TRUE(after.has_value());
  json e = parse(after->text);
  EXPECT_EQ(e["Index"], next + 1) << after->text;
  EXPECT_EQ(e["Task"]["ID"], id);

  // A since from the future (from before a broker restart) is too old too.
  auto future = client.events(next + 1000, {}, Millis(0));
  ASSERT_TRUE(future.is_ok());
  EXPECT_TRUE(future->too_old);
  // A bad filter is refused naming the field; the CLI exits 1.
  auto bad = client.events(0, {.type = "pod"}, Millis(0));
  EXPECT_TRUE(bad.status().is_invalid());
  auto cli = c.cli({"events", "--filter", "type=pod"});
  EXPECT_EQ(cli.status.code, 1);
  EXPECT_TRUE(contains(cli.err, "filter type")) << cli.err;
}

TEST(Events, ListWatchRedrawsWithin100MsOfTheChange) {
  Cluster c;
  c.start_broker();
  c.start_agent("a");
  LineStream watch(client_argv(c, {"list", "--watch"}), (c.dir() / "watch.err").string());
  // The first drawing (an empty list: a header or a note), before anything changes.
  ASSERT_TRUE(watch.next(10s).has_value()) << "no first table\n" << c.logs();
  std::string id =
      c.submit({"--name", "watched", "--driver", "exec", "--", "sh", "-c", "sleep 30"});
  auto running = watch.until(
      [&](const std::string& l) { return contains(l, id.substr(0, 12)) && contains(l, "Running"); },
      20s);
  ASSERT_TRUE(running.has_value()) << c.logs();
  int64_t changed_ms = history_time(c, id, TaskState::Running);
  ASSERT_GT(changed_ms, 0);
  int64_t lag_ms = to_unix_ms(running->arrived) - changed_ms;
  std::cout << "list --watch showed Running " << lag_ms << " ms after the broker's change\n";
  EXPECT_LT(lag_ms, 100);
  EXPECT_EQ(watch.stop(SIGINT, 5s), 0);
  c.cli({"stop", id});
}

TEST(Events, NodesWatchRedrawsWithin100MsOfANodeJoiningAndBeingLost) {
  Cluster c;
  c.start_broker({"--heartbeat", "200ms", "--node-grace", "1s"});
  c.start_agent("a");
  LineStream watch(client_argv(c, {"nodes", "--watch"}), (c.dir() / "watch.err").string());
  LineStream events(client_argv(c, {"events", "-o", "json", "--filter", "node=late-node"}),
                    (c.dir() / "events.err").string());
  ASSERT_TRUE(watch.next(10s).has_value()) << "no first table\n" << c.logs();
  ASSERT_TRUE(eventually([&] { return waiting_subscribers(c) >= 2; }, 10s)) << c.logs();

  // The broker's time of each change is its feed event's Time; the watch's line must follow
  // within 100 ms of it.
  auto lag_ms = [&](const std::string& state) -> int64_t {
    auto shown = watch.until(
        [&](const std::string& l) { return contains(l, "late-node") && contains(l, state); }, 20s);
    auto event =
        events.until([&](const std::string& l) { return parse(l)["Node"]["State"] == state; }, 20s);
    if (!shown || !event)
      return -1;
    int64_t lag = to_unix_ms(shown->arrived) - rfc3339_ms(parse(event->text)["Time"]);
    std::cout << "nodes --watch showed " << state << " " << lag
              << " ms after the broker's change\n";
    return lag;
  };
  // Not waiting for it to be listed ready: the test must read the watch's lines as they come
  // (a line's arrival is when the test reads it).
  c.start_agent("late-node", {}, /*wait_ready=*/false);
  int64_t joined = lag_ms("ready");
  ASSERT_GE(joined, 0) << c.logs();
  EXPECT_LT(joined, 100);
  c.agent("late-node").signal(SIGKILL);
  int64_t lost = lag_ms("lost");
  ASSERT_GE(lost, 0) << c.logs();
  EXPECT_LT(lost, 100);
  EXPECT_EQ(watch.stop(SIGINT, 5s), 0);
  EXPECT_EQ(events.stop(SIGINT, 5s), 0);
}

// GET /events on the gateway, read by curl as it streams.
class EventsHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string ready = (c.dir() / "http.ready").string();
    c.start_broker({"--http", "127.0.0.1:0", "--http-ready-file", ready});
    std::ifstream in(ready);
    std::getline(in, address);
    ASSERT_FALSE(address.empty());
    c.start_agent("a");
  }
  std::unique_ptr<LineStream> curl(const std::string& query,
                                   const std::vector<std::string>& headers = {}) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-sN", "--max-time", "60"};
    for (const auto& h : headers) {
      argv.push_back("-H");
      argv.push_back(h);
    }
    argv.push_back("http://" + address + "/events" + query);
    return std::make_unique<LineStream>(argv, (c.dir() / "curl.err").string());
  }
  // The SSE events of `stream` as (id, event, data) until pred(data) holds.
  struct Sse {
    std::string id, event;
    json data;
  };
  std::optional<Sse> next_event(LineStream& stream, std::chrono::milliseconds timeout) {
    Sse e;
    while (auto line = stream.next(timeout)) {
      const std::string& t = line->text;
      if (t.starts_with("id: "))
        e.id = t.substr(4);
      else if (t.starts_with("event: "))
        e.event = t.substr(7);
      else if (t.starts_with("data: "))
        e.data = parse(t.substr(6));
      else if (t.empty() && !e.event.empty())
        return e;
    }
    return std::nullopt;
  }
  int status_of(const std::string& query) {
    auto r = run_command({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                          "--max-time", "5", "http://" + address + "/events" + query},
                         10s);
    return std::atoi(r.out.c_str());
  }

  Cluster c;
  std::string address;
};

TEST_F(EventsHttp, StreamsTheSameEventsFiltersAndResumesFromLastEventId) {
  auto tasks = curl("?type=task");
  auto nobody = curl("?node=no-such-node");
  ASSERT_TRUE(eventually([&] { return waiting_subscribers(c) >= 2; }, 10s)) << c.logs();
  std::string id = c.submit({"--name", "sse-1", "--driver", "exec", "--", "true"});
  std::vector<std::string> states;
  std::string running_id;
  while (auto e = next_event(*tasks, 20s)) {
    EXPECT_EQ(e->event, "task");
    EXPECT_EQ(e->id, std::to_string(e->data["Index"].get<uint64_t>()));
    states.push_back(e->data["Task"]["State"]);
    if (e->data["Task"]["State"] == "Running")
      running_id = e->id;
    if (e->data["Task"]["State"] == "Completed")
      break;
  }
  EXPECT_EQ(states, (std::vector<std::string>{"Pending", "Scheduled", "Running", "Completed"}))
      << c.logs();
  ASSERT_FALSE(running_id.empty());

  // Resume after Running: the next event is Completed.
  auto resumed = curl("?type=task", {"Last-Event-ID: " + running_id});
  auto first = next_event(*resumed, 10s);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->data["Task"]["State"], "Completed");
  EXPECT_EQ(first->data["Task"]["ID"], id);

  // The node filter that names nothing got nothing (not even the task's events).
  EXPECT_FALSE(nobody->next(std::chrono::milliseconds(200)).has_value());

  // Too old: a reset event with the index to go on from.
  auto future = curl("?since=100000");
  auto reset = next_event(*future, 10s);
  ASSERT_TRUE(reset.has_value());
  EXPECT_EQ(reset->event, "reset");
  EXPECT_TRUE(reset->data.contains("NextIndex"));

  // Four streams are open (tasks, nobody, resumed, future): a fifth is refused, a bad one
  // still told what is wrong.
  EXPECT_EQ(status_of("?type=task"), 503);
  EXPECT_EQ(status_of("?type=pod"), 400);
  EXPECT_EQ(status_of("?colour=red"), 400);
  EXPECT_EQ(status_of("?since=x"), 400);
}

}  // namespace
}  // namespace cube::test
