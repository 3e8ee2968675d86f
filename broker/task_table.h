// TaskTable: every task the broker knows, in memory, with its history and the indexes the
// broker loop needs (the placement queue, the tasks on each node, counts by state). Every state
// change goes through transition(), which enforces the architecture's transition table
// (protocol/task.h is_valid_transition) and records a TaskEvent. Changed tasks and new events are
// collected for the next group commit (broker/store.h).
//
// The placement queue holds, in FIFO order, tasks that wait for a node: first the Scheduled
// tasks that were taken back from an agent (assignment timed out, rejected, agent restarted;
// they have an attempt and no node, because Scheduled->Pending is not a valid transition), then
// the Pending tasks.
//
// The indexes are hashed by task ID: the broker looks tasks up several times per task on its
// hot path, and time-ordered UUIDv7 IDs share long prefixes that make ordered-map compares
// walk most of the string. Only LIST wants them in ID order, and sorts.
//
// Thread-safety: none; owned and used by the broker loop thread. Nothing blocks.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/id_map.h"
#include "broker/store.h"
#include "broker/string_pool.h"
#include "broker/task_history.h"
#include "broker/task_record_set.h"
#include "common/clock.h"
#include "common/status.h"
#include "protocol/task.h"

namespace cube::broker {

// The node a task is placed on: the agent's ID and its name (for display).
struct NodeRef {
  std::string id;
  std::string name;
};

// What the tasks Scheduled or Running on one node asked for, summed: the "allocated" the
// scheduler subtracts from the node's capacity.
struct NodeLoad {
  double cpu = 0;  // cores
  int64_t memory_bytes = 0;
  int64_t disk_bytes = 0;
  size_t tasks = 0;
};

struct TaskRecord {
  // Made in place in the table from the task moved in: a Task is 664 bytes, and each move
  // of one on the submit path showed in a profile.
  explicit TaskRecord(Task&& moved) : task(std::move(moved)) {}

  Task task;
  TaskHistory history;  // oldest first
  // Assignments taken back since the last ACCEPT (rejected or timed out); not persisted. The
  // broker gives up on a task after a few (a spec every agent refuses must not bounce forever).
  uint32_t offers_without_accept = 0;
  // Changed since the last group commit (TaskTable lists it in its uncommitted tasks once).
  bool uncommitted = false;
  // While the task occupies a node: its position in that node's task list (TaskTable), so that
  // leaving the node is a swap with the last entry instead of a search.
  uint32_t node_slot = 0;
  // The task's key in its placement queue while it waits for a node, else kNotQueued.
  static constexpr uint64_t kNotQueued = UINT64_MAX;
  uint64_t queue_seq = kNotQueued;
};

class TaskTable {
 public:
  // Adds a newly submitted task. `task.state` must be Pending and `task.id` set (the caller
  // generated one if the user gave none). Records the first history event at `now` and marks the
  // task for the next commit.
  // Returns the new record (records never move).
  //   Conflict  a task with that ID exists (callers check find() first: submits are idempotent).
  //   Invalid   the task is not Pending or has no ID.
  Result<const TaskRecord*> add(Task task, SystemTime now);

  // Called by add() (`from` nullopt) and transition() with the task as changed and its state
  // before (the event feed, broker/feed_events.h). Not by restore().
  using StateObserver =
      std::function<void(const Task& task, std::optional<TaskState> from, SystemTime now)>;
  void on_state_change(StateObserver observer) { observer_ = std::move(observer); }

  // Puts back a task loaded from the store, in whatever state it was stored, with its history.
  // Not marked for commit. Conflict for a duplicate ID.
  Status restore(Task task, std::vector<TaskEvent> history);

  // nullptr when there is no task with that ID. Tasks are never removed, so the pointer stays
  // valid for the life of the table (the task it points to changes with later calls).
  const TaskRecord* find(std::string_view id) const;

  // The calls below that change a task take its ID, or its record: one that find() returned
  // (records never move), which saves the hot paths a lookup per change.

  // Moves the task to state `to` with `reason`, appending a history event at `now`.
  // `node`: nullopt keeps the task's node; a NodeRef sets it (an empty NodeRef clears it: a
  // Scheduled task with no node waits in the placement queue).
  //   NotFound  no such task.
  //   Invalid   is_valid_transition(current, to) is false; nothing changed. The caller logs and
  //             counts it (a peer's report can be out of date; that is not a crash).
  Status transition(std::string_view id, TaskState to, std::string reason,
                    std::optional<NodeRef> node, SystemTime now);
  Status transition(const TaskRecord& record, TaskState to, std::string reason,
                    std::optional<NodeRef> node, SystemTime now);

  // Changes status fields other than state and node (attempt, desired state, exit code,
  // container, times...) through `change`; a task's spec never changes after submit. Marks the
  // task for commit and bumps updated_ms only when something changed, so re-applying the same
  // report is a no-op. CUBE_CHECKs that `change` left state, node_id and node alone (those go
  // through transition() so the indexes stay right). NotFound when there is no such task.
  Status update(std::string_view id, const std::function<void(TaskStatus&)>& change,
                SystemTime now);
  void update(const TaskRecord& record, const std::function<void(TaskStatus&)>& change,
              SystemTime now);

  // Sets the reason without a history event (an unplaced task's "why", refreshed on every
  // scheduling pass). No-op when unchanged. NotFound when there is no such task.
  Status set_reason(std::string_view id, std::string reason, SystemTime now);
  void set_reason(const TaskRecord& record, std::string reason, SystemTime now);

  // The record's offers_without_accept counter (see TaskRecord).
  void set_offers_without_accept(const TaskRecord& record, uint32_t value);

  // Up to `limit` task IDs waiting for a node, in placement order: taken-back Scheduled tasks
  // first, then Pending tasks, each oldest first. The views are the table's own keys: valid for
  // the life of the table.
  std::vector<std::string_view> placement_queue(size_t limit) const;
  // The same tasks' records (what a scheduling pass reads, without a lookup per ID).
  std::vector<const TaskRecord*> placement_queue_records(size_t limit) const;
  size_t placement_queue_size() const { return replace_queue_.size() + pending_queue_.size(); }

  // IDs of the tasks Scheduled or Running on agent `node_id` (empty when none), ordered by ID.
  // A copy, so the caller may change those tasks while it walks them; the views are the table's
  // own keys: valid for the life of the table.
  std::vector<std::string_view> tasks_on_node(std::string_view node_id) const;
  // How many tasks are Scheduled or Running on `node_id` (tasks_on_node(node_id).size()).
  size_t count_on_node(std::string_view node_id) const;
  // Agent IDs that have at least one task Scheduled or Running, ordered.
  std::vector<std::string> nodes_with_tasks() const;
  // The load of the tasks Scheduled or Running on `node_id`, kept up to date as tasks move, so
  // a scheduling pass reads it instead of walking the node's tasks. The entry is made (empty)
  // on first use and never removed: the reference stays valid, and current, for the life of
  // the table.
  const NodeLoad& node_load(std::string_view node_id);
  // The same load for a reader that must not add an entry: empty for a node with no tasks.
  NodeLoad load_on_node(std::string_view node_id) const;

  // How many tasks are in each state, indexed by TaskState.
  const std::array<uint64_t, kTaskStateCount>& counts() const { return counts_; }
  size_t size() const { return records_.size(); }
  // Every task ordered by ID (UUIDv7 IDs are time-ordered, so roughly by submission), for LIST.
  std::vector<const TaskRecord*> records_by_id() const;

  // What the next group commit must write: the changed tasks (current values) and the history
  // events appended since the last mark_committed().
  bool has_uncommitted() const { return !uncommitted_.empty() || !new_events_.empty(); }
  std::vector<Task> uncommitted_tasks() const;
  const std::vector<TaskEventRecord>& uncommitted_events() const { return new_events_; }
  // The same events, moved out (for the batch that writes them; mark_committed() follows).
  std::vector<TaskEventRecord> take_uncommitted_events() { return std::exchange(new_events_, {}); }
  // Call after the store committed the batch above. Changes made since are kept for next time.
  void mark_committed();
  // The services (Task::service) of the tasks added or changed since the last call, each with
  // whether one of those tasks is no longer live (ended, or to be stopped): the service loop
  // walks those services (a change of a live task matters to a service only while it rolls).
  bool has_changed_services() const { return !changed_services_.empty(); }
  std::map<std::string, bool, std::less<>> take_changed_services() {
    return std::exchange(changed_services_, {});
  }
  // For a store that reads no batch (VolatileStore): history events are no longer copied for
  // the commit (uncommitted_events() stays empty); which tasks changed is still tracked.
  void stop_collecting_events() { collect_events_ = false; }

 private:
  // Which queue/index a task belongs to, from its state and node.
  void unindex(TaskRecord& record);
  void index(TaskRecord& record);
  void append_event(std::string_view id, TaskRecord& record, SystemTime now);
  // Adds a record holding `task` (moved from) and returns it with true; when a record with that
  // ID exists, returns that one with false and adds nothing.
  std::pair<TaskRecord*, bool> insert(Task&& task);
  // `record` (one of records_), changeable.
  static TaskRecord& own(const TaskRecord& record);
  // Lists the task for the next commit (once, in the order of first change), and its service
  // as changed.
  void mark_uncommitted(TaskRecord& record);

  // The histories' reasons and node names. Behind a pointer so that its address, which every
  // history keeps, survives a move of the table.
  std::unique_ptr<StringPool> strings_ = std::make_unique<StringPool>();
  // Nodes never move and tasks are never removed: the indexes below hold views of the keys.
  TaskRecordSet records_;
  // Placement queues: sequence number -> task; the record remembers its sequence number.
  std::map<uint64_t, const TaskRecord*> replace_queue_;
  std::map<uint64_t, const TaskRecord*> pending_queue_;
  uint64_t next_queue_seq_ = 0;
  // What occupies each node, by node ID; entries are never removed (node_load's references
  // stay valid). The list is unordered: a task leaves it by TaskRecord::node_slot, and the few
  // readers that want ID order sort a copy. A hashed list instead of an ordered set of IDs:
  // time-ordered IDs share long prefixes, and the set's compares on every placement and
  // completion were a tenth of the loop's time (perf, cube-bench --batch 64).
  struct NodeTasks {
    std::vector<TaskRecord*> tasks;
    NodeLoad load;
  };
  IdMap<NodeTasks> by_node_;
  // by_node_'s entry for `node_id`, made empty on first use.
  NodeTasks& node_tasks(std::string_view node_id);
  std::array<uint64_t, kTaskStateCount> counts_{};
  // The tasks changed since the last commit, in the order of first change.
  std::vector<TaskRecord*> uncommitted_;
  std::vector<TaskEventRecord> new_events_;
  bool collect_events_ = true;
  // update()'s copy of the status before the change, kept so that the copy reuses its strings'
  // buffers instead of allocating them on every report.
  TaskStatus before_update_;
  std::map<std::string, bool, std::less<>> changed_services_;  // service -> a task not live
  StateObserver observer_;
};

}  // namespace cube::broker
