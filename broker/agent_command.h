// AgentCommand: a message the broker decided to send to one agent over the work ROUTER. The
// deciding code (plan_apply, task_lifecycle) only appends commands; the broker loop queues them
// in its outbox (broker/outbox.h), which sends each only once the store has acknowledged the
// commit holding the change it acts on, so an agent never runs an attempt the store does not
// know.
#pragma once

#include <string>
#include <variant>

#include "protocol/messages.h"

namespace cube::broker {

struct AgentCommand {
  std::string agent_id;
  std::variant<protocol::Assign, protocol::Stop, protocol::Sync> message;
};

}  // namespace cube::broker
