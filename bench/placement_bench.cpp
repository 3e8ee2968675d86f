// Placement rate of broker/scheduler.h: one schedule() call places 10,000 pending tasks over
// 1,000 nodes; items/s is placement decisions per second (placed or not). Inputs are generated
// from a fixed seed, so runs compare.
//
//   placement_bench                               all policies, the realistic batch
//   placement_bench --benchmark_filter=Binpack    one policy
//
// Batches:
//   Services  tasks drawn from 8 service shapes (CPU/memory), 10% with a zone constraint, 5% on
//             the exec driver; the cluster has room for all of them. The common case: replicas.
//   Distinct  every task a different shape (worst case: no reuse of per-shape heaps).
//   Saturated the same services on a cluster with 4 slots per node: 6,000 tasks stay pending
//             and need a reason (the slow path).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "broker/scheduler.h"

namespace cube::broker {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;
constexpr size_t kNodes = 1000;
constexpr size_t kTasks = 10000;

// prefix + number. (Not `"r" + std::to_string(i)`: GCC 12 at -O3 warns about that with a false
// -Wrestrict, which -Werror turns into an error.)
std::string numbered(std::string_view prefix, size_t number) {
  std::string out(prefix);
  out += std::to_string(number);
  return out;
}

std::vector<NodeSnapshot> make_nodes(uint32_t slots) {
  std::mt19937 rng(42);
  // Roomy enough that the services batch fits with about half the cluster to spare: the
  // benchmark measures placing, Saturated measures refusing.
  const double cpus[] = {16, 32, 64};
  const int64_t memories[] = {32 * kGiB, 64 * kGiB, 128 * kGiB};
  const char* zones[] = {"eu", "us", "ap"};
  std::vector<NodeSnapshot> nodes;
  for (size_t i = 0; i < kNodes; ++i) {
    NodeSnapshot n;
    n.id = numbered("node-", i);
    n.name = numbered("agent", i);
    n.drivers = {"docker"};
    if (i % 4 == 0)
      n.drivers.push_back("exec");
    n.capacity = {cpus[rng() % 3], memories[rng() % 3], 500 * kGiB, slots};
    n.allocated = {n.capacity.cpu * 0.1 * static_cast<double>(rng() % 4), 2 * kGiB, 10 * kGiB};
    n.credit = slots;
    n.labels = {{"zone", zones[rng() % 3]}, {"rack", numbered("r", i % 40)}};
    nodes.push_back(std::move(n));
  }
  return nodes;
}

// Owns the strings the TaskRequests view.
struct Batch {
  std::vector<std::vector<std::string>> constraint_sets{{}, {"zone=eu"}, {"zone!=ap"}};
  std::vector<TaskRequest> tasks;
};

Batch services() {
  struct Shape {
    double cpu;
    int64_t memory;
  };
  const Shape shapes[] = {{0.25, 256 * kMiB}, {0.5, 512 * kMiB}, {1, kGiB},     {2, 2 * kGiB},
                          {0.5, 2 * kGiB},    {1, 4 * kGiB},     {4, 8 * kGiB}, {0.1, 128 * kMiB}};
  std::mt19937 rng(7);
  Batch batch;
  for (size_t i = 0; i < kTasks; ++i) {
    const Shape& s = shapes[rng() % 8];
    unsigned roll = rng() % 100;
    std::span<const std::string> constraints = batch.constraint_sets[roll < 5    ? 1
                                                                     : roll < 10 ? 2
                                                                                 : 0];
    std::string_view driver = rng() % 20 == 0 ? "exec" : "";
    batch.tasks.push_back({"t", driver, {s.cpu, s.memory, kGiB}, constraints});
  }
  return batch;
}

Batch distinct() {
  Batch batch;
  for (size_t i = 0; i < kTasks; ++i) {
    // Every task a different memory request, so every task is its own shape.
    batch.tasks.push_back({"t", "", {0.5, 256 * kMiB + static_cast<int64_t>(i) * 4096, 0}, {}});
  }
  return batch;
}

void run(benchmark::State& state, const std::vector<NodeSnapshot>& nodes, const Batch& batch) {
  auto policy = static_cast<Policy>(state.range(0));
  size_t placed = 0;
  for (auto _ : state) {
    Plan plan = schedule(nodes, batch.tasks, policy);
    placed = plan.placements.size();
    benchmark::DoNotOptimize(plan);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.tasks.size()));
  state.counters["placed"] = static_cast<double>(placed);
  state.SetLabel(std::string(policy_name(policy)));
}

void BM_Services(benchmark::State& state) {
  static const auto nodes = make_nodes(16);
  static const Batch batch = services();
  run(state, nodes, batch);
}

void BM_Distinct(benchmark::State& state) {
  static const auto nodes = make_nodes(16);
  static const Batch batch = distinct();
  run(state, nodes, batch);
}

void BM_Saturated(benchmark::State& state) {
  static const auto nodes = make_nodes(4);
  static const Batch batch = services();
  run(state, nodes, batch);
}

void policies(benchmark::internal::Benchmark* b) {
  for (Policy p :
       {Policy::RoundRobin, Policy::Greedy, Policy::Epvm, Policy::Binpack, Policy::Spread}) {
    b->Arg(static_cast<int>(p));
  }
  b->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_Services)->Apply(policies);
BENCHMARK(BM_Saturated)->Apply(policies);
BENCHMARK(BM_Distinct)->Apply(policies);

}  // namespace
}  // namespace cube::broker

BENCHMARK_MAIN();
