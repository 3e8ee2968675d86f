#include "gateway/client_pool.h"

#include <utility>

namespace cube::gateway {

ClientPool::ClientPool(ClientOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

ClientPool::~ClientPool() = default;

std::unique_ptr<Client> ClientPool::lease() {
  {
    MutexLock lock(mu_);
    if (!idle_.empty()) {
      auto client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
  }
  // Outside the lock: a Client's constructor only copies options (the socket opens on first use).
  return std::make_unique<Client>(options_, clock_);
}

void ClientPool::give_back(std::unique_ptr<Client> client) {
  MutexLock lock(mu_);
  if (idle_.size() < kMaxIdleClients)
    idle_.push_back(std::move(client));
  // Otherwise it is destroyed here; closing a REQ socket with linger 0 does not block.
}

template <typename Fn>
auto ClientPool::with_client(Fn&& fn) {
  std::unique_ptr<Client> client = lease();
  auto result = fn(*client);
  give_back(std::move(client));
  return result;
}

Result<Task> ClientPool::submit(const Task& task) {
  return with_client([&](Client& c) { return c.submit(task); });
}

Result<std::vector<protocol::SubmitOutcome>> ClientPool::submit_many(std::span<const Task> tasks) {
  return with_client([&](Client& c) { return c.submit_many(tasks); });
}

Result<std::vector<Task>> ClientPool::list() {
  return with_client([](Client& c) { return c.list(); });
}

Result<TaskDetails> ClientPool::get(const std::string& task_id) {
  return with_client([&](Client& c) { return c.get(task_id); });
}

Result<Task> ClientPool::stop(const std::string& task_id) {
  return with_client([&](Client& c) { return c.stop(task_id); });
}

Result<std::vector<protocol::NodeInfo>> ClientPool::nodes() {
  return with_client([](Client& c) { return c.nodes(); });
}

Result<protocol::BrokerStatus> ClientPool::status() {
  return with_client([](Client& c) { return c.status(); });
}

size_t ClientPool::idle_for_test() const {
  MutexLock lock(mu_);
  return idle_.size();
}

}  // namespace cube::gateway
