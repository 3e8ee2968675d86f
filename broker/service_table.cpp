#include "broker/service_table.h"

namespace cube::broker {

const Service* ServiceTable::find(std::string_view name) const {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : &it->second;
}

void ServiceTable::put(Service service) {
  std::string name = service.name;
  if (observer_)
    observer_(find(name), &service);
  services_.insert_or_assign(name, std::move(service));
  if (auto it = removed_.find(name); it != removed_.end())
    removed_.erase(it);
  changed_.insert(name);
  dirty_.insert(std::move(name));
}

void ServiceTable::remove(std::string_view name) {
  auto it = services_.find(name);
  if (it == services_.end())
    return;
  if (observer_)
    observer_(&it->second, nullptr);
  services_.erase(it);
  end_rollout(name);
  if (auto d = dirty_.find(name); d != dirty_.end())
    dirty_.erase(d);
  removed_.insert(std::string(name));
  changed_.insert(std::string(name));
}

void ServiceTable::restore(Service service) {
  std::string name = service.name;
  services_.insert_or_assign(std::move(name), std::move(service));
}

RolloutProgress& ServiceTable::rollout(std::string_view name) {
  auto it = rollouts_.find(name);
  if (it == rollouts_.end())
    it = rollouts_.emplace(std::string(name), RolloutProgress{}).first;
  return it->second;
}

void ServiceTable::end_rollout(std::string_view name) {
  if (auto it = rollouts_.find(name); it != rollouts_.end())
    rollouts_.erase(it);
}

void ServiceTable::add_task(std::string_view service, std::string task_id) {
  auto it = tasks_.find(service);
  if (it == tasks_.end())
    it = tasks_.emplace(std::string(service), std::vector<std::string>{}).first;
  it->second.push_back(std::move(task_id));
}

const std::vector<std::string>& ServiceTable::task_ids(std::string_view service) const {
  static const std::vector<std::string> kNone;
  auto it = tasks_.find(service);
  return it == tasks_.end() ? kNone : it->second;
}

std::vector<std::string> ServiceTable::orphans() const {
  std::vector<std::string> out;
  for (const auto& [name, ids] : tasks_) {
    if (!services_.contains(name))
      out.push_back(name);
  }
  return out;
}

void ServiceTable::forget_tasks(std::string_view name) {
  if (auto it = tasks_.find(name); it != tasks_.end())
    tasks_.erase(it);
}

void ServiceTable::note_answer(uint64_t request_id, Service answered) {
  answers_.emplace_back(request_id, std::move(answered));
  if (answers_.size() > kAnswersKept)
    answers_.pop_front();
}

const Service* ServiceTable::answer_to(uint64_t request_id, std::string_view name) const {
  for (const auto& [id, service] : answers_) {
    if (id == request_id && service.name == name)
      return &service;
  }
  return nullptr;
}

void ServiceTable::take_uncommitted(std::vector<Service>& upserts,
                                    std::vector<std::string>& removed) {
  for (const auto& name : dirty_) {
    if (const Service* s = find(name))
      upserts.push_back(*s);
  }
  removed.insert(removed.end(), removed_.begin(), removed_.end());
  dirty_.clear();
  removed_.clear();
}

}  // namespace cube::broker
