#include "bench/load_generator.h"

#include <pthread.h>

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
    : options_(std::move(options)), recorder_(recorder), clock_(clock) {}

void LoadGenerator::run(SteadyTime start) {
  std::vector<std::thread> threads;
  size_t count = std::max<size_t>(1, options_.clients);
  threads.reserve(count);
  for (size_t i = 0; i < count; ++i)
    threads.emplace_back([this, start] { client_thread(start); });
  for (auto& t : threads)
    t.join();
}

void LoadGenerator::client_thread(SteadyTime start) {
  ::pthread_setname_np(::pthread_self(), "bench-client");  // for perf and top -H
  ClientOptions client_options;
  client_options.endpoint = options_.endpoint;
  client_options.timeout_per_try = options_.timeout_per_try;
  client_options.tries = options_.tries;
  Client client(client_options, clock_);
  const bool open_loop = options_.rate > 0;
  const double period_ns = open_loop ? 1e9 / options_.rate : 0;
  while (true) {
    size_t index = next_.fetch_add(1, std::memory_order_relaxed);
    if (index >= recorder_.tasks())
      return;
    Task task = bench_task(recorder_, index, options_.duration_ms);
    SteadyTime sent;
    if (open_loop) {
      sent = start + std::chrono::duration_cast<SteadyTime::duration>(
                         std::chrono::duration<double, std::nano>(period_ns * index));
      // This thread's job is to wait for the schedule (Clock::sleep_for); rounding up keeps a
      // task from going out before its time.
      for (SteadyTime now = clock_.now(); now < sent; now = clock_.now())
        clock_.sleep_for(std::chrono::ceil<Millis>(sent - now));
    } else {
      sent = clock_.now();
    }
    recorder_.sent(index, sent);
    auto stored = client.submit(task);
    if (!stored.is_ok()) {
      recorder_.failed(index);
      MutexLock lock(mu_);
      if (first_error_.empty())
        first_error_ = "submitting task " + task.id + ": " + stored.status().to_string();
      continue;
    }
    recorder_.acked(index, clock_.now());
  }
}

}  // namespace cube::bench
