#include "broker/task_table.h"

#include <algorithm>
#include <utility>

#include "common/check.h"

namespace cube::broker {
namespace {

bool occupies_node(const Task& task) {
  return (task.state == TaskState::Scheduled || task.state == TaskState::Running) &&
         !task.node_id.empty();
}

// Adds (sign +1) or removes (-1) what `task` asks for to or from `load`.
void account(NodeLoad& load, const Task& task, int sign) {
  load.cpu += sign * task.cpu;
  load.memory_bytes += sign * task.memory_bytes;
  load.disk_bytes += sign * task.disk_bytes;
  load.tasks = sign > 0 ? load.tasks + 1 : load.tasks - 1;
  if (load.tasks == 0)
    load = NodeLoad{};  // exactly zero again: no floating-point residue from the CPU sums
}

}  // namespace

Result<const TaskRecord*> TaskTable::add(Task task, SystemTime now) {
  if (task.id.empty())
    return Status::invalid("a task needs an ID before it is added");
  if (task.state != TaskState::Pending)
    return Status::invalid("a new task must be Pending");
  task.updated_ms = to_unix_ms(now);
  auto [found, added] = insert(std::move(task));
  if (!added)
    return Status::conflict("task " + found->task.id + " exists");
  TaskRecord& record = *found;
  append_event(record.task.id, record, now);
  index(record);
  ++counts_[static_cast<size_t>(record.task.state)];
  mark_uncommitted(record);
  if (observer_)
    observer_(record.task, std::nullopt, now);
  return &record;
}

Status TaskTable::restore(Task task, std::vector<TaskEvent> history) {
  if (task.id.empty())
    return Status::invalid("a stored task has no ID");
  auto [found, added] = insert(std::move(task));
  if (!added)
    return Status::conflict("task " + found->task.id + " is stored twice");
  TaskRecord& record = *found;
  for (const TaskEvent& event : history)
    record.history.append(event, *strings_);
  index(record);
  ++counts_[static_cast<size_t>(record.task.state)];
  return Status::ok();
}

std::pair<TaskRecord*, bool> TaskTable::insert(Task&& task) {
  return records_.insert(std::move(task));
}

TaskRecord& TaskTable::own(const TaskRecord& record) {
  // The table hands its records out as const, so that every change goes through its own calls
  // (which keep the indexes and the commit list right); those calls change them here.
  return const_cast<TaskRecord&>(record);
}

const TaskRecord* TaskTable::find(std::string_view id) const {
  return records_.find(id);
}

Status TaskTable::transition(std::string_view id, TaskState to, std::string reason,
                             std::optional<NodeRef> node, SystemTime now) {
  const TaskRecord* record = find(id);
  if (record == nullptr)
    return Status::not_found("no task with ID " + std::string(id));
  return transition(*record, to, std::move(reason), std::move(node), now);
}

Status TaskTable::transition(const TaskRecord& found, TaskState to, std::string reason,
                             std::optional<NodeRef> node, SystemTime now) {
  TaskRecord& record = own(found);
  TaskState from = record.task.state;
  const std::string_view key = record.task.id;
  if (!is_valid_transition(from, to)) {
    return Status::invalid("task " + std::string(key) + ": " + std::string(task_state_name(from)) +
                           " -> " + std::string(task_state_name(to)) + " is not allowed");
  }
  // Scheduled -> Running (and a Running report repeated) on the same node keeps the task where
  // the indexes have it: the common case, so it skips taking it out and putting it back.
  const bool stays_on_node = occupies_node(record.task) &&
                             (to == TaskState::Scheduled || to == TaskState::Running) &&
                             (!node || node->id == record.task.node_id);
  if (!stays_on_node)
    unindex(record);
  --counts_[static_cast<size_t>(from)];
  record.task.state = to;
  record.task.reason = std::move(reason);
  if (node) {
    record.task.node_id = std::move(node->id);
    record.task.node = std::move(node->name);
  }
  record.task.updated_ms = to_unix_ms(now);
  ++counts_[static_cast<size_t>(to)];
  if (!stays_on_node)
    index(record);
  append_event(key, record, now);
  mark_uncommitted(record);
  if (observer_)
    observer_(record.task, from, now);
  return Status::ok();
}

Status TaskTable::update(std::string_view id, const std::function<void(TaskStatus&)>& change,
                         SystemTime now) {
  const TaskRecord* record = find(id);
  if (record == nullptr)
    return Status::not_found("no task with ID " + std::string(id));
  update(*record, change, now);
  return Status::ok();
}

void TaskTable::update(const TaskRecord& found, const std::function<void(TaskStatus&)>& change,
                       SystemTime now) {
  TaskRecord& record = own(found);
  TaskStatus& status = record.task;
  // The status alone (the spec, most of a task's bytes, is fixed), into a copy whose buffers
  // are reused.
  TaskStatus& before = before_update_;
  before = status;
  change(status);
  CUBE_CHECK(status.state == before.state && status.node_id == before.node_id &&
             status.node == before.node)
      << "TaskTable::update must not change state or node: use transition()";
  if (status == before)
    return;
  status.updated_ms = to_unix_ms(now);
  mark_uncommitted(record);
}

Status TaskTable::set_reason(std::string_view id, std::string reason, SystemTime now) {
  const TaskRecord* record = find(id);
  if (record == nullptr)
    return Status::not_found("no task with ID " + std::string(id));
  set_reason(*record, std::move(reason), now);
  return Status::ok();
}

void TaskTable::set_reason(const TaskRecord& found, std::string reason, SystemTime now) {
  TaskRecord& record = own(found);
  Task& task = record.task;
  if (task.reason == reason)
    return;
  task.reason = std::move(reason);
  task.updated_ms = to_unix_ms(now);
  mark_uncommitted(record);
}

void TaskTable::set_offers_without_accept(const TaskRecord& record, uint32_t value) {
  own(record).offers_without_accept = value;
}

std::vector<const TaskRecord*> TaskTable::placement_queue_records(size_t limit) const {
  std::vector<const TaskRecord*> out;
  out.reserve(std::min(limit, placement_queue_size()));
  for (const auto* queue : {&replace_queue_, &pending_queue_}) {
    for (const auto& [seq, record] : *queue) {
      if (out.size() >= limit)
        return out;
      out.push_back(record);
    }
  }
  return out;
}

std::vector<std::string_view> TaskTable::placement_queue(size_t limit) const {
  std::vector<std::string_view> out;
  for (const TaskRecord* record : placement_queue_records(limit))
    out.emplace_back(record->task.id);
  return out;
}

std::vector<std::string_view> TaskTable::tasks_on_node(std::string_view node_id) const {
  std::vector<std::string_view> out;
  auto it = by_node_.find(node_id);
  if (it == by_node_.end())
    return out;
  out.reserve(it->second.tasks.size());
  for (const TaskRecord* record : it->second.tasks)
    out.emplace_back(record->task.id);
  std::sort(out.begin(), out.end());
  return out;
}

size_t TaskTable::count_on_node(std::string_view node_id) const {
  auto it = by_node_.find(node_id);
  return it == by_node_.end() ? 0 : it->second.tasks.size();
}

const NodeLoad& TaskTable::node_load(std::string_view node_id) {
  return node_tasks(node_id).load;
}

TaskTable::NodeTasks& TaskTable::node_tasks(std::string_view node_id) {
  auto it = by_node_.find(node_id);
  if (it == by_node_.end())
    it = by_node_.emplace(std::string(node_id), NodeTasks{}).first;
  return it->second;
}

NodeLoad TaskTable::load_on_node(std::string_view node_id) const {
  auto it = by_node_.find(node_id);
  return it == by_node_.end() ? NodeLoad{} : it->second.load;
}

std::vector<std::string> TaskTable::nodes_with_tasks() const {
  std::vector<std::string> out;
  for (const auto& [node, on_node] : by_node_) {
    if (!on_node.tasks.empty())
      out.push_back(node);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<const TaskRecord*> TaskTable::records_by_id() const {
  std::vector<const TaskRecord*> out;
  out.reserve(records_.size());
  for (size_t i = 0; i < records_.size(); ++i)
    out.push_back(&records_.at(i));
  std::sort(out.begin(), out.end(),
            [](const TaskRecord* a, const TaskRecord* b) { return a->task.id < b->task.id; });
  return out;
}

std::vector<Task> TaskTable::uncommitted_tasks() const {
  std::vector<Task> out;
  out.reserve(uncommitted_.size());
  for (const TaskRecord* record : uncommitted_)
    out.push_back(record->task);
  return out;
}

void TaskTable::mark_committed() {
  for (TaskRecord* record : uncommitted_)
    record->uncommitted = false;
  uncommitted_.clear();
  new_events_.clear();
}

void TaskTable::mark_uncommitted(TaskRecord& record) {
  if (const Task& t = record.task; !t.service.empty()) {
    auto it = changed_services_.find(t.service);
    if (it == changed_services_.end())
      it = changed_services_.emplace(t.service, false).first;
    it->second = it->second || is_terminal(t.state) || t.desired_state != TaskState::Running;
  }
  if (record.uncommitted)
    return;
  record.uncommitted = true;
  uncommitted_.push_back(&record);
}

void TaskTable::unindex(TaskRecord& record) {
  if (record.queue_seq != TaskRecord::kNotQueued) {
    replace_queue_.erase(record.queue_seq);
    pending_queue_.erase(record.queue_seq);
    record.queue_seq = TaskRecord::kNotQueued;
  }
  if (occupies_node(record.task)) {
    NodeTasks& on_node = by_node_.find(record.task.node_id)->second;  // index() made it
    TaskRecord* last = on_node.tasks.back();
    on_node.tasks[record.node_slot] = last;
    last->node_slot = record.node_slot;
    on_node.tasks.pop_back();
    account(on_node.load, record.task, -1);
  }
}

void TaskTable::index(TaskRecord& record) {
  const Task& task = record.task;
  if (task.state == TaskState::Pending) {
    record.queue_seq = next_queue_seq_++;
    pending_queue_.emplace(record.queue_seq, &record);
  } else if (task.state == TaskState::Scheduled && task.node_id.empty()) {
    record.queue_seq = next_queue_seq_++;
    replace_queue_.emplace(record.queue_seq, &record);
  } else if (occupies_node(task)) {
    NodeTasks& on_node = node_tasks(task.node_id);
    record.node_slot = static_cast<uint32_t>(on_node.tasks.size());
    on_node.tasks.push_back(&record);
    account(on_node.load, task, +1);
  }
}

void TaskTable::append_event(std::string_view id, TaskRecord& record, SystemTime now) {
  TaskEvent event{record.task.state, to_unix_ms(now), record.task.reason, record.task.node};
  record.history.append(event, *strings_);
  if (collect_events_)
    new_events_.emplace_back(id, std::move(event));
}

}  // namespace cube::broker
