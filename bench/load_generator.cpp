#include "bench/load_generator.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>
#include <vector>

namespace cube::bench {

Task bench_task(const RunRecorder& recorder, size_t index, int64_t duration_ms) {
  Task task;
  task.id = recorder.task_id(index);
  task.name = "b" + std::to_string(index);
  task.driver = std::string(kDriverSim);
  task.duration_ms = duration_ms;
  return task;
}

LoadGenerator::LoadGenerator(LoadOptions options, RunRecorder& recorder, const Clock& clock)
    : options_(std::move(options)), recorder_(recorder), clock_(clock) {
  // Each client has its REQ socket and the two of its handshake watch (client/handshake_watch.h),
  // and a retry opens the next before the last is gone; libzmq's default cap is 1,023 sockets a
  // context, which --clients 1024 would pass.
  context_.set(zmq::ctxopt::max_sockets,
               static_cast<int>(kSocketsPerClient * std::max<size_t>(1, options_.clients) + 64));
}

LoadGenerator::~LoadGenerator() {
  if (!started_)
    start_promise_.set_value(std::nullopt);
  for (auto& t : threads_)
    t.join();
}

void LoadGenerator::connect() {
  size_t count = std::max<size_t>(1, options_.clients);
  threads_.reserve(count);
  for (size_t i = 0; i < count; ++i)
    threads_.emplace_back([this] {
      ::pthread_setname_np(::pthread_self(), "bench-client");  // for perf and top -H
      ClientOptions client_options;
      client_options.endpoint = options_.endpoint;
      client_options.timeout_per_try = options_.timeout_per_try;
      client_options.tries = options_.tries;
      client_options.context = &context_;
      Client client(client_options, clock_);
      (void)client.status();  // a broker that does not answer fails the submits, which say so
      connected_.count_down();
      client_thread(client);
    });
  connected_.wait();
}

void LoadGenerator::run(SteadyTime start) {
  if (threads_.empty())
    connect();
  started_ = true;
  start_promise_.set_value(start);
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

void LoadGenerator::client_thread(Client& client) {
  const std::optional<SteadyTime> origin = start_.get();
  if (!origin)
    return;  // the generator is being destroyed without a run()
  const SteadyTime start = *origin;
  const bool open_loop = options_.rate > 0;
  const double period_ns = open_loop ? 1e9 / options_.rate : 0;
  auto due = [&](size_t index) {
    return start + std::chrono::duration_cast<SteadyTime::duration>(
                       std::chrono::duration<double, std::nano>(period_ns * index));
  };
  const size_t batch = std::max<size_t>(1, options_.batch);
  std::vector<Task> tasks;
  tasks.reserve(batch);
  while (true) {
    size_t first = next_.fetch_add(batch, std::memory_order_relaxed);
    if (first >= recorder_.tasks())
      return;
    size_t count = std::min(batch, recorder_.tasks() - first);
    tasks.clear();
    for (size_t i = first; i < first + count; ++i)
      tasks.push_back(bench_task(recorder_, i, options_.duration_ms));
    if (open_loop) {
      // This thread's job is to wait for the schedule (Clock::sleep_for); rounding up keeps a
      // request from going out before its last task is due.
      SteadyTime last_due = due(first + count - 1);
      for (SteadyTime now = clock_.now(); now < last_due; now = clock_.now())
        clock_.sleep_for(std::chrono::ceil<Millis>(last_due - now));
      for (size_t i = first; i < first + count; ++i)
        recorder_.sent(i, due(i));
    } else {
      SteadyTime now = clock_.now();
      for (size_t i = first; i < first + count; ++i)
        recorder_.sent(i, now);
    }
    submit(client, first, tasks);
  }
}

void LoadGenerator::submit(Client& client, size_t first, std::span<const Task> tasks) {
  if (options_.batch <= 1) {
    auto stored = client.submit(tasks.front());
    if (!stored.is_ok())
      return record_failure(first, tasks.front().id, stored.status());
    recorder_.acked(first, clock_.now());
    return;
  }
  auto outcomes = client.submit_many(tasks);
  if (!outcomes.is_ok()) {
    for (size_t i = 0; i < tasks.size(); ++i)
      record_failure(first + i, tasks[i].id, outcomes.status());
    return;
  }
  SteadyTime now = clock_.now();
  for (size_t i = 0; i < outcomes->size(); ++i) {
    const protocol::SubmitOutcome& outcome = (*outcomes)[i];
    if (outcome.error_code == ErrorCode::Ok) {
      recorder_.acked(first + i, now);
    } else {
      record_failure(first + i, tasks[i].id, outcome.status());
    }
  }
}

void LoadGenerator::record_failure(size_t index, const std::string& task_id, const Status& status) {
  recorder_.failed(index);
  MutexLock lock(mu_);
  if (first_error_.empty())
    first_error_ = "submitting task " + task_id + ": " + status.to_string();
}

}  // namespace cube::bench
