#include "broker/node_tree.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <tuple>

namespace cube::broker::internal {
namespace {

constexpr uint32_t kNoNode = std::numeric_limits<uint32_t>::max();

// Higher score first, then the lower node index: the scheduler's order of preference.
bool better(const Score& a, uint32_t a_index, const Score& b, uint32_t b_index) {
  if (a.primary != b.primary)
    return a.primary > b.primary;
  if (a.secondary != b.secondary)
    return a.secondary > b.secondary;
  return a_index < b_index;
}

template <typename T>
void add_dimension(auto& dim, T capacity, T used) {
  if (capacity <= 0) {
    dim.any_undeclared = true;
    return;
  }
  dim.any_declared = true;
  dim.min_capacity = dim.max_capacity = capacity;
  dim.min_used = dim.max_used = used;
  dim.max_free = capacity - used;
}

template <typename D>
D merge_dimension(const D& a, const D& b) {
  if (!a.any_declared) {
    D out = b;
    out.any_undeclared = a.any_undeclared || b.any_undeclared;
    return out;
  }
  if (!b.any_declared) {
    D out = a;
    out.any_undeclared = a.any_undeclared || b.any_undeclared;
    return out;
  }
  D out;
  out.any_declared = true;
  out.any_undeclared = a.any_undeclared || b.any_undeclared;
  out.min_capacity = std::min(a.min_capacity, b.min_capacity);
  out.max_capacity = std::max(a.max_capacity, b.max_capacity);
  out.min_used = std::min(a.min_used, b.min_used);
  out.max_used = std::max(a.max_used, b.max_used);
  out.max_free = std::max(a.max_free, b.max_free);
  return out;
}

// The capacity and use of the best case in one dimension (0 capacity: not declared).
template <typename T>
std::pair<T, T> best_dimension(const auto& dim, NodeTree::Prefers prefers) {
  if (prefers == NodeTree::Prefers::Fuller) {
    // An undeclared dimension is never full, the worst case for binpack: a declared node
    // beats it, so the best case is the smallest declared capacity with the largest use.
    if (!dim.any_declared)
      return {0, 0};
    return {dim.min_capacity, dim.max_used};
  }
  // An undeclared dimension is always empty, the best case for spread.
  if (dim.any_undeclared)
    return {0, 0};
  return {dim.max_capacity, dim.min_used};
}

template <typename T>
bool dimension_may_fit(const auto& dim, T request, T slack) {
  return request <= 0 || dim.any_undeclared ||
         (dim.any_declared && request <= dim.max_free + slack);
}

}  // namespace

NodeTree::NodeTree(std::span<const NodeState> states, std::span<const uint8_t> live,
                   Prefers prefers, ScoreFn score)
    : prefers_(prefers), score_(score) {
  while (leaves_ < states.size())
    leaves_ *= 2;
  // Nodes alike side by side: by capacity, then use, then index.
  std::vector<uint32_t> order(states.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const NodeState& x = states[a];
    const NodeState& y = states[b];
    return std::tie(x.cpu_capacity, x.memory_capacity, x.cpu_used, x.memory_used, a) <
           std::tie(y.cpu_capacity, y.memory_capacity, y.cpu_used, y.memory_used, b);
  });
  leaf_of_.assign(states.size(), 0);
  node_at_.assign(leaves_, kNoNode);
  tree_.assign(2 * leaves_, Bounds{});
  for (uint32_t position = 0; position < order.size(); ++position) {
    leaf_of_[order[position]] = position;
    node_at_[position] = order[position];
  }
  refresh(states, live);
}

void NodeTree::refresh(std::span<const NodeState> states, std::span<const uint8_t> live) {
  for (size_t n = 0; n < states.size(); ++n)
    tree_[leaves_ + leaf_of_[n]] = leaf_bounds(n, states[n], live[n] != 0);
  for (size_t i = leaves_ - 1; i >= 1; --i)
    tree_[i] = merge(tree_[2 * i], tree_[2 * i + 1]);
}

void NodeTree::update(size_t n, const NodeState& state, bool live) {
  size_t i = leaves_ + leaf_of_[n];
  tree_[i] = leaf_bounds(n, state, live);
  for (i /= 2; i >= 1; i /= 2)
    tree_[i] = merge(tree_[2 * i], tree_[2 * i + 1]);
}

NodeTree::Bounds NodeTree::leaf_bounds(size_t n, const NodeState& state, bool live) {
  Bounds b;
  if (!live || state.credit == 0)
    return b;
  b.live = 1;
  b.min_index = static_cast<uint32_t>(n);
  add_dimension(b.cpu, state.cpu_capacity, state.cpu_used);
  add_dimension(b.memory, state.memory_capacity, state.memory_used);
  add_dimension(b.disk, state.disk_capacity, state.disk_used);
  return b;
}

NodeTree::Bounds NodeTree::merge(const Bounds& a, const Bounds& b) {
  if (a.live == 0)
    return b;
  if (b.live == 0)
    return a;
  Bounds out;
  out.live = a.live + b.live;
  out.min_index = std::min(a.min_index, b.min_index);
  out.cpu = merge_dimension(a.cpu, b.cpu);
  out.memory = merge_dimension(a.memory, b.memory);
  out.disk = merge_dimension(a.disk, b.disk);
  return out;
}

NodeState NodeTree::best_case(const Bounds& b) const {
  NodeState s;
  std::tie(s.cpu_capacity, s.cpu_used) = best_dimension<double>(b.cpu, prefers_);
  std::tie(s.memory_capacity, s.memory_used) = best_dimension<int64_t>(b.memory, prefers_);
  std::tie(s.disk_capacity, s.disk_used) = best_dimension<int64_t>(b.disk, prefers_);
  s.credit = 1;
  return s;
}

bool NodeTree::may_fit(const Bounds& b, const Resources& request) {
  return b.live > 0 && dimension_may_fit(b.cpu, request.cpu, kCpuEpsilon) &&
         dimension_may_fit(b.memory, request.memory_bytes, int64_t{0}) &&
         dimension_may_fit(b.disk, request.disk_bytes, int64_t{0});
}

std::optional<size_t> NodeTree::best(std::span<const NodeState> states, const Resources& request) {
  Score found_score;
  uint32_t found = kNoNode;
  auto worth_visiting = [&](const Score& bound, uint32_t min_index) {
    return found == kNoNode || better(bound, min_index, found_score, found);
  };
  // Depth-first, the child with the better best case first. A subtree is checked again when
  // popped, as the best node found may have improved since it was pushed.
  auto& stack = stack_;
  stack.clear();
  if (!may_fit(tree_[1], request))
    return std::nullopt;
  stack.push_back({1, score_(best_case(tree_[1]), request)});
  while (!stack.empty()) {
    Pending p = stack.back();
    stack.pop_back();
    const Bounds& b = tree_[p.index];
    if (!worth_visiting(p.bound, b.min_index))
      continue;
    if (p.index >= leaves_) {
      uint32_t n = node_at_[p.index - leaves_];
      if (!has_room(states[n], request))
        continue;
      Score s = score_(states[n], request);
      if (worth_visiting(s, n)) {
        found_score = s;
        found = n;
      }
      continue;
    }
    size_t left = 2 * p.index;
    size_t right = left + 1;
    bool left_fits = may_fit(tree_[left], request);
    bool right_fits = may_fit(tree_[right], request);
    if (left_fits && right_fits) {
      Score left_bound = score_(best_case(tree_[left]), request);
      Score right_bound = score_(best_case(tree_[right]), request);
      // Pushed last is visited first.
      if (better(left_bound, tree_[left].min_index, right_bound, tree_[right].min_index)) {
        stack.push_back({right, right_bound});
        stack.push_back({left, left_bound});
      } else {
        stack.push_back({left, left_bound});
        stack.push_back({right, right_bound});
      }
    } else if (left_fits) {
      stack.push_back({left, score_(best_case(tree_[left]), request)});
    } else if (right_fits) {
      stack.push_back({right, score_(best_case(tree_[right]), request)});
    }
  }
  if (found == kNoNode)
    return std::nullopt;
  return found;
}

}  // namespace cube::broker::internal
