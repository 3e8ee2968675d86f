// Admission: the security rules a message must pass before its handler changes anything. Who an
// agent may say it is under CURVE, and whether a SUBMIT is let in (task policy, per-client
// rate, the bound on tasks waiting for placement). Kept apart from the handlers so the rules
// read in one place.
//
// Thread-safety: the broker loop thread. Nothing blocks.
#pragma once

#include "broker/broker_state.h"
#include "broker/message_table.h"
#include "common/status.h"
#include "protocol/messages.h"

namespace cube::broker {

// Under CURVE: false (an ERROR unauthorized queued to the connection, counted as
// "work.hello_wrong_identity") when the HELLO's agent name is not the ZAP User-Id of its key,
// or it claims the agent id of an agent known under another key's name. True without CURVE.
bool check_agent_identity(BrokerState& state, const Inbound& in, const protocol::Hello& hello);

// SUBMIT admission (broker/task_policy.h, broker/rate_limiter.h, --max-pending): OK, or the
// refusal to answer with (Invalid for the policy, Unavailable for rate and queue bounds).
Status admit_submit(BrokerState& state, const Inbound& in, const Task& task);

}  // namespace cube::broker
