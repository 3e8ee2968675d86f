// ClientPool: BrokerApi over a pool of cube::Client, one per concurrent caller. A Client owns a
// REQ socket and is not thread-safe, so each call leases an idle Client (or makes a new one),
// uses it on the calling thread and returns it. The pool therefore grows to the number of HTTP
// worker threads that call at once and keeps at most kMaxIdleClients.
//
// HA (docs/ha.md): the gateway's broker may be a standby. The clients of every call but status()
// fail over (ClientOptions::failover): a standby's not_leader answer sends the request on to the
// leader, so a gateway on a standby proxies to the leader, and each client keeps talking to the
// leader afterwards. status() (the source of /healthz and of /metrics' counters) always asks
// the gateway's own broker and returns its answer, standby or not, so /healthz says this
// broker's role.
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
  // `options` are used for every Client (endpoint, per-try timeout, tries), with failover on
  // for all but status()'s. `clock` must outlive the pool.
  explicit ClientPool(ClientOptions options, const Clock& clock = system_clock());
  ~ClientPool() override;
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;

  Result<Task> submit(const Task& task) override;
  Result<std::vector<protocol::SubmitOutcome>> submit_many(std::span<const Task> tasks) override;
  Result<std::vector<Task>> list() override;
  Result<TaskDetails> get(const std::string& task_id) override;
  Result<Task> stop(const std::string& task_id) override;
  Result<protocol::LogsChunk> logs(const std::string& task_id, int64_t offset,
                                   int64_t tail_lines) override;
  Result<std::vector<protocol::NodeInfo>> nodes() override;
  // The gateway's own broker's status (never redirected).
  Result<protocol::BrokerStatus> status() override;
  Result<protocol::Reply> service(const ServiceRequest& request) override;
  Result<EventsPage> events(uint64_t since, const protocol::EventFilter& filter,
                            Millis wait) override;

  // Clients waiting for reuse; for tests.
  size_t idle_for_test() const CUBE_EXCLUDES(mu_);

 private:
  // Which clients: failing over to the leader, or asking the gateway's own broker only.
  enum class Kind { Leader, Own };
  // Runs fn(client) with a leased client of `kind` and returns it to the pool afterwards.
  template <typename Fn>
  auto with_client(Kind kind, Fn&& fn);

  std::unique_ptr<Client> lease(Kind kind) CUBE_EXCLUDES(mu_);
  void give_back(Kind kind, std::unique_ptr<Client> client) CUBE_EXCLUDES(mu_);

  const ClientOptions leader_options_;  // failover on
  const ClientOptions own_options_;     // the options as given
  const Clock& clock_;
  mutable Mutex mu_;
  std::vector<std::unique_ptr<Client>> idle_ CUBE_GUARDED_BY(mu_);      // Kind::Leader
  std::vector<std::unique_ptr<Client>> idle_own_ CUBE_GUARDED_BY(mu_);  // Kind::Own
};

}  // namespace cube::gateway
