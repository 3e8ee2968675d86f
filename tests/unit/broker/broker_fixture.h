// Shared setup for the broker's decision tests: a task table, an agent registry, liveness on a
// ManualClock, and helpers to submit tasks, welcome agents and run a scheduling pass.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "broker/agent_command.h"
#include "broker/agent_registry.h"
#include "broker/counters.h"
#include "broker/liveness.h"
#include "broker/plan_apply.h"
#include "broker/task_lifecycle.h"
#include "broker/task_table.h"
#include "common/clock.h"

namespace cube::broker::testing {

class BrokerFixture : public ::testing::Test {
 protected:
  static constexpr Millis kAssignTimeout{5000};

  void submit(const std::string& id, int64_t memory_bytes = 0) {
    Task t;
    t.id = id;
    t.image = "busybox";
    t.driver = "docker";
    t.memory_bytes = memory_bytes;
    ASSERT_TRUE(tasks_.add(t, clock_.wall()).is_ok());
  }

  AgentRecord& welcome(const std::string& id, uint32_t free_slots,
                       protocol::Capacity capacity = {}) {
    protocol::Hello h;
    h.agent_id = id;
    h.name = "n-" + id;
    h.drivers = {"docker"};
    h.capacity = capacity;
    auto r = agents_.on_hello(h, "route-" + id, "session-" + id + "-" + std::to_string(++hellos_),
                              to_unix_ms(clock_.wall()));
    EXPECT_TRUE(r.is_ok());
    liveness_.on_traffic(id, clock_.now());
    agents_.on_credit(*r->agent, free_slots);
    return *r->agent;
  }

  PlanApplyResult schedule_pass() {
    PlanApplyInput input;
    input.policy = Policy::RoundRobin;
    input.cursor = cursor_;
    input.assign_timeout = kAssignTimeout;
    input.now = clock_.now();
    input.wall = clock_.wall();
    auto result = plan_and_apply(tasks_, agents_, liveness_, input, out_);
    cursor_ = result.next_cursor;
    return result;
  }

  const Task& task(const std::string& id) {
    const TaskRecord* r = tasks_.find(id);
    EXPECT_NE(r, nullptr) << id;
    return r->task;
  }
  std::vector<TaskEvent> history(const std::string& id) {
    return tasks_.find(id)->history.to_vector();
  }

  template <typename M>
  std::vector<std::pair<std::string, M>> sent() const {
    std::vector<std::pair<std::string, M>> found;
    for (const auto& c : out_) {
      if (const auto* m = std::get_if<M>(&c.message))
        found.emplace_back(c.agent_id, *m);
    }
    return found;
  }
  std::vector<std::pair<std::string, protocol::Assign>> assigns() const {
    return sent<protocol::Assign>();
  }
  std::vector<std::pair<std::string, protocol::Stop>> stops() const {
    return sent<protocol::Stop>();
  }

  ManualClock clock_;
  TaskTable tasks_;
  AgentRegistry agents_;
  Liveness liveness_{Millis(1000), 3, Millis(5000)};
  Counters counters_;
  TaskLifecycle lifecycle_{tasks_, agents_, counters_, Millis(10000), clock_};
  std::vector<AgentCommand> out_;
  size_t cursor_ = 0;
  int hellos_ = 0;
};

}  // namespace cube::broker::testing
