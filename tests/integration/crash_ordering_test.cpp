// Broker crashes against the outbox rule (docs/architecture.md, section 4), with real processes:
// one cube-broker on a SQLite store with sync=full, one exec agent, and several users submitting
// bursts of tasks through cube::Client or through the broker's HTTP gateway. The broker is
// SIGKILLed at a random point of every burst (and in every other round once more, soon after the
// restart) and restarted on the same store and port. Each task appends its name to a marker file
// when it starts and then keeps running (restart policy "no"), so a task that ran twice leaves
// two lines. After every restart the test compares what really runs (processes whose stdout is
// an attempt's log: exec_task_processes) with what the broker says runs, and the marker file and
// `cube-client list` with what the users were acknowledged. Figures are printed for the report.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "client/client.h"
#include "common/clock.h"
#include "common/ids.h"
#include "protocol/task_json.h"
#include "tests/integration/cluster.h"

namespace cube::test {
namespace {

using json = nlohmann::json;

constexpr int kRounds = 24;  // one SIGKILL in each burst
constexpr int kUsers = 4;    // submitting threads
constexpr int kTasksPerUser = 2;
constexpr int kTasksPerRound = kUsers * kTasksPerUser;
// Where in a burst the kill lands: once K of its submits are acknowledged (K uniform in
// 0..kTasksPerRound; all of them: while the placements are being committed), and then after a
// delay uniform in [0, kMaxKillDelay]. Counting acknowledgements rather than time keeps most
// kills inside the burst however fast the machine commits (a sync=full commit takes a few
// milliseconds here, a burst some tens).
constexpr Millis kMaxKillDelay{10};
// Every other round the restarted broker is killed once more, within kMaxRekillDelay of its
// start: while the agent registers again (it notices the new epoch in the beacon, once a
// second) and the broker commits what it reconciled, and while users' retries are in flight.
constexpr Millis kMaxRekillDelay{1500};
constexpr auto kConvergeTimeout = 30s;
constexpr const char* kAgent = "a";

int64_t wall_ms() {
  return to_unix_ms(system_clock().wall());
}

// What a user was told about one task: its ID, and when the broker created it.
struct Acknowledgement {
  std::string id;
  // RFC 3339 UTC with milliseconds, as the task JSON has it (format_rfc3339): fixed-width
  // fields, so these strings sort as the times do.
  std::string created_at;
};

// One user's way to submit a task named `name`, called on that user's thread only; returns when
// the user holds an acknowledgement or has given up.
using SubmitFn = std::function<Result<Acknowledgement>(const std::string& name)>;

// One submit as its user saw it.
struct SubmitRecord {
  std::string name;
  Result<Acknowledgement> outcome = Status::internal("never submitted");
  int64_t started_ms = 0;
  int64_t ended_ms = 0;
};

// One SIGKILL of the broker, and what it cut.
struct Kill {
  int64_t killed_ms = 0;
  int64_t restarted_ms = 0;  // when the restarted broker was ready
  bool in_burst = true;      // else soon after a restart
  bool submits_outstanding = false;
  int cut = 0;         // submits sent before the kill and answered after the restart
  int cut_stored = 0;  // of those, stored by the killed broker: the kill took only the reply
};

using Attempts = std::vector<std::pair<std::string, uint32_t>>;  // (task ID, attempt), sorted

std::string describe(const Attempts& attempts) {
  std::ostringstream out;
  for (const auto& [id, attempt] : attempts)
    out << " " << id << "#" << attempt;
  return out.str();
}

// The rounds of one test: start the cluster, then per round a burst from kUsers threads, a
// SIGKILL at a random point of it, a restart on the same store and port, and the checks once
// the cluster has converged.
class CrashRounds {
 public:
  CrashRounds() : store_("sqlite:" + (c.dir() / "store" / "cube.db").string() + "?sync=full") {
    reaper_.agent_dirs = {agent_dir()};
  }

  // Starts the broker with `broker_args` (besides its store) and the agent.
  void start(const std::vector<std::string>& broker_args) {
    set_restart_args(broker_args);
    c.start_broker(restart_args_);
    if (::testing::Test::HasFatalFailure())
      return;
    port_ = c.port();
    // Every task keeps running: room for all of them.
    c.start_agent(kAgent, {"--slots", std::to_string(kRounds * kTasksPerRound + 16)});
  }
  // What later starts pass instead of start()'s broker_args (a port picked by the first one).
  void set_restart_args(const std::vector<std::string>& broker_args) {
    restart_args_ = broker_args;
    restart_args_.insert(restart_args_.end(), {"--store", store_});
  }

  // The command of the task named `name`: it leaves one line in the marker file when it starts.
  std::vector<std::string> command(const std::string& name) const {
    return {"sh", "-c", "echo " + name + " >> " + marker() + "; exec sleep 3600"};
  }

  // Runs every round; make_user(u) builds user u's SubmitFn on its thread. Stops at the first
  // round that failed.
  void run(const std::function<SubmitFn(int user)>& make_user) {
    SteadyTime start = system_clock().now();
    for (int round = 0; round < kRounds; ++round) {
      run_round(round, make_user);
      if (::testing::Test::HasFailure()) {
        std::printf("[crash-ordering] failed in round %d\n", round);
        break;
      }
    }
    elapsed_ = std::chrono::duration_cast<Millis>(system_clock().now() - start);
  }

  // One line of figures for the report.
  void print_figures(const char* label) const {
    int in_bursts = 0;
    int with_outstanding = 0;
    int after_commit = 0;
    int cut = 0;
    int cut_stored = 0;
    for (const auto& k : kills_) {
      in_bursts += k.in_burst ? 1 : 0;
      with_outstanding += k.submits_outstanding ? 1 : 0;
      after_commit += k.cut_stored > 0 ? 1 : 0;
      cut += k.cut;
      cut_stored += k.cut_stored;
    }
    std::printf(
        "[crash-ordering] %s: %zu kills: %d in bursts (%d with submits outstanding, %d between a "
        "commit and its replies) and %zu soon after a restart; %zu tasks acknowledged; %d "
        "submits sent before a kill in a burst were answered after the restart (%d had been "
        "stored by the killed broker, %d were stored by the restarted one); highest attempt %u; "
        "%lld ms; seed %u\n",
        label, kills_.size(), in_bursts, with_outstanding, after_commit, kills_.size() - in_bursts,
        acknowledged_.size(), cut, cut_stored, cut - cut_stored, max_attempt_,
        static_cast<long long>(elapsed_.count()), seed_);
  }

  const std::vector<Kill>& kills() const { return kills_; }

  // The experiment happened: a kill per round, some of them inside a burst.
  void expect_kills_inside_bursts() const {
    EXPECT_GE(std::count_if(kills_.begin(), kills_.end(), [](const Kill& k) { return k.in_burst; }),
              20);
    EXPECT_TRUE(std::any_of(kills_.begin(), kills_.end(), [](const Kill& k) {
      return k.submits_outstanding;
    })) << "no kill landed with submits outstanding";
  }

  Cluster c;

 private:
  std::filesystem::path agent_dir() const { return c.dir() / kAgent; }
  std::string marker() const { return (c.dir() / "marker").string(); }

  void run_round(int round, const std::function<SubmitFn(int user)>& make_user) {
    std::vector<std::vector<SubmitRecord>> records(kUsers);
    std::atomic<int> outstanding{0};
    std::atomic<int> acknowledged{0};
    std::latch go(kUsers + 1);
    Kill kill;
    {
      std::vector<std::jthread> users;  // joined on every way out of this block
      for (int u = 0; u < kUsers; ++u) {
        users.emplace_back([&, u] {
          SubmitFn submit = make_user(u);
          go.arrive_and_wait();
          for (int n = 0; n < kTasksPerUser; ++n) {
            SubmitRecord& r = records[u].emplace_back();
            r.name =
                "r" + std::to_string(round) + "-u" + std::to_string(u) + "-" + std::to_string(n);
            r.started_ms = wall_ms();
            ++outstanding;
            r.outcome = submit(r.name);
            --outstanding;
            acknowledged += r.outcome.is_ok() ? 1 : 0;
            r.ended_ms = wall_ms();
          }
        });
      }
      go.arrive_and_wait();
      int kill_after = kill_after_(rng_);
      EXPECT_TRUE(eventually([&] { return acknowledged.load() >= kill_after; }, 30s, 1ms))
          << "only " << acknowledged.load() << " of " << kTasksPerRound
          << " submits were acknowledged within 30 s\n"
          << c.logs();
      // The experiment itself, not a wait for something: where in the burst the kill lands.
      system_clock().sleep_for(Millis(kill_delay_(rng_)));
      kill.submits_outstanding = outstanding.load() > 0;
      kill_and_restart(kill);
      if (round % 2 == 1 && !::testing::Test::HasFatalFailure()) {
        system_clock().sleep_for(Millis(rekill_delay_(rng_)));  // the experiment again
        Kill again{.in_burst = false};
        kill_and_restart(again);
        kills_.push_back(again);
      }
      if (::testing::Test::HasFatalFailure())
        return;
    }
    take_records(records, kill);
    kills_.push_back(kill);
    if (::testing::Test::HasFailure())
      return;
    expect_converged();
  }

  // SIGKILLs the broker, restarts it on the same store and port, and checks what runs then.
  void kill_and_restart(Kill& kill) {
    kill.killed_ms = wall_ms();
    c.stop_broker(SIGKILL);
    // What runs now was started by the killed broker's ASSIGNs.
    std::vector<ExecTaskProcess> left_running = exec_task_processes(agent_dir());
    c.start_broker(restart_args_, port_);
    kill.restarted_ms = wall_ms();
    if (::testing::Test::HasFatalFailure())
      return;
    expect_store_recorded(left_running);
  }

  // The outbox rule itself: every attempt the agent runs right after the kill is one the store
  // recorded, as the restarted broker (which has just loaded it) shows. The broker may have
  // placed a task again since it loaded the store, so a later attempt is fine; a task it does
  // not know, or an earlier attempt, means an ASSIGN left before its commit.
  void expect_store_recorded(const std::vector<ExecTaskProcess>& left_running) {
    json tasks = c.list();
    ASSERT_TRUE(tasks.is_array()) << "the restarted broker does not answer LIST\n" << c.logs();
    std::map<std::string, uint32_t> attempt_of;
    for (const auto& t : tasks)
      attempt_of[t.value("ID", "")] = t.value("Attempt", 0u);
    for (const auto& p : left_running) {
      auto it = attempt_of.find(p.task_id);
      EXPECT_TRUE(it != attempt_of.end() && it->second >= p.attempt)
          << "pid " << p.pid << " runs attempt " << p.attempt << " of task " << p.task_id
          << ", but the store the broker restarted from has "
          << (it == attempt_of.end() ? "no such task" : "attempt " + std::to_string(it->second))
          << "\n"
          << c.logs();
    }
  }

  void take_records(const std::vector<std::vector<SubmitRecord>>& records, Kill& kill) {
    for (const auto& user : records) {
      for (const auto& r : user) {
        if (!r.outcome.is_ok()) {
          ADD_FAILURE() << "the submit of " << r.name
                        << " never completed: " << r.outcome.status().to_string();
          continue;
        }
        EXPECT_TRUE(acknowledged_.emplace(r.name, r.outcome->id).second) << r.name;
        // Answered by the restarted broker (or later) for a request sent before the kill.
        if (r.started_ms > kill.killed_ms || r.ended_ms < kill.restarted_ms)
          continue;
        ++kill.cut;
        // Stored, then the kill took the reply: the kill landed between a commit and its
        // replies, and the retry found the task in the store.
        const std::string& created = r.outcome->created_at;
        kill.cut_stored += !created.empty() && created < format_rfc3339(kill.killed_ms) ? 1 : 0;
      }
    }
  }

  // What the broker, the kernel and the marker file say, at one moment.
  struct Observation {
    json list;                                // cube-client list -o json
    Attempts running;                         // Running on the agent, as the broker says
    Attempts processes;                       // as /proc says
    std::map<std::string, int> marker_lines;  // task name -> lines
  };

  Observation observe() {
    Observation o;
    // The processes first: a task the broker places after this look is then in the list too.
    for (const auto& p : exec_task_processes(agent_dir()))
      o.processes.emplace_back(p.task_id, p.attempt);
    o.list = c.list();
    if (o.list.is_array()) {
      for (const auto& t : o.list) {
        if (state_of(t) == 2 && t.value("Node", "") == kAgent)
          o.running.emplace_back(t.value("ID", ""), t.value("Attempt", 0u));
      }
    }
    std::sort(o.processes.begin(), o.processes.end());
    std::sort(o.running.begin(), o.running.end());
    std::ifstream in(marker());
    for (std::string line; std::getline(in, line);)
      ++o.marker_lines[line];
    return o;
  }

  bool converged(const Observation& o) const {
    if (!o.list.is_array() || o.processes != o.running)
      return false;
    std::set<std::string> running;
    for (const auto& [id, attempt] : o.running)
      running.insert(id);
    for (const auto& [name, id] : acknowledged_) {
      if (!running.contains(id) || !o.marker_lines.contains(name))
        return false;
    }
    return true;
  }

  // Waits until every acknowledged task runs and the broker and the kernel agree, then checks
  // the three promises: the agent runs only what the broker shows Running there, with the same
  // attempt; no task ran twice; every acknowledged task is listed exactly once, by ID and by
  // name.
  void expect_converged() {
    Observation o;
    bool settled = eventually(
        [&] {
          o = observe();
          return converged(o);
        },
        kConvergeTimeout, 100ms);
    ASSERT_TRUE(o.list.is_array()) << "cube-client list fails\n" << c.logs();

    Attempts unknown;  // runs, but the broker does not show it Running there with that attempt
    std::set_difference(o.processes.begin(), o.processes.end(), o.running.begin(), o.running.end(),
                        std::back_inserter(unknown));
    Attempts missing;  // Running per the broker, but no such process
    std::set_difference(o.running.begin(), o.running.end(), o.processes.begin(), o.processes.end(),
                        std::back_inserter(missing));
    EXPECT_TRUE(unknown.empty()) << "the agent runs attempts the broker does not show Running "
                                 << "there:" << describe(unknown);
    EXPECT_TRUE(missing.empty()) << "the broker shows Running attempts nothing runs:"
                                 << describe(missing);
    for (const auto& [id, attempt] : o.processes)
      max_attempt_ = std::max(max_attempt_, attempt);

    for (const auto& [name, lines] : o.marker_lines) {
      EXPECT_LE(lines, 1) << "task " << name << " ran " << lines << " times";
      EXPECT_TRUE(acknowledged_.contains(name)) << "task " << name << " ran unacknowledged";
    }
    std::map<std::string, int> listed_ids;
    std::map<std::string, int> listed_names;
    std::map<std::string, int> state_of_id;
    for (const auto& t : o.list) {
      ++listed_ids[t.value("ID", "")];
      ++listed_names[t.value("Name", "")];
      state_of_id[t.value("ID", "")] = state_of(t);
    }
    for (const auto& [name, id] : acknowledged_) {
      EXPECT_EQ(o.marker_lines[name], 1)
          << "task " << name << " (" << id << ") ran " << o.marker_lines[name] << " times";
      EXPECT_EQ(listed_ids[id], 1) << "acknowledged task " << name << " (" << id << ")";
      EXPECT_EQ(listed_names[name], 1) << "acknowledged task " << name << " (" << id << ")";
      EXPECT_EQ(state_of_id[id], 2) << "acknowledged task " << name << " (" << id << ")";
    }
    EXPECT_EQ(o.list.size(), acknowledged_.size()) << "tasks nobody was acknowledged";
    EXPECT_TRUE(settled) << "no convergence within " << kConvergeTimeout.count() << " s\n"
                         << o.list.dump() << "\n"
                         << c.logs();
  }

  GroupReaper reaper_;  // after c: kills the task processes while their dirs still exist
  const std::string store_;
  std::vector<std::string> restart_args_;
  int port_ = 0;
  unsigned seed_ = std::random_device()();
  std::mt19937 rng_{seed_};
  std::uniform_int_distribution<int> kill_after_{0, kTasksPerRound};
  std::uniform_int_distribution<int> kill_delay_{0, static_cast<int>(kMaxKillDelay.count())};
  std::uniform_int_distribution<int> rekill_delay_{0, static_cast<int>(kMaxRekillDelay.count())};

  std::map<std::string, std::string> acknowledged_;  // task name -> ID
  std::vector<Kill> kills_;
  uint32_t max_attempt_ = 0;
  Millis elapsed_{0};
};

// (1) Users of cube::Client: each submit gets its task ID before the first send and Lazy Pirate
// keeps resending it until the restarted broker answers, so every submit completes, once.
TEST(CrashOrdering, BrokerKilledMidBurstNeverLetsAnAgentRunWhatTheStoreLacks) {
  CrashRounds rounds;
  rounds.start({});
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  rounds.run([&](int) -> SubmitFn {
    // 500 ms per try, up to 30 s: a try cut by the kill is resent soon after the restart.
    auto client = std::make_shared<Client>(client_for(rounds.c, Millis(500), 60));
    return [client, &rounds](const std::string& name) -> Result<Acknowledgement> {
      auto stored = client->submit(exec_task(name, rounds.command(name), "no"));
      if (!stored)
        return stored.status();
      if (stored->name != name)
        return Status::internal("submitting " + name + " returned task " + stored->id + " named " +
                                stored->name);
      return Acknowledgement{stored->id, format_rfc3339(stored->created_ms)};
    };
  });
  rounds.print_figures("cube::Client");
  rounds.expect_kills_inside_bursts();
}

// What the HTTP users saw.
struct HttpFigures {
  std::mutex mu;
  std::vector<std::pair<int64_t, int64_t>> unanswered;  // (started_ms, ended_ms) of each POST
  int refused = 0;                                      // no connection: nothing was sent
  int cut_off = 0;                                      // sent, no answer
  int cut_off_stored = 0;                               // of those, found stored by name afterwards
  int resent_with_id = 0;  // of those, not stored, so sent again with an ID the user chose
};

// An HTTP user of the prior orchestrators' API, careful about retries: it POSTs a body without
// an ID. A POST that could not connect sent nothing and is sent again as is once the gateway is
// back. A POST that was sent but got no answer may have been stored: the gateway chose an ID the
// user never saw, so sending the same body again could store the task twice. The user first
// looks for its task by name; only if it is not there does it send the body again, now with an
// ID of its own, so that a resend cut off in turn can be sent again as is.
class HttpUser {
 public:
  HttpUser(int port, HttpFigures& figures) : http_("127.0.0.1", port), figures_(figures) {
    http_.set_connection_timeout(2, 0);
    http_.set_read_timeout(30, 0);  // beyond the gateway's own 7.5 s of broker tries
  }

  Result<Acknowledgement> submit(const std::string& name, const std::vector<std::string>& cmd) {
    json body = {{"Name", name},
                 {"Image", "busybox:latest"},
                 {"Cmd", cmd},
                 {"Driver", "exec"},
                 {"RestartPolicy", "no"}};
    while (true) {
      int64_t started = wall_ms();
      auto posted = http_.Post("/tasks", body.dump(), "application/json");
      if (posted) {
        if (posted->status != 201 && posted->status != 200)
          return Status::internal("POST /tasks answered " + std::to_string(posted->status) + ": " +
                                  posted->body);
        json task = json::parse(posted->body);
        return Acknowledgement{task.value("ID", ""), task.value("CreatedAt", "")};
      }
      bool sent = posted.error() != httplib::Error::Connection;
      {
        std::lock_guard lock(figures_.mu);
        figures_.unanswered.emplace_back(started, wall_ms());
        ++(sent ? figures_.cut_off : figures_.refused);
      }
      if (!eventually([&] { return gateway_answers(); }, 30s))
        return Status::unavailable("the gateway did not come back within 30 s");
      if (!sent || body.contains("ID"))
        continue;
      auto found = tasks_named(name);
      if (!found)
        return found.status();
      if (found->size() > 1)
        return Status::internal(std::to_string(found->size()) + " tasks are named " + name);
      if (found->size() == 1) {
        std::lock_guard lock(figures_.mu);
        ++figures_.cut_off_stored;
        return found->front();
      }
      body["ID"] = new_uuid_v7(system_clock().wall());
      std::lock_guard lock(figures_.mu);
      ++figures_.resent_with_id;
    }
  }

 private:
  bool gateway_answers() {
    auto r = http_.Get("/healthz");
    return r && r->status == 200;
  }

  Result<std::vector<Acknowledgement>> tasks_named(const std::string& name) {
    auto r = http_.Get("/tasks");
    if (!r || r->status != 200)
      return Status::unavailable("GET /tasks failed after the gateway came back");
    std::vector<Acknowledgement> found;
    for (const auto& t : json::parse(r->body)) {
      if (t.value("Name", "") == name)
        found.push_back({t.value("ID", ""), t.value("CreatedAt", "")});
    }
    return found;
  }

  httplib::Client http_;
  HttpFigures& figures_;
};

// (2) The same through the HTTP gateway, which runs inside the broker and dies with it, taking
// the POSTs in progress (and its own cube::Client retries) with it. So no kill can show whether
// the gateway chooses an ID before its SUBMIT (tests/unit/gateway/rest_api_test.cpp does); what
// this shows is how often an unanswered POST had been stored, and that a careful user still gets
// each task exactly once.
TEST(CrashOrdering, HttpSubmitsWithoutIdSurviveBrokerKillsExactlyOnce) {
  CrashRounds rounds;
  std::string ready = (rounds.c.dir() / "http.ready").string();
  rounds.start({"--http", "127.0.0.1:0", "--http-ready-file", ready});
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  std::string address;
  std::ifstream(ready) >> address;  // written before the broker's own ready file
  ASSERT_FALSE(address.empty()) << rounds.c.logs();
  int http_port = std::stoi(address.substr(address.rfind(':') + 1));
  rounds.set_restart_args({"--http", address});

  HttpFigures figures;
  rounds.run([&](int) -> SubmitFn {
    auto user = std::make_shared<HttpUser>(http_port, figures);  // shared: SubmitFn is copyable
    return [user, &rounds](const std::string& name) {
      return user->submit(name, rounds.command(name));
    };
  });
  rounds.print_figures("HTTP gateway");
  std::printf(
      "[crash-ordering] HTTP gateway: %zu POSTs got no answer: %d refused (nothing sent, sent "
      "again as is), %d cut off by the kill; of those %d had been stored (a blind resend of the "
      "body without ID would have stored each twice) and %d had not (sent again with an ID)\n",
      figures.unanswered.size(), figures.refused, figures.cut_off, figures.cut_off_stored,
      figures.resent_with_id);
  rounds.expect_kills_inside_bursts();
  // A POST goes unanswered only because of a kill: it was in flight then, or sent while the
  // broker was down.
  for (const auto& [started, ended] : figures.unanswered) {
    bool during_a_kill = false;
    for (const auto& k : rounds.kills())
      during_a_kill |= started <= k.restarted_ms && ended >= k.killed_ms;
    EXPECT_TRUE(during_a_kill) << "a POST from " << started << " to " << ended
                               << " ms got no answer while the broker was up";
  }
}

}  // namespace
}  // namespace cube::test
