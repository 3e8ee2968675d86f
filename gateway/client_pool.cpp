#include "gateway/client_pool.h"

#include <utility>

namespace cube::gateway {

namespace {

ClientOptions failing_over(ClientOptions options) {
  options.failover = true;
  return options;
}

}  // namespace

ClientPool::ClientPool(ClientOptions options, const Clock& clock)
    : leader_options_(failing_over(options)), own_options_(std::move(options)), clock_(clock) {}

ClientPool::~ClientPool() = default;

std::unique_ptr<Client> ClientPool::lease(Kind kind) {
  {
    MutexLock lock(mu_);
    auto& idle = kind == Kind::Leader ? idle_ : idle_own_;
    if (!idle.empty()) {
      auto client = std::move(idle.back());
      idle.pop_back();
      return client;
    }
  }
  // Outside the lock: a Client's constructor only copies options (the socket opens on first use).
  return std::make_unique<Client>(kind == Kind::Leader ? leader_options_ : own_options_, clock_);
}

void ClientPool::give_back(Kind kind, std::unique_ptr<Client> client) {
  MutexLock lock(mu_);
  auto& idle = kind == Kind::Leader ? idle_ : idle_own_;
  if (idle.size() < kMaxIdleClients)
    idle.push_back(std::move(client));
  // Otherwise it is destroyed here; closing a REQ socket with linger 0 does not block.
}

template <typename Fn>
auto ClientPool::with_client(Kind kind, Fn&& fn) {
  std::unique_ptr<Client> client = lease(kind);
  auto result = fn(*client);
  give_back(kind, std::move(client));
  return result;
}

Result<Task> ClientPool::submit(const Task& task) {
  return with_client(Kind::Leader, [&](Client& c) { return c.submit(task); });
}

Result<std::vector<protocol::SubmitOutcome>> ClientPool::submit_many(std::span<const Task> tasks) {
  return with_client(Kind::Leader, [&](Client& c) { return c.submit_many(tasks); });
}

Result<std::vector<Task>> ClientPool::list() {
  return with_client(Kind::Leader, [](Client& c) { return c.list(); });
}

Result<TaskDetails> ClientPool::get(const std::string& task_id) {
  return with_client(Kind::Leader, [&](Client& c) { return c.get(task_id); });
}

Result<Task> ClientPool::stop(const std::string& task_id) {
  return with_client(Kind::Leader, [&](Client& c) { return c.stop(task_id); });
}

Result<protocol::LogsChunk> ClientPool::logs(const std::string& task_id, int64_t offset,
                                             int64_t tail_lines) {
  return with_client(Kind::Leader,
                     [&](Client& c) { return c.logs(task_id, offset, 0, tail_lines); });
}

Result<std::vector<protocol::NodeInfo>> ClientPool::nodes() {
  return with_client(Kind::Leader, [](Client& c) { return c.nodes(); });
}

Result<protocol::BrokerStatus> ClientPool::status() {
  return with_client(Kind::Own, [](Client& c) { return c.status(); });
}

Result<protocol::Reply> ClientPool::service(const ServiceRequest& request) {
  return with_client(Kind::Leader, [&](Client& c) {
    return std::visit([&](const auto& r) { return c.call(r); }, request);
  });
}

Result<EventsPage> ClientPool::events(uint64_t since, const protocol::EventFilter& filter,
                                      Millis wait) {
  return with_client(Kind::Leader, [&](Client& c) { return c.events(since, filter, wait); });
}

size_t ClientPool::idle_for_test() const {
  MutexLock lock(mu_);
  return idle_.size();
}

}  // namespace cube::gateway
