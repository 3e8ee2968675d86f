// epvm: the E-PVM ("enhanced parallel virtual machine") opportunity-cost scheduler of
//   Y. Amir, B. Awerbuch, A. Barak, R. S. Borgstrom, A. Keren, "An Opportunity Cost Approach
//   for Job Assignment in a Scalable Computing Cluster", IEEE TPDS 11(7), 2000,
// as the prior orchestrators took it from T. Boring, "Build an Orchestrator in Go (From
// Scratch)", Manning, section 10.8 (listings 10.17 and 10.19). A node's cost is
// sum over resources r of BASE^(load_r), and a task goes to the node whose cost grows least:
//   marginal cost = sum over r of BASE^(load_r after the task) - BASE^(load_r before)
// with BASE = Lieb's square ice constant 1.5396..., the book's choice (the paper derives the
// base from the cluster size; the fixed base keeps Cube ranking nodes as the prior
// orchestrators did). Being convex, the cost steers work away from loaded nodes.
//
// The book's code, fixed here:
//   - its CPU term is LIEB^cpuLoad + ... - LIEB^cpuLoad - ...: the load cancels out, so CPU
//     never mattered. Here CPU load before/after is allocated CPU over capacity, with the task.
//   - memory load was a stats sample plus an "allocated" counter nothing updated, and disk was
//     only a filter. Here memory and disk loads are the broker's allocations, including this
//     plan's earlier placements, so a batch does not pile onto one node.
//   - max_jobs was a hard-coded 4 (the paper doubles it as jobs grow). Here the jobs load is
//     (slots in use) / (declared slots); the term is skipped when slots are not declared.
//   - it slept 3 s per node to sample CPU inside the scoring loop. Here scoring is arithmetic.
// An undeclared dimension (capacity 0) adds no cost: its load is unknown, not zero.
#include <algorithm>
#include <cmath>

#include "broker/scheduler_internal.h"

namespace cube::broker::internal {
namespace {

// ln of Lieb's square ice constant 8*sqrt(3)/9 = 1.53960071783900203869
// (https://en.wikipedia.org/wiki/Lieb%27s_square_ice_constant, as in the book's listing 10.19):
// LIEB^x is computed as exp(x * ln LIEB), which is about twice as fast as pow.
constexpr double kLnLieb = 0.43152310867767139116;

double marginal(double capacity, double used_before, double used_after) {
  if (capacity <= 0)
    return 0;
  return std::exp(kLnLieb * used_after / capacity) - std::exp(kLnLieb * used_before / capacity);
}

}  // namespace

Score score_epvm(const NodeState& node, const Resources& request) {
  double cost = marginal(node.cpu_capacity, node.cpu_used, node.cpu_used + request.cpu);
  cost += marginal(static_cast<double>(node.memory_capacity), static_cast<double>(node.memory_used),
                   static_cast<double>(node.memory_used + request.memory_bytes));
  cost += marginal(static_cast<double>(node.disk_capacity), static_cast<double>(node.disk_used),
                   static_cast<double>(node.disk_used + request.disk_bytes));
  if (node.slots > 0) {
    double jobs = static_cast<double>(node.slots - std::min(node.credit, node.slots));
    cost += marginal(node.slots, jobs, jobs + 1);
  }
  return {-cost, 0};  // the scheduler takes the highest score; E-PVM the lowest cost
}

}  // namespace cube::broker::internal
