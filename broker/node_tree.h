// NodeTree: the best feasible node for a task without scoring every node, for the policies whose
// score is monotone in a node's capacity and use (binpack: fuller is better; spread: emptier is
// better). Internal to broker/scheduler.cpp.
//
// A segment tree over the nodes of one selector (driver and constraints), each subtree holding
// bounds of its live nodes: smallest and largest capacity and use per dimension, largest free
// room, lowest node index. From those bounds a subtree's best case is one synthetic node (for
// binpack the smallest capacity with the largest use, for spread the reverse) whose score is at
// least that of every node under it, because the score functions are monotone in each input and
// IEEE arithmetic preserves that order. A branch-and-bound descent visits the more promising
// child first and skips every subtree whose best case cannot beat the best node found so far
// (equal scores go to the lower node index, as everywhere in the scheduler), so the answer is
// exactly the full scan's. Leaves are ordered by capacity and use when the tree is built, so
// that nodes alike sit together and their bounds are tight.
//
// Cost: O(nodes) to build, O(log nodes) to update a node the plan changed, and for a query
// typically a few dozen subtrees. Not thread-safe; owned by one schedule() call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "broker/scheduler_internal.h"

namespace cube::broker::internal {

class NodeTree {
 public:
  // Whether a fuller node scores higher (binpack) or an emptier one (spread).
  enum class Prefers { Fuller, Emptier };

  // `live[n]` says whether node n may take the tasks of this tree at all (its selector matches
  // and it is not held); `states` are the nodes as the plan has changed them so far.
  NodeTree(std::span<const NodeState> states, std::span<const uint8_t> live, Prefers prefers,
           ScoreFn score);

  // Node `n`'s state or liveness changed (a placement or a hold): refresh its bounds.
  void update(size_t n, const NodeState& state, bool live);
  // Many nodes changed: refresh every node's bounds (O(nodes), cheaper than an update each
  // past a fraction of the nodes). `live` as for the constructor.
  void refresh(std::span<const NodeState> states, std::span<const uint8_t> live);

  // The live node with room and credit for `request` that has the highest score (lowest index
  // among equals), or nullopt when none has.
  std::optional<size_t> best(std::span<const NodeState> states, const Resources& request);

 private:
  template <typename T>
  struct Dimension {
    T min_capacity{};  // over the nodes that declare this dimension
    T max_capacity{};
    T min_used{};
    T max_used{};
    T max_free{};  // capacity - used over declared nodes
    bool any_declared = false;
    bool any_undeclared = false;  // a node that does not declare it: unlimited room
  };
  struct Bounds {
    uint32_t live = 0;  // live nodes with credit under this subtree
    uint32_t min_index = 0;
    Dimension<double> cpu;
    Dimension<int64_t> memory;
    Dimension<int64_t> disk;
  };

  static Bounds leaf_bounds(size_t n, const NodeState& state, bool live);
  static Bounds merge(const Bounds& a, const Bounds& b);
  // A node at least as good as every live node under `b` (see the header comment).
  NodeState best_case(const Bounds& b) const;
  static bool may_fit(const Bounds& b, const Resources& request);

  Prefers prefers_;
  ScoreFn score_;
  size_t leaves_ = 1;              // a power of two, at least the node count
  std::vector<uint32_t> leaf_of_;  // node index -> leaf position
  std::vector<uint32_t> node_at_;  // leaf position -> node index (or kNoNode)
  std::vector<Bounds> tree_;       // 1-based heap layout: children of i are 2i and 2i+1

  // A subtree still to visit in best(), with the score of its best case.
  struct Pending {
    size_t index;
    Score bound;
  };
  std::vector<Pending> stack_;  // best()'s, kept to reuse its allocation
};

}  // namespace cube::broker::internal
