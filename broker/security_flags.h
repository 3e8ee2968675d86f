// cube-broker's security flags CURVE keys and allowlists, task policy, client rate,
// pending bound and the event feed's bounds. Declared and read here so broker/main.cpp stays a list
// of calls.
//
// Thread-safety: call from main() only (reads files).
#pragma once

#include <boost/program_options.hpp>

#include "broker/options.h"
#include "common/status.h"

namespace cube::broker {

// Adds --curve-secret, --authorized-agents, --authorized-clients, --allow-image,
// --max-task-cpu, --max-task-memory, --allow-exec, --client-rate, --client-burst and
// --max-pending, --event-buffer and --event-subscribers to `desc`.
void add_security_options(boost::program_options::options_description& desc);

// Fills options.curve_secret, authorized_*, task_policy, client_rate, max_pending, event_buffer and
// max_event_subscribers from `vm`,
// reading the key files. `loopback`: the broker binds only a loopback address, which makes the
// exec driver allowed by default. Invalid (message naming the flag) on a bad value, a key file
// that cannot be read or parsed, or keys given only in part (--curve-secret needs both
// allowlists and the reverse).
Status read_security_options(const boost::program_options::variables_map& vm, bool loopback,
                             BrokerOptions& options);

}  // namespace cube::broker
