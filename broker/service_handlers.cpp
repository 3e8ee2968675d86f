// Service requests on the client ROUTER (docs/services.md). LIST and INSPECT are answered at
// once from the broker's view; CREATE, SCALE, UPDATE, ROLLBACK, RESTART and REMOVE change the
// service table, run the service loop (so the tasks they make or stop are in the same commit)
// and are answered through the outbox once that commit is stored (broker/outbox.h). A refusal
// changes nothing and is answered at once, counted "services.refused.<why>".
#include <algorithm>
#include <tuple>

#include "broker/handlers.h"
#include "broker/service_loop.h"

namespace cube::broker {
namespace {

void refuse(BrokerState& state, const Inbound& in, uint64_t request_id, std::string_view why,
            Status status) {
  bump(state.counters, "services.refused." + std::string(why));
  state.reply_error(in.routing(), request_id, std::move(status));
}

Status unknown_service(std::string_view name) {
  return Status::not_found("no service named \"" + std::string(name) + "\"");
}

// Queues the OK reply carrying `service` as it is after the changes made so far.
void reply_with_service(BrokerState& state, const Inbound& in, uint64_t request_id,
                        const Service& service) {
  protocol::Reply r;
  r.request_id = request_id;
  r.services.push_back(service_info(state, service));
  state.queue_reply(in.routing(), r);
}

bool same_definition(const Service& a, const Service& b) {
  return a.task_template == b.task_template && a.replicas == b.replicas && a.update == b.update;
}

void on_create(BrokerState& state, Inbound& in, protocol::ServiceCreateRequest& req) {
  Service& asked = req.service;
  if (Status s = validate_service(asked); !s.is_ok())
    return refuse(state, in, req.request_id, "invalid", s);
  asked.task_template = normalized_template(asked.task_template);
  if (const Service* existing = state.services.find(asked.name)) {
    // Idempotent: a retry (or the same create again) is answered with the stored service.
    if (same_definition(*existing, asked))
      return reply_with_service(state, in, req.request_id, *existing);
    return refuse(state, in, req.request_id, "exists",
                  Status::conflict("service \"" + asked.name + "\" exists (version " +
                                   std::to_string(existing->version) +
                                   ") with another definition; scale it, or remove it first"));
  }
  int64_t now_ms = to_unix_ms(state.clock.wall());
  asked.version = 1;
  asked.template_version = 1;
  asked.created_ms = now_ms;
  asked.updated_ms = now_ms;
  std::string name = asked.name;
  state.services.put(std::move(asked));
  bump(state.counters, "services.created");
  reconcile_services(state);
  reply_with_service(state, in, req.request_id, *state.services.find(name));
}

void on_list(BrokerState& state, Inbound& in, protocol::ServiceListRequest& req) {
  protocol::Reply r;
  r.request_id = req.request_id;
  for (const auto& [name, service] : state.services.services())
    r.services.push_back(service_info(state, service));
  state.reply(in.routing(), r);
}

void on_inspect(BrokerState& state, Inbound& in, protocol::ServiceInspectRequest& req) {
  const Service* service = state.services.find(req.name);
  if (service == nullptr)
    return refuse(state, in, req.request_id, "not_found", unknown_service(req.name));
  protocol::Reply r;
  r.request_id = req.request_id;
  r.services.push_back(service_info(state, *service));
  for (const std::string& id : state.services.task_ids(service->name)) {
    if (const TaskRecord* record = state.tasks.find(id))
      r.tasks.push_back(record->task);
  }
  std::sort(r.tasks.begin(), r.tasks.end(), [](const Task& a, const Task& b) {
    return std::tie(a.slot, a.created_ms, a.id) < std::tie(b.slot, b.created_ms, b.id);
  });
  state.reply(in.routing(), r);
}

void on_scale(BrokerState& state, Inbound& in, protocol::ServiceScaleRequest& req) {
  if (req.replicas > kMaxReplicas) {
    return refuse(
        state, in, req.request_id, "invalid",
        Status::invalid("replicas " + std::to_string(req.replicas) + " is above the limit of " +
                        std::to_string(kMaxReplicas) + " replicas per service"));
  }
  const Service* found = state.services.find(req.name);
  if (found == nullptr)
    return refuse(state, in, req.request_id, "not_found", unknown_service(req.name));
  if (found->replicas != req.replicas) {
    Service changed = *found;
    changed.replicas = req.replicas;
    ++changed.version;
    changed.updated_ms = to_unix_ms(state.clock.wall());
    state.services.put(std::move(changed));
    bump(state.counters, "services.scaled");
    reconcile_services(state);
  }
  reply_with_service(state, in, req.request_id, *state.services.find(req.name));
}

void on_update(BrokerState& state, Inbound& in, protocol::ServiceUpdateRequest& req) {
  Service& asked = req.service;
  if (Status s = validate_service(asked); !s.is_ok())
    return refuse(state, in, req.request_id, "invalid", s);
  const Service* found = state.services.find(asked.name);
  if (found == nullptr)
    return refuse(state, in, req.request_id, "not_found", unknown_service(asked.name));
  asked.task_template = normalized_template(asked.task_template);
  // The same definition again (a retry whose first try landed, or nothing to change).
  if (same_definition(*found, asked))
    return reply_with_service(state, in, req.request_id, *found);
  if (req.expected_version != 0 && req.expected_version != found->version) {
    return refuse(state, in, req.request_id, "conflict",
                  Status::conflict("service \"" + asked.name + "\" changed since version " +
                                   std::to_string(req.expected_version) + " (it is at version " +
                                   std::to_string(found->version) +
                                   "); look at it again and retry the update"));
  }
  int64_t now_ms = to_unix_ms(state.clock.wall());
  Service changed = *found;
  changed.replicas = asked.replicas;
  changed.update = asked.update;
  if (changed.task_template != asked.task_template) {
    start_rollout(changed, std::move(asked.task_template), "", now_ms);
    bump(state.counters, "services.updated");
  } else {
    ++changed.version;  // replicas or the update policy only: no rollout
    changed.updated_ms = now_ms;
  }
  state.services.put(std::move(changed));
  reconcile_services(state);
  reply_with_service(state, in, req.request_id, *state.services.find(req.service.name));
}

// ROLLBACK and RESTART: a retry of a request that landed is answered with the service as it
// is, not applied twice.
const Service* retried_or_found(BrokerState& state, const Inbound& in, uint64_t request_id,
                                const std::string& name) {
  const Service* found = state.services.find(name);
  if (found == nullptr) {
    refuse(state, in, request_id, "not_found", unknown_service(name));
    return nullptr;
  }
  if (state.services.answer_to(request_id, name) != nullptr) {
    reply_with_service(state, in, request_id, *found);
    return nullptr;
  }
  return found;
}

void apply_and_reply(BrokerState& state, const Inbound& in, uint64_t request_id, Service changed) {
  std::string name = changed.name;
  state.services.note_answer(request_id, changed);
  state.services.put(std::move(changed));
  reconcile_services(state);
  reply_with_service(state, in, request_id, *state.services.find(name));
}

void on_rollback(BrokerState& state, Inbound& in, protocol::ServiceRollbackRequest& req) {
  const Service* found = retried_or_found(state, in, req.request_id, req.name);
  if (found == nullptr)
    return;
  if (found->previous_template_version == 0) {
    return refuse(state, in, req.request_id, "no_previous",
                  Status::conflict("service \"" + req.name +
                                   "\" has no previous template to roll back to (it was "
                                   "never updated)"));
  }
  Service changed = *found;
  roll_back(changed, "rollback requested", to_unix_ms(state.clock.wall()));
  bump(state.counters, "services.rolled_back");
  apply_and_reply(state, in, req.request_id, std::move(changed));
}

void on_restart(BrokerState& state, Inbound& in, protocol::ServiceRestartRequest& req) {
  const Service* found = retried_or_found(state, in, req.request_id, req.name);
  if (found == nullptr)
    return;
  Service changed = *found;
  Task same = changed.task_template;
  start_rollout(changed, std::move(same), "restart requested", to_unix_ms(state.clock.wall()));
  bump(state.counters, "services.restarted");
  apply_and_reply(state, in, req.request_id, std::move(changed));
}

void on_remove(BrokerState& state, Inbound& in, protocol::ServiceRemoveRequest& req) {
  const Service* found = state.services.find(req.name);
  if (found == nullptr) {
    // A retry of a removal that happened: answered as the first try was.
    if (const Service* removed = state.services.answer_to(req.request_id, req.name))
      return reply_with_service(state, in, req.request_id, *removed);
    return refuse(state, in, req.request_id, "not_found", unknown_service(req.name));
  }
  protocol::Reply r;
  r.request_id = req.request_id;
  r.services.push_back(service_info(state, *found));
  state.services.note_answer(req.request_id, *found);
  state.services.remove(req.name);
  bump(state.counters, "services.removed");
  reconcile_services(state);  // stops every task of it (it is an orphan now)
  state.queue_reply(in.routing(), r);
}

}  // namespace

void add_service_handlers(MessageTable& table) {
  table.add<protocol::ServiceCreateRequest, on_create>(BrokerSocket::Client);
  table.add<protocol::ServiceListRequest, on_list>(BrokerSocket::Client);
  table.add<protocol::ServiceInspectRequest, on_inspect>(BrokerSocket::Client);
  table.add<protocol::ServiceScaleRequest, on_scale>(BrokerSocket::Client);
  table.add<protocol::ServiceRemoveRequest, on_remove>(BrokerSocket::Client);
  table.add<protocol::ServiceUpdateRequest, on_update>(BrokerSocket::Client);
  table.add<protocol::ServiceRollbackRequest, on_rollback>(BrokerSocket::Client);
  table.add<protocol::ServiceRestartRequest, on_restart>(BrokerSocket::Client);
}

}  // namespace cube::broker
