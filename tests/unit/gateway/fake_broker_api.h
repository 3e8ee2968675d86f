// FakeBrokerApi: an in-memory stand-in for the broker behind the REST handlers. It keeps tasks
// in a map with the broker's observable rules (an existing ID returns the stored task, stop
// moves a task to Completed, NotFound for unknown IDs), records every call, and can be told to
// fail every call as an unreachable broker would.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "common/mutex.h"
#include "gateway/broker_api.h"
#include "protocol/task_validation.h"

namespace cube::gateway::testing {

class FakeBrokerApi final : public BrokerApi {
 public:
  Result<Task> submit(const Task& task) override {
    MutexLock lock(mu_);
    calls_.push_back("submit");
    if (unavailable_)
      return down();
    return submit_locked(task);
  }
  // Each task as submit() would take it, after the broker's validation.
  Result<std::vector<protocol::SubmitOutcome>> submit_many(std::span<const Task> tasks) override {
    MutexLock lock(mu_);
    calls_.push_back("submit_many");
    if (unavailable_)
      return down();
    std::vector<protocol::SubmitOutcome> outcomes;
    for (const Task& task : tasks) {
      Status valid =
          task.desired_state == TaskState::Completed ? Status::ok() : validate_task_spec(task);
      auto stored = valid.is_ok() ? submit_locked(task) : Result<Task>(valid);
      if (stored) {
        outcomes.push_back({stored->id, ErrorCode::Ok, ""});
      } else {
        outcomes.push_back({task.id, stored.status().code(), stored.status().message()});
      }
    }
    return outcomes;
  }
  Result<std::vector<Task>> list() override {
    MutexLock lock(mu_);
    calls_.push_back("list");
    if (unavailable_)
      return down();
    std::vector<Task> out;
    for (const auto& [id, t] : tasks_)
      out.push_back(t);
    return out;
  }
  Result<TaskDetails> get(const std::string& task_id) override {
    MutexLock lock(mu_);
    calls_.push_back("get");
    if (unavailable_)
      return down();
    auto it = tasks_.find(task_id);
    if (it == tasks_.end())
      return Status::not_found("no task with ID " + task_id);
    return TaskDetails{it->second, {TaskEvent{TaskState::Pending, 1700000000000, "", ""}}};
  }
  Result<Task> stop(const std::string& task_id) override {
    MutexLock lock(mu_);
    calls_.push_back("stop");
    if (unavailable_)
      return down();
    return stop_locked(task_id);
  }
  // The output set by set_logs from `offset` (tail_lines ignored); eof once the task stopped.
  Result<protocol::LogsChunk> logs(const std::string& task_id, int64_t offset,
                                   int64_t /*tail_lines*/) override {
    MutexLock lock(mu_);
    calls_.push_back("logs");
    if (unavailable_)
      return down();
    auto it = tasks_.find(task_id);
    if (it == tasks_.end())
      return Status::not_found("no task with ID " + task_id);
    const std::string& out = logs_[task_id];
    size_t from = std::min(out.size(), static_cast<size_t>(std::max<int64_t>(offset, 0)));
    return protocol::LogsChunk{out.substr(from), static_cast<int64_t>(out.size()),
                               it->second.state == TaskState::Completed};
  }
  void set_logs(const std::string& task_id, std::string output) {
    MutexLock lock(mu_);
    logs_[task_id] = std::move(output);
  }
  Result<std::vector<protocol::NodeInfo>> nodes() override {
    MutexLock lock(mu_);
    calls_.push_back("nodes");
    if (unavailable_)
      return down();
    return nodes_;
  }
  // No events ever happen here: an empty page from where the caller is; the broker's filter
  // check (an unknown type is Invalid).
  Result<EventsPage> events(uint64_t since, const protocol::EventFilter& filter, Millis) override {
    MutexLock lock(mu_);
    calls_.push_back("events");
    if (unavailable_)
      return down();
    if (!filter.type.empty() && filter.type != "task" && filter.type != "node" &&
        filter.type != "service")
      return Status::invalid("filter type: \"" + filter.type + "\" is not task, node or service");
    EventsPage page;
    page.next_index = since;
    return page;
  }
  Result<protocol::BrokerStatus> status() override {
    MutexLock lock(mu_);
    calls_.push_back("status");
    if (unavailable_)
      return down();
    return status_;
  }

  // Answers with the reply set by set_service_reply (the REST mapping is what the unit tests
  // check; the broker's service rules are tested against a real broker). Until one is set it
  // answers as a broker with no services would: an empty list, a created service echoed back at
  // version 1, and "no service named" for everything else (the fuzz target relies on this).
  Result<protocol::Reply> service(const ServiceRequest& request) override {
    MutexLock lock(mu_);
    calls_.push_back("service:" +
                     std::string(protocol::message_type_name(std::visit(
                         [](const auto& r) {
                           return static_cast<uint8_t>(
                               protocol::MessageTraits<std::decay_t<decltype(r)>>::kType);
                         },
                         request))));
    service_requests_.push_back(request);
    if (unavailable_)
      return down();
    if (service_reply_)
      return *service_reply_;
    return empty_broker_reply(request);
  }
  void set_service_reply(Result<protocol::Reply> reply) {
    MutexLock lock(mu_);
    service_reply_ = std::move(reply);
  }
  std::vector<ServiceRequest> service_requests() const {
    MutexLock lock(mu_);
    return service_requests_;
  }

  void set_unavailable(bool v) {
    MutexLock lock(mu_);
    unavailable_ = v;
  }
  // Stores `task` as it is (any state or node), as if the broker had got that far with it.
  void set_task(const Task& task) {
    MutexLock lock(mu_);
    tasks_[task.id] = task;
  }
  void set_nodes(std::vector<protocol::NodeInfo> n) {
    MutexLock lock(mu_);
    nodes_ = std::move(n);
  }
  void set_status(protocol::BrokerStatus s) {
    MutexLock lock(mu_);
    status_ = std::move(s);
  }
  std::vector<std::string> calls() const {
    MutexLock lock(mu_);
    return calls_;
  }
  size_t task_count() const {
    MutexLock lock(mu_);
    return tasks_.size();
  }

 private:
  static Status down() {
    return Status::unavailable("broker at 127.0.0.1:7100 did not answer within 7.5 s (3 tries)");
  }
  static Result<protocol::Reply> empty_broker_reply(const ServiceRequest& request) {
    protocol::Reply reply;
    if (std::holds_alternative<protocol::ServiceListRequest>(request))
      return reply;
    if (const auto* create = std::get_if<protocol::ServiceCreateRequest>(&request)) {
      protocol::ServiceInfo info;
      info.service = create->service;
      info.service.version = 1;
      info.service.template_version = 1;
      reply.services.push_back(std::move(info));
      return reply;
    }
    std::string name = std::visit(
        [](const auto& r) -> std::string {
          using R = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<R, protocol::ServiceUpdateRequest>)
            return r.service.name;
          else if constexpr (requires { r.name; })
            return r.name;
          else
            return {};
        },
        request);
    return Status::not_found("no service named \"" + name + "\"");
  }
  Result<Task> submit_locked(const Task& task) CUBE_REQUIRES(mu_) {
    if (task.desired_state == TaskState::Completed)
      return stop_locked(task.id);
    Task stored = task;
    if (stored.id.empty())
      stored.id = "0190a3c4-0000-7000-8000-" + std::to_string(100000000000 + tasks_.size());
    if (auto it = tasks_.find(stored.id); it != tasks_.end())
      return it->second;
    stored.state = TaskState::Pending;
    stored.reason = "no nodes registered";
    if (stored.driver.empty())
      stored.driver = "docker";
    tasks_[stored.id] = stored;
    return stored;
  }
  Result<Task> stop_locked(const std::string& id) CUBE_REQUIRES(mu_) {
    auto it = tasks_.find(id);
    if (it == tasks_.end())
      return Status::not_found("no task with ID " + id);
    it->second.state = TaskState::Completed;
    it->second.desired_state = TaskState::Completed;
    it->second.reason = "stopped";
    return it->second;
  }

  mutable Mutex mu_;
  std::map<std::string, Task> tasks_ CUBE_GUARDED_BY(mu_);
  std::map<std::string, std::string> logs_ CUBE_GUARDED_BY(mu_);
  std::vector<protocol::NodeInfo> nodes_ CUBE_GUARDED_BY(mu_);
  protocol::BrokerStatus status_ CUBE_GUARDED_BY(mu_);
  std::vector<std::string> calls_ CUBE_GUARDED_BY(mu_);
  bool unavailable_ CUBE_GUARDED_BY(mu_) = false;
  std::optional<Result<protocol::Reply>> service_reply_ CUBE_GUARDED_BY(mu_);
  std::vector<ServiceRequest> service_requests_ CUBE_GUARDED_BY(mu_);
};

}  // namespace cube::gateway::testing
