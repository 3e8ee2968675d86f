// The placement engine behind schedule(): feasibility, the per-shape node heaps of the scored
// policies, holds against starvation, and the reasons of unplaced tasks. The policies' own
// arithmetic lives in broker/policy_*.cpp.
#include "broker/scheduler.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <unordered_map>
#include <utility>

#include "broker/node_tree.h"
#include "broker/scheduler_internal.h"
#include "common/check.h"
#include "common/units.h"

namespace cube::broker {
namespace internal {

ScoreFn score_function(Policy policy) {
  switch (policy) {
    case Policy::RoundRobin:
      return nullptr;
    case Policy::Greedy:
      return &score_greedy;
    case Policy::Epvm:
      return &score_epvm;
    case Policy::Binpack:
      return &score_binpack;
    case Policy::Spread:
      return &score_spread;
  }
  return &score_binpack;
}

bool score_only_falls(Policy policy) {
  return policy == Policy::Greedy || policy == Policy::Epvm || policy == Policy::Spread;
}

}  // namespace internal

namespace {

using internal::has_room;
using internal::NodeState;
using internal::Score;

constexpr std::array<std::pair<Policy, std::string_view>, 5> kPolicyNames = {{
    {Policy::RoundRobin, "roundrobin"},
    {Policy::Greedy, "greedy"},
    {Policy::Epvm, "epvm"},
    {Policy::Binpack, "binpack"},
    {Policy::Spread, "spread"},
}};

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

// binpack and spread: a shape with at least this many tasks in the batch gets a heap (a score
// per node to build, then O(log nodes) a task). The tasks of rarer shapes ask their selector's
// NodeTree (a few dozen bounds a task, plus keeping it up to date with the plan) when the
// selector has enough of them to pay for that, and build a heap otherwise. Measured with
// bench/placement_bench's Services, Saturated and Distinct batches.
constexpr size_t kTasksWorthAHeap = 8;
constexpr size_t kRareTasksWorthATree = 32;

// Heaps kept at once. Each costs one to three entries (24 bytes) per node; a batch rarely has
// more shapes than this, and one that does rebuilds (a scan of the nodes) the heaps it evicts.
constexpr size_t kMaxHeaps = 64;

// --- Constraints ---------------------------------------------------------------------------

struct Constraint {
  std::string key;
  std::string_view value;
  bool negated = false;  // "key!=value"
};

// task_validation guarantees a '=' after a non-empty key; "key!=value" passes it with the '!'
// at the end of the key, which is how the negation is recognised.
Constraint parse_constraint(std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos)
    return {std::string(text), {}, false};
  bool negated = eq > 0 && text[eq - 1] == '!';
  return {std::string(text.substr(0, negated ? eq - 1 : eq)), text.substr(eq + 1), negated};
}

bool satisfies(const NodeSnapshot& node, const Constraint& c) {
  auto it = node.labels.find(c.key);
  bool equal = it != node.labels.end() && it->second == c.value;
  return c.negated ? !equal : equal;
}

bool offers(const NodeSnapshot& node, std::string_view driver) {
  return std::find(node.drivers.begin(), node.drivers.end(), driver) != node.drivers.end();
}

// --- Task shapes -----------------------------------------------------------------------------

// How far a node gets with a (driver, constraints) selector.
enum : uint8_t { kNoDriver = 0, kNoMatch = 1, kMatch = 2 };

// One distinct (driver, constraints) pair of the batch, resolved against every node once.
struct Selector {
  std::string_view driver;
  std::span<const std::string> constraints;
  std::vector<uint8_t> match;  // per node: kNoDriver, kNoMatch or kMatch
  // binpack and spread: its nodes' bounds, built at its first task; up to date with
  // Engine::changed_ up to `tree_replayed`.
  std::unique_ptr<internal::NodeTree> tree;
  size_t tree_replayed = 0;
  size_t rare_tasks = 0;  // tasks of this selector whose shape has too few to be worth a heap
};

// One distinct (driver, constraints, resources) shape of the batch. Tasks of one shape are
// interchangeable for placement, so they share a heap and, at a given plan state, a reason.
struct TaskShape {
  uint32_t selector = 0;
  Resources request;
  uint32_t heap = kNone;   // index into Engine::heaps_, if it still owns one
  size_t tasks = 0;        // tasks of this shape in the batch
  bool exhausted = false;  // no node fits: stays true for the rest of the plan
  uint64_t reason_epoch = std::numeric_limits<uint64_t>::max();
  std::string reason;  // valid while reason_epoch == Engine::epoch_
};

struct ShapeKey {
  std::string_view driver;
  std::span<const std::string> constraints;
  Resources request;
  size_t hash = 0;
  friend bool operator==(const ShapeKey& a, const ShapeKey& b) {
    return a.hash == b.hash && a.driver == b.driver && a.request == b.request &&
           std::equal(a.constraints.begin(), a.constraints.end(), b.constraints.begin(),
                      b.constraints.end());
  }
};

struct SelectorKey {
  std::string_view driver;
  std::span<const std::string> constraints;
  size_t hash = 0;
  friend bool operator==(const SelectorKey& a, const SelectorKey& b) {
    return a.hash == b.hash && a.driver == b.driver &&
           std::equal(a.constraints.begin(), a.constraints.end(), b.constraints.begin(),
                      b.constraints.end());
  }
};

struct KeyHash {
  size_t operator()(const ShapeKey& k) const { return k.hash; }
  size_t operator()(const SelectorKey& k) const { return k.hash; }
};

size_t mix(size_t seed, size_t value) {
  // boost::hash_combine's mixing step.
  return seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

size_t selector_hash(std::string_view driver, std::span<const std::string> constraints) {
  size_t h = std::hash<std::string_view>{}(driver);
  for (const auto& c : constraints)
    h = mix(h, std::hash<std::string_view>{}(c));
  return h;
}

// --- Heaps -------------------------------------------------------------------------------------

// A node's score for a shape, valid while the node's version is `version`.
struct HeapEntry {
  double primary = 0;
  double secondary = 0;
  uint32_t node = 0;
  uint32_t version = 0;
};

// Max-heap order: higher score first, then lower node index. A function object rather than a
// function, so that the heap algorithms inline it.
struct Worse {
  bool operator()(const HeapEntry& a, const HeapEntry& b) const {
    if (a.primary != b.primary)
      return a.primary < b.primary;
    if (a.secondary != b.secondary)
      return a.secondary < b.secondary;
    return a.node > b.node;
  }
};

// The feasible nodes of one shape by score. An entry is exact while its version is the node's
// current version; a node's version changes only when the plan places on it (its score and room
// change; it is appended to Engine::changed_) or holds it (it is infeasible for good). Credit
// and room only shrink within a plan, so a node infeasible for a shape stays so.
// Invariant, whenever the top is read: every feasible node has an entry whose key is at least
// its current score (same node index breaking ties), and a node with an exact entry is feasible.
// Then an exact top is the best feasible node, and a stale top is dropped or re-scored. Two ways
// keep the invariant:
//   - score_only_falls policies: a stale entry's key is an upper bound of the node's score, so
//     nothing is done until a stale entry reaches the top; it is then re-scored and re-pushed
//     if the node still fits (each node keeps exactly one entry).
//   - binpack: placing raises a node's score, so before the heap is read every node changed
//     since (Engine::changed_ from `replayed` on) gets a fresh entry; stale ones are dropped
//     when they reach the top. Past half the nodes, or when stale entries pile up, the heap
//     is rebuilt from scratch instead.
struct NodeHeap {
  std::vector<HeapEntry> entries;
  size_t replayed = 0;  // how much of Engine::changed_ this heap has taken in
  uint32_t shape = kNone;
  uint64_t last_use = 0;
};

// --- Formatting for reasons ------------------------------------------------------------------

std::string format_cpu(double cores) {
  std::array<char, 32> buf{};
  auto [end, ec] =
      std::to_chars(buf.data(), buf.data() + buf.size(), cores, std::chars_format::general, 6);
  return ec == std::errc() ? std::string(buf.data(), end) : std::to_string(cores);
}

std::string join_and(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0)
      out += i + 1 == parts.size() ? " and " : ", ";
    out += parts[i];
  }
  return out;
}

const std::string& display_name(const NodeSnapshot& node) {
  return node.name.empty() ? node.id : node.name;
}

// --- The engine --------------------------------------------------------------------------------

class Engine {
 public:
  Engine(std::span<const NodeSnapshot> nodes, std::span<const TaskRequest> tasks, Policy policy,
         size_t cursor, std::span<const SpreadGroup> groups)
      : nodes_(nodes),
        tasks_(tasks),
        score_(internal::score_function(policy)),
        score_only_falls_(internal::score_only_falls(policy)),
        tree_prefers_(policy == Policy::Binpack  ? internal::NodeTree::Prefers::Fuller
                      : policy == Policy::Spread ? internal::NodeTree::Prefers::Emptier
                                                 : std::optional<internal::NodeTree::Prefers>{}),
        cursor_(cursor),
        state_(nodes.size()),
        version_(nodes.size(), 0),
        held_(nodes.size(), 0),
        replay_stamp_(nodes.size(), 0) {
    // CPU comes from agents as a double: a NaN or infinity there must not poison the scores (a
    // NaN breaks the heaps' ordering), so it counts as "not declared" / nothing allocated.
    auto finite = [](double x) { return std::isfinite(x) ? x : 0.0; };
    for (size_t i = 0; i < nodes.size(); ++i) {
      const NodeSnapshot& n = nodes[i];
      state_[i] = {finite(n.capacity.cpu),
                   finite(n.allocated.cpu),
                   n.capacity.memory_bytes,
                   n.allocated.memory_bytes,
                   n.capacity.disk_bytes,
                   n.allocated.disk_bytes,
                   n.credit,
                   n.capacity.slots};
    }
    changed_.reserve(tasks.size());
    groups_.resize(groups.size());
    for (size_t g = 0; g < groups.size(); ++g) {
      groups_[g].count.assign(nodes.size(), 0);
      const auto& given = groups[g].per_node;
      std::copy_n(given.begin(), std::min(given.size(), nodes.size()), groups_[g].count.begin());
    }
  }

  Plan run() {
    Plan plan;
    plan.placements.reserve(tasks_.size());
    // Shapes first: how many tasks share each decides how its nodes are searched.
    std::vector<uint32_t> shape_of_task(tasks_.size(), kNone);
    for (size_t t = 0; t < tasks_.size(); ++t) {
      if (std::isfinite(tasks_[t].resources.cpu)) {
        shape_of_task[t] = shape_of(tasks_[t]);
        ++shapes_[shape_of_task[t]].tasks;
      }
    }
    for (const TaskShape& shape : shapes_) {
      if (shape.tasks < kTasksWorthAHeap)
        selectors_[shape.selector].rare_tasks += shape.tasks;
    }
    for (size_t t = 0; t < tasks_.size(); ++t) {
      if (shape_of_task[t] == kNone) {
        // task_validation rejects these before they are stored; never trust that here.
        plan.unplaced.push_back({t, "its CPU request " + format_cpu(tasks_[t].resources.cpu) +
                                        " is not a number of cores"});
        continue;
      }
      uint32_t shape_index = shape_of_task[t];
      const TaskShape& shape = shapes_[shape_index];
      std::optional<size_t> node;
      const uint32_t group = tasks_[t].spread_group;
      if (!shape.exhausted) {
        if (group < groups_.size())
          node = pick_spread(shape_index, groups_[group]);
        else if (!score_)
          node = pick_round_robin(shape_index);
        else if (tree_prefers_ && shape.tasks < kTasksWorthAHeap &&
                 selectors_[shape.selector].rare_tasks >= kRareTasksWorthATree)
          node = pick_from_tree(shape_index);
        else
          node = pick_scored(shape_index);
        if (!node)
          shapes_[shape_index].exhausted = true;  // feasibility only shrinks within a plan
      }
      if (node) {
        place(shapes_[shape_index].request, *node);
        plan.placements.push_back({t, *node});
      } else {
        plan.unplaced.push_back({t, reason_for(shape_index)});
      }
    }
    plan.next_cursor = cursor_;
    return plan;
  }

 private:
  bool fits(const TaskShape& shape, size_t node) const {
    return selectors_[shape.selector].match[node] == kMatch && held_[node] == 0 &&
           state_[node].credit > 0 && has_room(state_[node], shape.request);
  }

  // Finds or creates the shape (and its selector) of `task`.
  uint32_t shape_of(const TaskRequest& task) {
    std::string_view driver = effective_driver(task.driver);
    size_t h = selector_hash(driver, task.constraints);
    ShapeKey key{driver, task.constraints, task.resources, 0};
    key.hash = mix(mix(mix(h, std::bit_cast<uint64_t>(task.resources.cpu)),
                       static_cast<size_t>(task.resources.memory_bytes)),
                   static_cast<size_t>(task.resources.disk_bytes));
    auto [it, inserted] = shape_index_.try_emplace(key, static_cast<uint32_t>(shapes_.size()));
    if (inserted) {
      TaskShape shape;
      shape.selector = selector_of(SelectorKey{driver, task.constraints, h});
      shape.request = task.resources;
      shapes_.push_back(std::move(shape));
    }
    return it->second;
  }

  uint32_t selector_of(const SelectorKey& key) {
    auto [it, inserted] =
        selector_index_.try_emplace(key, static_cast<uint32_t>(selectors_.size()));
    if (!inserted)
      return it->second;
    Selector selector;
    selector.driver = key.driver;
    selector.constraints = key.constraints;
    selector.match.assign(nodes_.size(), kNoDriver);
    std::vector<Constraint> parsed;
    parsed.reserve(key.constraints.size());
    for (const auto& c : key.constraints)
      parsed.push_back(parse_constraint(c));
    for (size_t n = 0; n < nodes_.size(); ++n) {
      if (!offers(nodes_[n], key.driver))
        continue;
      bool all = std::all_of(parsed.begin(), parsed.end(),
                             [&](const Constraint& c) { return satisfies(nodes_[n], c); });
      selector.match[n] = all ? kMatch : kNoMatch;
    }
    selectors_.push_back(std::move(selector));
    return it->second;
  }

  // A spread group's tasks per node and the fewest of them on a node the group's tasks fit
  // (valid while level_known: counts only grow and feasibility only shrinks within a plan, so
  // the fewest only rises, and is recomputed once no node at it fits).
  struct GroupState {
    std::vector<uint32_t> count;
    uint32_t level = 0;
    bool level_known = false;
  };

  // A node at the group's fewest level that fits, the first at or after the cursor.
  std::optional<size_t> pick_spread(uint32_t shape_index, GroupState& group) {
    const TaskShape& shape = shapes_[shape_index];
    const size_t n = nodes_.size();
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!group.level_known) {
        std::optional<uint32_t> least;
        for (size_t i = 0; i < n; ++i) {
          if (fits(shape, i) && (!least || group.count[i] < *least))
            least = group.count[i];
        }
        if (!least)
          return std::nullopt;
        group.level = *least;
        group.level_known = true;
      }
      size_t i = n == 0 ? 0 : cursor_ % n;
      for (size_t step = 0; step < n; ++step, i = i + 1 == n ? 0 : i + 1) {
        if (group.count[i] == group.level && fits(shape, i)) {
          ++group.count[i];
          cursor_ = i + 1 == n ? 0 : i + 1;
          return i;
        }
      }
      group.level_known = false;  // that level is used up here: look for the next one
    }
    return std::nullopt;  // not reached: a known level has a node that fits
  }

  std::optional<size_t> pick_round_robin(uint32_t shape_index) {
    struct Context {
      const Engine* engine;
      const TaskShape* shape;
    } context{this, &shapes_[shape_index]};
    internal::NodeFilter filter{&context, [](const void* p, size_t node) {
                                  const auto* c = static_cast<const Context*>(p);
                                  return c->engine->fits(*c->shape, node);
                                }};
    auto node = internal::pick_round_robin(nodes_.size(), cursor_, filter);
    if (node)
      cursor_ = *node + 1 == nodes_.size() ? 0 : *node + 1;
    return node;
  }

  // binpack and spread: the best node from the selector's NodeTree, exactly what a scan of
  // every node would pick, without scoring every node (tasks of all-different shapes).
  std::optional<size_t> pick_from_tree(uint32_t shape_index) {
    const TaskShape& shape = shapes_[shape_index];
    Selector& selector = selectors_[shape.selector];
    auto live = [&](size_t n) -> uint8_t { return selector.match[n] == kMatch && held_[n] == 0; };
    size_t changes = changed_.size() - selector.tree_replayed;
    if (!selector.tree || changes > nodes_.size() / 8) {
      live_.resize(nodes_.size());
      for (size_t n = 0; n < nodes_.size(); ++n)
        live_[n] = live(n);
      if (selector.tree)
        selector.tree->refresh(state_, live_);
      else
        selector.tree = std::make_unique<internal::NodeTree>(state_, live_, *tree_prefers_, score_);
    } else {
      for (size_t i = selector.tree_replayed; i < changed_.size(); ++i)
        selector.tree->update(changed_[i], state_[changed_[i]], live(changed_[i]));
    }
    selector.tree_replayed = changed_.size();
    return selector.tree->best(state_, shape.request);
  }

  // The top of the shape's heap.
  std::optional<size_t> pick_scored(uint32_t shape_index) {
    NodeHeap& heap = heap_for(shape_index);
    auto& entries = heap.entries;
    const TaskShape& shape = shapes_[shape_index];
    while (!entries.empty()) {
      uint32_t node = entries.front().node;
      if (entries.front().version == version_[node])
        return node;
      std::pop_heap(entries.begin(), entries.end(), Worse{});
      entries.pop_back();
      if (score_only_falls_ && fits(shape, node)) {
        entries.push_back(entry(shape, node));
        std::push_heap(entries.begin(), entries.end(), Worse{});
      }
    }
    return std::nullopt;
  }

  // The heap of `shape_index`, brought up to date with the plan's changes.
  NodeHeap& heap_for(uint32_t shape_index) {
    TaskShape& shape = shapes_[shape_index];
    ++use_counter_;
    if (shape.heap != kNone && heaps_[shape.heap].shape == shape_index) {
      NodeHeap& heap = heaps_[shape.heap];
      heap.last_use = use_counter_;
      if (score_only_falls_) {
        heap.replayed = changed_.size();  // stale entries are re-scored when they surface
        return heap;
      }
      // Replaying costs a score and a heap push per changed node, rebuilding a score per node
      // and frees the stale entries: replay up to half the nodes, unless stale entries have
      // piled up to twice the live ones.
      if (changed_.size() - heap.replayed <= nodes_.size() / 2 &&
          heap.entries.size() <= 3 * nodes_.size()) {
        replay(shape, heap);
        return heap;
      }
      rebuild(shape, heap);
      return heap;
    }
    size_t slot;
    if (heaps_.size() < kMaxHeaps) {
      slot = heaps_.size();
      heaps_.emplace_back();
    } else {
      slot = 0;
      for (size_t i = 1; i < heaps_.size(); ++i) {
        if (heaps_[i].last_use < heaps_[slot].last_use)
          slot = i;
      }
    }
    NodeHeap& heap = heaps_[slot];
    heap.shape = shape_index;
    heap.last_use = use_counter_;
    shape.heap = static_cast<uint32_t>(slot);
    rebuild(shape, heap);
    return heap;
  }

  HeapEntry entry(const TaskShape& shape, size_t node) const {
    Score s = score_(state_[node], shape.request);
    return {s.primary, s.secondary, static_cast<uint32_t>(node), version_[node]};
  }

  void rebuild(const TaskShape& shape, NodeHeap& heap) {
    heap.entries.clear();
    for (size_t n = 0; n < nodes_.size(); ++n) {
      if (fits(shape, n))
        heap.entries.push_back(entry(shape, n));
    }
    std::make_heap(heap.entries.begin(), heap.entries.end(), Worse{});
    heap.replayed = changed_.size();
  }

  void replay(const TaskShape& shape, NodeHeap& heap) {
    ++replay_round_;
    for (size_t i = heap.replayed; i < changed_.size(); ++i) {
      uint32_t n = changed_[i];
      if (replay_stamp_[n] == replay_round_)
        continue;  // placed on more than once since the last replay: one fresh entry suffices
      replay_stamp_[n] = replay_round_;
      if (fits(shape, n)) {
        heap.entries.push_back(entry(shape, n));
        std::push_heap(heap.entries.begin(), heap.entries.end(), Worse{});
      }
    }
    heap.replayed = changed_.size();
  }

  void place(const Resources& request, size_t node) {
    NodeState& s = state_[node];
    CUBE_CHECK(s.credit > 0 && has_room(s, request))
        << "the policy picked node " << node << " that does not fit; fits() guards every pick";
    s.cpu_used += request.cpu;
    s.memory_used += request.memory_bytes;
    s.disk_used += request.disk_bytes;
    --s.credit;
    ++version_[node];
    changed_.push_back(static_cast<uint32_t>(node));
    ++epoch_;
  }

  void hold(size_t node) {
    held_[node] = 1;
    ++version_[node];
    changed_.push_back(static_cast<uint32_t>(node));  // a tree must see it leave
    ++epoch_;
  }

  // --- Reasons (the slow path: only for tasks that fit nowhere) ---

  enum class Stage { Driver, Constraint, Resources, Credit, Held };

  std::string reason_for(uint32_t shape_index) {
    TaskShape& shape = shapes_[shape_index];
    if (shape.reason_epoch == epoch_)
      return shape.reason;
    uint64_t epoch_before = epoch_;
    std::string reason = diagnose(shape);
    if (epoch_ == epoch_before) {
      // Nothing changed, so the next task of this shape gets the same answer. After a hold the
      // next one must look again: it holds a node of its own.
      shape.reason_epoch = epoch_;
      shape.reason = reason;
    }
    return reason;
  }

  // The largest shortfall of `request` on `s`, relative to capacity, over the dimensions it
  // lacks (0 if it lacks none).
  static double shortfall(const NodeState& s, const Resources& r) {
    auto relative = [](double capacity, double used, double request) {
      return (used + request - capacity) / capacity;
    };
    double worst = 0;
    if (!internal::cpu_fits(s, r.cpu))
      worst = std::max(worst, relative(s.cpu_capacity, s.cpu_used, r.cpu));
    if (!internal::memory_fits(s, r.memory_bytes)) {
      worst = std::max(
          worst, relative(static_cast<double>(s.memory_capacity),
                          static_cast<double>(s.memory_used), static_cast<double>(r.memory_bytes)));
    }
    if (!internal::disk_fits(s, r.disk_bytes)) {
      worst = std::max(
          worst, relative(static_cast<double>(s.disk_capacity), static_cast<double>(s.disk_used),
                          static_cast<double>(r.disk_bytes)));
    }
    return worst;
  }

  // Whether `request` fits on the node once everything there is gone.
  static bool could_ever_fit(const NodeState& s, const Resources& r) {
    NodeState empty = s;
    empty.cpu_used = 0;
    empty.memory_used = 0;
    empty.disk_used = 0;
    return has_room(empty, r);
  }

  std::string diagnose(const TaskShape& shape) {
    if (nodes_.empty())
      return "no nodes registered";
    const Selector& selector = selectors_[shape.selector];
    Stage furthest = Stage::Driver;
    size_t first_held = kNone;
    size_t best = kNone;  // the node closest to fitting, among those short of resources
    double best_shortfall = 0;
    size_t to_hold = kNone;  // the same among nodes this task may hold
    double to_hold_shortfall = 0;
    for (size_t n = 0; n < nodes_.size(); ++n) {
      Stage stage;
      const NodeState& s = state_[n];
      if (selector.match[n] == kNoDriver) {
        stage = Stage::Driver;
      } else if (selector.match[n] == kNoMatch) {
        stage = Stage::Constraint;
      } else if (!has_room(s, shape.request)) {
        stage = Stage::Resources;
        double sf = shortfall(s, shape.request);
        if (best == kNone || sf < best_shortfall) {
          best = n;
          best_shortfall = sf;
        }
        if (held_[n] == 0 && could_ever_fit(s, shape.request) &&
            (to_hold == kNone || sf < to_hold_shortfall)) {
          to_hold = n;
          to_hold_shortfall = sf;
        }
      } else if (s.credit == 0) {
        stage = Stage::Credit;
      } else {
        CUBE_CHECK(held_[n] != 0) << "node " << n << " fits a task the policy found no node for";
        stage = Stage::Held;
        if (first_held == kNone)
          first_held = n;
      }
      furthest = std::max(furthest, stage);
    }
    switch (furthest) {
      case Stage::Driver:
        return "no node offers the \"" + std::string(selector.driver) + "\" driver";
      case Stage::Constraint:
        return constraint_reason(selector);
      case Stage::Resources:
        if (to_hold != kNone) {
          hold(to_hold);
          best = to_hold;
        }
        return resources_reason(shape.request, best);
      case Stage::Credit:
        return "no node has a free slot";
      case Stage::Held:
        return "room on " + display_name(nodes_[first_held]) +
               " is held for an earlier pending task";
    }
    return "no node fits";
  }

  std::string constraint_reason(const Selector& selector) const {
    std::vector<std::string> texts;
    for (const auto& text : selector.constraints) {
      Constraint c = parse_constraint(text);
      bool anywhere = false;
      for (size_t n = 0; n < nodes_.size() && !anywhere; ++n)
        anywhere = selector.match[n] != kNoDriver && satisfies(nodes_[n], c);
      if (!anywhere)
        return "no node matches " + text;
      texts.push_back(text);
    }
    std::string all;
    for (const auto& t : texts)
      all += (all.empty() ? "" : ", ") + t;
    return "no node matches all of " + all;
  }

  std::string resources_reason(const Resources& r, size_t best) const {
    const NodeState& s = state_[best];
    std::vector<std::string> need;
    std::vector<std::string> have;
    if (!internal::cpu_fits(s, r.cpu)) {
      need.push_back(format_cpu(r.cpu) + " CPU");
      have.push_back(format_cpu(std::max(0.0, s.cpu_capacity - s.cpu_used)));
    }
    if (!internal::memory_fits(s, r.memory_bytes)) {
      need.push_back(format_size(r.memory_bytes) + " memory");
      have.push_back(format_size(std::max<int64_t>(0, s.memory_capacity - s.memory_used)));
    }
    if (!internal::disk_fits(s, r.disk_bytes)) {
      need.push_back(format_size(r.disk_bytes) + " disk");
      have.push_back(format_size(std::max<int64_t>(0, s.disk_capacity - s.disk_used)));
    }
    CUBE_CHECK(!need.empty()) << "only called for a node has_room() refused, which lacks a "
                                 "dimension";
    if (need.size() > 1) {
      // Several dimensions: label what the best node has, as the units alone are ambiguous.
      for (size_t i = 0; i < need.size(); ++i)
        have[i] += need[i].substr(need[i].rfind(' '));
    }
    return "no node has " + join_and(need) + " free (best: " + display_name(nodes_[best]) +
           " with " + join_and(have) + ")";
  }

  std::span<const NodeSnapshot> nodes_;
  std::span<const TaskRequest> tasks_;
  internal::ScoreFn score_;  // nullptr: roundrobin
  bool score_only_falls_;
  std::optional<internal::NodeTree::Prefers> tree_prefers_;  // set: binpack or spread
  size_t cursor_;

  std::vector<NodeState> state_;   // per node, updated by each placement
  std::vector<uint32_t> version_;  // per node, bumped whenever its feasibility or score changes
  std::vector<uint8_t> held_;      // per node, 1 once held for a blocked task
  std::vector<uint32_t> changed_;  // nodes in the order the plan placed on or held them
  uint64_t epoch_ = 0;             // bumped by every placement and hold

  std::vector<Selector> selectors_;
  std::unordered_map<SelectorKey, uint32_t, KeyHash> selector_index_;
  std::vector<TaskShape> shapes_;
  std::unordered_map<ShapeKey, uint32_t, KeyHash> shape_index_;

  std::vector<NodeHeap> heaps_;
  uint64_t use_counter_ = 0;
  std::vector<uint64_t> replay_stamp_;  // per node: the replay round that last pushed it
  std::vector<uint8_t> live_;           // pick_from_tree's, kept to reuse its allocation
  std::vector<GroupState> groups_;      // per spread group
  uint64_t replay_round_ = 0;
};

}  // namespace

std::string_view policy_name(Policy policy) {
  for (const auto& [p, name] : kPolicyNames) {
    if (p == policy)
      return name;
  }
  return "unknown";
}

std::optional<Policy> policy_from_name(std::string_view name) {
  for (const auto& [p, n] : kPolicyNames) {
    if (n == name)
      return p;
  }
  return std::nullopt;
}

Plan schedule(std::span<const NodeSnapshot> nodes, std::span<const TaskRequest> tasks,
              Policy policy, size_t cursor, std::span<const SpreadGroup> groups) {
  return Engine(nodes, tasks, policy, cursor, groups).run();
}

}  // namespace cube::broker
