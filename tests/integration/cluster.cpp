#include "tests/integration/cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

#include "common/clock.h"
#include "common/ids.h"

namespace cube::test {

std::string binary(const std::string& name) {
  static const std::map<std::string, std::string> kFolder = {
      {"cube-broker", "broker"}, {"cube-agent", "agent"}, {"cube-client", "client"}};
  return std::string(CUBE_BIN_DIR) + "/" + kFolder.at(name) + "/" + name;
}

Cluster::Cluster(ClusterNetwork network) : network_(std::move(network)), dir_("cube-it") {}

Cluster::~Cluster() {
  agents_.clear();  // SIGKILL + reap each
  broker_.reset();
}

void Cluster::start_broker(const std::vector<std::string>& extra_args, int port) {
  std::string ready = (dir_ / "broker.ready").string();
  std::remove(ready.c_str());
  std::vector<std::string> argv = {binary("cube-broker"), "--bind",
                                   network_.broker_host + ":" + std::to_string(port),
                                   "--ready-file", ready, "--log-level", "debug",
                                   // The default SQLite store lives here, so a restarted broker
                                   // finds its tasks and tests never share a store.
                                   "--data-dir", (dir_ / "broker-data").string()};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  argv.insert(argv.begin(), network_.broker_prefix.begin(), network_.broker_prefix.end());
  std::string log = (dir_ / ("broker-" + std::to_string(broker_starts_++) + ".log")).string();
  broker_.emplace(argv, log);
  std::string content;
  bool bound = eventually(
      [&] {
        std::ifstream in(ready);
        std::getline(in, content);
        return !content.empty();
      },
      15s);
  ASSERT_TRUE(bound) << "broker did not bind within 15 s:\n" << broker_->output();
  address_ = content;
  port_ = std::stoi(content.substr(content.rfind(':') + 1));
}

void Cluster::stop_broker(int sig) {
  if (!broker_)
    return;
  broker_->signal(sig);
  ASSERT_TRUE(broker_->wait(15s).has_value()) << "broker did not exit after signal " << sig;
}

void Cluster::start_agent(const std::string& name, const std::vector<std::string>& extra_args,
                          bool wait_ready) {
  std::vector<std::string> argv = {
      binary("cube-agent"),   "--broker",    address_, "--name", name, "--data-dir",
      (dir_ / name).string(), "--log-level", "debug"};
  // exec unless the test picks another driver (docker_cluster_test.cpp: --driver docker).
  if (std::find(extra_args.begin(), extra_args.end(), "--driver") == extra_args.end())
    argv.insert(argv.end(), {"--driver", "exec"});
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  argv.insert(argv.begin(), network_.agent_prefix.begin(), network_.agent_prefix.end());
  agents_.erase(name);
  agents_.emplace(name, Process(argv, (dir_ / (name + ".log")).string()));
  if (!wait_ready)
    return;
  bool ready = eventually(
      [&] {
        auto n = nodes();
        for (const auto& node : n) {
          if (node.value("Name", "") == name && node.value("State", "") == "ready")
            return true;
        }
        return false;
      },
      15s, 100ms);
  ASSERT_TRUE(ready) << "agent " << name << " did not register within 15 s\n" << logs();
}

CommandResult Cluster::cli(const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {binary("cube-client"), "--broker", address_};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.begin(), network_.client_prefix.begin(), network_.client_prefix.end());
  return run_command(argv, timeout);
}

std::string Cluster::submit(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"submit"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = cli(argv);
  EXPECT_EQ(r.status.code, 0) << "submit failed: " << r.err;
  std::string id = r.out;
  while (!id.empty() && (id.back() == '\n' || id.back() == ' '))
    id.pop_back();
  return id;
}

namespace {
nlohmann::json parse_or_null(const CommandResult& r) {
  if (r.status.code != 0)
    return nullptr;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}
}  // namespace

nlohmann::json Cluster::list() {
  return parse_or_null(cli({"list", "-o", "json"}));
}
nlohmann::json Cluster::get(const std::string& id) {
  return parse_or_null(cli({"get", id, "-o", "json"}));
}
nlohmann::json Cluster::nodes() {
  auto j = parse_or_null(cli({"nodes", "-o", "json"}));
  return j.is_array() ? j : nlohmann::json::array();
}

bool Cluster::wait_task(const std::string& id,
                        const std::function<bool(const nlohmann::json&)>& pred,
                        std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        auto t = get(id);
        return t.is_object() && pred(t);
      },
      timeout, 100ms);
}

std::string Cluster::logs() const {
  std::ostringstream out;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    if (entry.path().extension() != ".log")
      continue;
    std::ifstream in(entry.path());
    out << "----- " << entry.path().filename().string() << "\n" << in.rdbuf() << "\n";
  }
  return out.str();
}

Client client_for(const Cluster& c, Millis timeout_per_try, int tries) {
  ClientOptions options;
  options.endpoint = "tcp://" + c.address();
  options.timeout_per_try = timeout_per_try;
  options.tries = tries;
  return Client(options);
}

KilledStream submit_stream_and_kill_broker(Cluster& c, int threads, size_t kill_after) {
  std::mutex mu;
  KilledStream out;
  std::atomic<int> failed_after_kill{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      Client client = client_for(c);
      for (int n = 0; !stop.load(); ++n) {
        Task t = exec_task("stream-" + std::to_string(i) + "-" + std::to_string(n), {"true"});
        t.id = new_uuid_v7(system_clock().wall());
        auto stored = client.submit(t);
        if (!stored.is_ok()) {
          ++failed_after_kill;
          return;  // the broker is gone: this submit was not acknowledged
        }
        std::lock_guard lock(mu);
        out.acknowledged.push_back(stored->id);
      }
    });
  }
  out.reached_kill_point = eventually(
      [&] {
        std::lock_guard lock(mu);
        return out.acknowledged.size() >= kill_after;
      },
      60s, 5ms);
  c.stop_broker(SIGKILL);
  stop = true;
  for (auto& t : workers)
    t.join();
  out.failed_after_kill = failed_after_kill.load();
  return out;
}

Result<ListedIds> check_listed(Client& client, const std::vector<std::string>& ids) {
  auto tasks = client.list();
  if (!tasks.is_ok())
    return tasks.status();
  std::set<std::string> present;
  for (const auto& t : *tasks)
    present.insert(t.id);
  ListedIds out;
  out.listed = present.size();
  for (const auto& id : ids)
    out.missing += present.contains(id) ? 0 : 1;
  return out;
}

Task exec_task(const std::string& name, std::vector<std::string> cmd,
               const std::string& restart_policy) {
  Task t;
  t.name = name;
  t.driver = "exec";
  t.cmd = std::move(cmd);
  t.restart_policy = restart_policy;
  return t;
}

void kill_group(pid_t pgid) {
  if (pgid > 1)
    ::kill(-pgid, SIGKILL);
}

std::vector<ExecTaskProcess> exec_task_processes(const std::filesystem::path& agent_dir) {
  const std::string tasks_dir =
      (std::filesystem::weakly_canonical(agent_dir) / "tasks").string() + "/";
  std::vector<ExecTaskProcess> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid_text = entry.path().filename().string();
    pid_t pid = 0;
    auto [end, parsed] = std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
    if (parsed != std::errc() || end != pid_text.data() + pid_text.size())
      continue;
    // Fails for processes that ended meanwhile and for zombies (no fds left): neither runs.
    std::error_code link_error;
    std::string out = std::filesystem::read_symlink(entry.path() / "fd" / "1", link_error).string();
    if (link_error || !out.starts_with(tasks_dir) || !out.ends_with(".log"))
      continue;
    std::string rest = out.substr(tasks_dir.size());  // <task id>/<attempt>.log
    size_t slash = rest.find('/');
    if (slash == std::string::npos)
      continue;
    ExecTaskProcess process;
    process.pid = pid;
    process.task_id = rest.substr(0, slash);
    std::string attempt = rest.substr(slash + 1, rest.size() - slash - 1 - 4);
    auto [attempt_end, attempt_parsed] =
        std::from_chars(attempt.data(), attempt.data() + attempt.size(), process.attempt);
    if (attempt_parsed != std::errc() || attempt_end != attempt.data() + attempt.size())
      continue;
    found.push_back(std::move(process));
  }
  return found;
}

GroupReaper::~GroupReaper() {
  for (const auto& dir : agent_dirs) {
    for (const auto& process : exec_task_processes(dir))
      groups.insert(::getpgid(process.pid));
  }
  for (pid_t g : groups)
    kill_group(g);
}

pid_t read_pid_file(const std::string& path) {
  std::ifstream in(path);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

}  // namespace cube::test
