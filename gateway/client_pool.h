// ClientPool: BrokerApi over a pool of cube::Client, one per concurrent caller. A Client owns a
// REQ socket and is not thread-safe, so each call leases an idle Client (or makes a new one),
// uses it on the calling thread and returns it. The pool therefore grows to the number of HTTP
// worker threads that call at once and keeps at most kMaxIdleClients.
//
// Thread-safety: every method may be called from any thread concurrently. Calls block as
// cube::Client calls do (at most timeout_per_try x tries).
#pragma once

#include <memory>
#include <vector>

#include "client/client.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "gateway/broker_api.h"

namespace cube::gateway {

// Idle clients kept for reuse: the HTTP server's default thread pool has 8 workers, and a spare
// client costs only an idle TCP connection to the broker.
inline constexpr size_t kMaxIdleClients = 16;

class ClientPool final : public BrokerApi {
 public:
  // `options` are used for every Client (endpoint, per-try timeout, tries). `clock` must outlive
  // the pool.
  explicit ClientPool(ClientOptions options, const Clock& clock = system_clock());
  ~ClientPool() override;
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;

  Result<Task> submit(const Task& task) override;
  Result<std::vector<protocol::SubmitOutcome>> submit_many(std::span<const Task> tasks) override;
  Result<std::vector<Task>> list() override;
  Result<TaskDetails> get(const std::string& task_id) override;
  Result<Task> stop(const std::string& task_id) override;
  Result<std::vector<protocol::NodeInfo>> nodes() override;
  Result<protocol::BrokerStatus> status() override;

  // Clients waiting for reuse; for tests.
  size_t idle_for_test() const CUBE_EXCLUDES(mu_);

 private:
  // Runs fn(client) with a leased client and returns it to the pool afterwards.
  template <typename Fn>
  auto with_client(Fn&& fn);

  std::unique_ptr<Client> lease() CUBE_EXCLUDES(mu_);
  void give_back(std::unique_ptr<Client> client) CUBE_EXCLUDES(mu_);

  const ClientOptions options_;
  const Clock& clock_;
  mutable Mutex mu_;
  std::vector<std::unique_ptr<Client>> idle_ CUBE_GUARDED_BY(mu_);
};

}  // namespace cube::gateway
