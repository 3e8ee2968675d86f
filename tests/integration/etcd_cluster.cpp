#include "tests/integration/etcd_cluster.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "broker/etcd_client.h"

namespace cube::test {

using namespace std::chrono_literals;

std::string etcd_binary() {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    size_t colon = dirs.find(':');
    std::filesystem::path candidate = std::filesystem::path(dirs.substr(0, colon)) / "etcd";
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate.string();
    if (colon == std::string_view::npos)
      break;
    dirs.remove_prefix(colon + 1);
  }
  return "";
}

void require_etcd() {
  if (!etcd_binary().empty())
    return;
  const char* ci = std::getenv("CI");
  if (ci != nullptr && std::string_view(ci) == "true")
    FAIL() << "CI=true: the etcd store tests must run here, and there is no etcd on PATH "
              "(scripts/install-deps.sh installs etcd-server)";
  GTEST_SKIP() << "no etcd on PATH (apt-get install etcd-server, or scripts/install-deps.sh)";
}

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

EtcdCluster::EtcdCluster(int members) : size_(members), dir_("cube-etcd") {}

EtcdCluster::~EtcdCluster() {
  members_.clear();  // SIGKILL + reap each; dir_ then removes the data dirs
}

std::string EtcdCluster::store_spec(const std::string& prefix) const {
  std::string out = "etcd://";
  for (size_t i = 0; i < endpoints_.size(); ++i)
    out += (i == 0 ? "" : ",") + endpoints_[i];
  return out + prefix;
}

void EtcdCluster::kill_member(size_t i) {
  members_.at(i).reset();
}

int EtcdCluster::leader_member() const {
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    if (!members_[i])
      continue;
    broker::EtcdClientOptions options;
    options.endpoints = {endpoints_[i]};
    broker::EtcdClient client(options);
    auto status = client.call("/v3/maintenance/status", nlohmann::json::object());
    if (!status.is_ok())
      continue;
    std::string member = status->value("header", nlohmann::json::object()).value("member_id", "");
    std::string leader = status->value("leader", "");
    if (!member.empty() && member == leader)
      return static_cast<int>(i);
  }
  return -1;
}

void EtcdCluster::restart_member(size_t i) {
  ASSERT_FALSE(members_.at(i).has_value()) << "member " << i << " is running";
  members_[i].emplace(argv_.at(i), log_paths_.at(i));
}

std::string EtcdCluster::logs() const {
  std::string out;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i])
      out += "--- etcd member " + std::to_string(i) + ":\n" + members_[i]->output();
  }
  return out;
}

void EtcdCluster::start() {
  ASSERT_FALSE(etcd_binary().empty()) << "no etcd on PATH";
  // A port picked by free_loopback_port can be taken before etcd binds it; then etcd exits
  // ("address already in use") and the cluster is started again on other ports.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (start_once())
      return;
  }
  FAIL() << "etcd did not start within 30 s (3 tries):\n" << logs();
}

bool EtcdCluster::start_once() {
  members_.clear();
  endpoints_.clear();
  argv_.clear();
  log_paths_.clear();
  const int run = starts_++;
  std::vector<std::string> peer_urls;
  std::string initial_cluster;
  for (int i = 0; i < size_; ++i) {
    endpoints_.push_back("127.0.0.1:" + std::to_string(free_loopback_port()));
    peer_urls.push_back("http://127.0.0.1:" + std::to_string(free_loopback_port()));
    initial_cluster += (i == 0 ? "" : ",") + ("m" + std::to_string(i)) + "=" + peer_urls.back();
  }
  for (int i = 0; i < size_; ++i) {
    std::string name = "m" + std::to_string(i);
    std::string client_url = "http://" + endpoints_[i];
    std::string data = (dir_ / (name + "-" + std::to_string(run))).string();
    argv_.push_back(
        {etcd_binary(), "--name", name, "--data-dir", data, "--listen-client-urls", client_url,
         "--advertise-client-urls", client_url, "--listen-peer-urls", peer_urls[i],
         "--initial-advertise-peer-urls", peer_urls[i], "--initial-cluster", initial_cluster,
         "--initial-cluster-state", "new", "--initial-cluster-token",
         "cube-test-" + std::to_string(::getpid()) + "-" + std::to_string(run),
         // Loopback: heartbeats every 50 ms and elections after 500 ms (defaults 100/1000) make
         // a cluster ready, and a failover happen, in about a second.
         "--heartbeat-interval", "50", "--election-timeout", "500", "--log-level", "warn"});
    log_paths_.push_back((dir_ / (name + "-" + std::to_string(run) + ".log")).string());
    members_.emplace_back(Process(argv_.back(), log_paths_.back()));
  }
  // Ready when every member answers a read, which needs an elected leader.
  std::vector<broker::EtcdClient> clients;
  for (const auto& endpoint : endpoints_) {
    broker::EtcdClientOptions options;
    options.endpoints = {endpoint};
    options.connect_timeout = Millis(200);
    options.request_timeout = Millis(1000);
    clients.emplace_back(options);
  }
  broker::EtcdRangeRequest probe;
  probe.key = "/health-probe";
  bool died = false;
  bool ready = eventually(
      [&] {
        for (auto& member : members_) {
          if (!member->running()) {
            died = true;  // most likely a port taken meanwhile: start again
            return true;
          }
        }
        for (auto& client : clients) {
          if (!client.range(probe).is_ok())
            return false;
        }
        return true;
      },
      30s, 20ms);
  return ready && !died;
}

}  // namespace cube::test
