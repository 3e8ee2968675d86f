// The broker's message handlers, one file per socket, all registered in one MessageTable
// (broker/message_table.h), which decodes and counts before a handler runs:
//
//   client_handlers.cpp  SUBMIT, SUBMIT_BATCH, LIST, GET, STOP_TASK, NODES, STATUS (client ROUTER)
//   work_handlers.cpp    HELLO, CREDIT, ACCEPT, ACCEPT_BATCH, REJECT, SNAPSHOT, ERROR (work
//                        ROUTER)
//   event_handlers.cpp   AGENT_HEARTBEAT, TASK_STATE, TASK_STATE_BATCH, NODE_STATS (events SUB)
//   logs_handlers.cpp    LOGS (client) and LOGS_DATA (work): the logs proxy
//   service_handlers.cpp SERVICE_CREATE/LIST/INSPECT/SCALE/REMOVE (client; docs/services.md)
//   events_handlers.cpp  EVENTS (client): the event feed's long poll (docs/events.md)
//
// A handler decides through TaskLifecycle/AgentRegistry/TaskTable and queues what must be sent
// (BrokerState); it never blocks and never throws.
//
// Thread-safety: the broker loop thread.
#pragma once

#include "broker/broker_state.h"
#include "broker/message_table.h"
#include "common/clock.h"

namespace cube::broker {

// The table with every handler of the three sockets.
MessageTable broker_message_table();

void add_client_handlers(MessageTable& table);
void add_work_handlers(MessageTable& table);
void add_event_handlers(MessageTable& table);
void add_logs_handlers(MessageTable& table);
void add_service_handlers(MessageTable& table);
void add_events_handlers(MessageTable& table);

// Answers the LOGS requests whose agent did not answer in time (a loop timer).
void expire_logs(BrokerState& state, SteadyTime now);

// The views that NODES and STATUS answer with.
protocol::NodeInfo node_info(const BrokerState& state, const AgentRecord& agent);
protocol::BrokerStatus broker_status(const BrokerState& state);

}  // namespace cube::broker
