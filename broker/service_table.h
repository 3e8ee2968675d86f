// ServiceTable: the services the broker keeps (protocol/service.h, docs/services.md), the
// tasks made for each, and what the next group commit must write about them. The broker loop
// owns it; the service handlers change services, the reconciler loop (broker/service_loop.h)
// reads them and adds tasks.
//
// The task index lists, per service name, the IDs of every task made for it (current and
// ended), so the reconciler walks a service's tasks without scanning the task table. A removed
// service's entry stays until its tasks were stopped (forget_tasks); tasks loaded from the store
// whose service is not stored (the broker died between the two transactions of a removal) show
// up in orphans().
//
// Thread-safety: none; broker loop thread. Nothing blocks.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/service_reconciler.h"
#include "protocol/service.h"

namespace cube::broker {

class ServiceTable {
 public:
  // nullptr when there is no service of that name. The pointer is valid until the next put()
  // or remove() of that name.
  const Service* find(std::string_view name) const;
  // Every service, by name.
  const std::map<std::string, Service, std::less<>>& services() const { return services_; }
  size_t size() const { return services_.size(); }

  // Called by put() and remove() with the service before (nullptr: new) and after (nullptr:
  // removed) the change, before it is made (the event feed, broker/feed_events.h).
  using ChangeObserver = std::function<void(const Service* before, const Service* after)>;
  void on_change(ChangeObserver observer) { observer_ = std::move(observer); }

  // Adds or replaces the service of that name, and marks it for the next commit.
  void put(Service service);
  // Removes the service (a no-op for an unknown name) and marks the removal for the next
  // commit. Its task index stays until forget_tasks().
  void remove(std::string_view name);
  // Puts back a service loaded from the store; not marked for commit.
  void restore(Service service);

  // Records that task `task_id` was made for (or loaded as a task of) service `service`.
  void add_task(std::string_view service, std::string task_id);
  // The IDs of the tasks made for `service`, oldest first; empty when none.
  const std::vector<std::string>& task_ids(std::string_view service) const;
  // Names that have tasks but no service (removed, their tasks possibly still running).
  std::vector<std::string> orphans() const;
  // Drops the task index of `name` (after its tasks were stopped).
  void forget_tasks(std::string_view name);

  // The progress of the rollout of service `name` (made empty when absent). Kept in memory
  // while the service rolls, never stored: after a restart the slots pass again by their
  // tasks' start times.
  RolloutProgress& rollout(std::string_view name);
  // Forgets the progress of `name`'s rollout (it ended, or the service was removed).
  void end_rollout(std::string_view name);

  // A removal, rollback or restart answered to request `request_id` (client request IDs start
  // at random), so that a Lazy Pirate retry of that request (same request id) after the first
  // try landed is answered as the first was instead of "no service named" or a second
  // restart. Keeps the last kAnswersKept.
  void note_answer(uint64_t request_id, Service answered);
  // The service as request `request_id` about `name` left it; nullptr when there was none.
  const Service* answer_to(uint64_t request_id, std::string_view name) const;
  // Enough for every retry in flight: a client retries within seconds.
  static constexpr size_t kAnswersKept = 64;

  // The names put or removed since the last take_changed(), for the service loop.
  bool has_changed() const { return !changed_.empty(); }
  std::set<std::string, std::less<>> take_changed() { return std::exchange(changed_, {}); }

  // What the next commit must write: the services put and the names removed since the last
  // take_uncommitted(), each name in one of the two only.
  bool has_uncommitted() const { return !dirty_.empty() || !removed_.empty(); }
  void take_uncommitted(std::vector<Service>& upserts, std::vector<std::string>& removed);

 private:
  std::map<std::string, Service, std::less<>> services_;
  std::map<std::string, std::vector<std::string>, std::less<>> tasks_;
  std::set<std::string, std::less<>> dirty_;
  std::set<std::string, std::less<>> removed_;
  std::set<std::string, std::less<>> changed_;
  std::deque<std::pair<uint64_t, Service>> answers_;  // oldest first
  std::map<std::string, RolloutProgress, std::less<>> rollouts_;
  ChangeObserver observer_;
};

}  // namespace cube::broker
