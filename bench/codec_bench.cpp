// Cost of the wire codec (protocol/codec.h) on the messages of the hot path, per task: what the
// broker decodes for a batched submit and a batch of state reports, and what it encodes for a
// batched ASSIGN. items/s is tasks per second. The tasks are the ones cube-bench sends (a UUIDv7,
// a name, the sim driver, a duration), so the figures compare with its broker CPU per task.
//
//   codec_bench
//   codec_bench --benchmark_filter=Decode
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/ids.h"
#include "protocol/codec.h"

namespace cube::protocol {
namespace {

constexpr size_t kBatch = 64;

std::vector<Task> bench_tasks() {
  std::vector<Task> tasks(kBatch);
  SystemTime now = SystemTime(std::chrono::milliseconds(1'780'000'000'000));
  for (size_t i = 0; i < kBatch; ++i) {
    tasks[i].id = new_uuid_v7(now);
    tasks[i].name = "b" + std::to_string(i);
    tasks[i].driver = std::string(kDriverSim);
    tasks[i].duration_ms = 1000;
  }
  return tasks;
}

// Decodes `message`'s body into a fresh M per iteration, as the broker does per message.
template <typename M>
void decode_each_iteration(benchmark::State& state, const M& message) {
  std::string body = encode_body(message);
  for (auto _ : state) {
    M out;
    Status s = decode_body(body, out);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.counters["bytes_per_task"] = static_cast<double>(body.size()) / kBatch;
}

void BM_DecodeSubmitBatch(benchmark::State& state) {
  decode_each_iteration(state, SubmitBatchRequest{7, bench_tasks()});
}

// bench_tasks() as the broker holds them once placed: in `state`, first attempt, on one node.
std::vector<Task> placed_tasks(TaskState state) {
  std::vector<Task> tasks = bench_tasks();
  std::string node_id = new_random_id();
  for (Task& t : tasks) {
    t.state = state;
    t.attempt = 1;
    t.node_id = node_id;
    t.node = "sim-0042";
  }
  return tasks;
}

void BM_EncodeAssignBatch(benchmark::State& state) {
  AssignBatch assign{placed_tasks(TaskState::Scheduled)};
  for (auto _ : state) {
    std::string body = encode_body(assign);
    benchmark::DoNotOptimize(body);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}

void BM_DecodeTaskStateBatch(benchmark::State& state) {
  TaskStateBatch batch{new_random_id(), new_random_id(), 42, {}};
  for (const Task& t : bench_tasks()) {
    AttemptStatus status;
    status.task_id = t.id;
    status.attempt = 1;
    status.state = TaskState::Running;
    status.start_time_ms = 1'780'000'000'000;
    batch.statuses.push_back(status);
  }
  decode_each_iteration(state, batch);
}

// What the memory and SQLite stores write for each task a commit changed (a running task).
void BM_EncodeTaskCompact(benchmark::State& state) {
  std::vector<Task> tasks = placed_tasks(TaskState::Running);
  for (Task& t : tasks)
    t.created_ms = t.updated_ms = t.start_time_ms = 1'780'000'000'000;
  for (auto _ : state) {
    for (const Task& t : tasks) {
      std::string blob = encode_task_compact(t);
      benchmark::DoNotOptimize(blob);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}

BENCHMARK(BM_DecodeSubmitBatch);
BENCHMARK(BM_EncodeTaskCompact);
BENCHMARK(BM_EncodeAssignBatch);
BENCHMARK(BM_DecodeTaskStateBatch);

}  // namespace
}  // namespace cube::protocol

BENCHMARK_MAIN();
