// BrokerOptions: everything cube-broker can be told on its command line, with the defaults that
// docs/protocol.md describes. A plain value: broker/main.cpp fills it, BrokerLoop reads
// it once at construction.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "broker/rate_limiter.h"
#include "broker/restart_policy.h"
#include "broker/scheduler.h"
#include "broker/task_policy.h"
#include "common/clock.h"
#include "protocol/curve.h"

namespace cube::broker {

struct BrokerOptions {
  // Address to bind. Anything but a loopback address needs `insecure` (no CURVE yet).
  std::string host = "127.0.0.1";
  // Base port: client ROUTER on port, work ROUTER port+1, events SUB port+2, beacon PUB port+3.
  // 0 = pick a free base: random bases in 20000..60000 are tried until all four ports bind.
  int port = 7100;

  // Beacon period, and the interval agents are expected to heartbeat at (WELCOME tells them).
  Millis heartbeat{1000};
  // An agent silent this long is lost: its tasks go to Failed "node lost".
  Millis node_grace{5000};
  // An agent that missed this many heartbeats is suspect: no new placements on it. 3 beats
  // survive one lost packet plus jitter (docs/protocol.md, "Liveness").
  int suspect_after_beats = 3;
  // An ASSIGN not answered by ACCEPT/REJECT within this is taken back and offered elsewhere.
  Millis assign_timeout{5000};
  // STOP.grace_ms: how long an agent waits after SIGTERM / docker stop before killing.
  Millis stop_grace{10000};

  Policy policy = Policy::Binpack;
  // The store in use, as StoreSpec::describe() says it ("memory", "sqlite:PATH (sync=normal)");
  // for logs. broker/main.cpp builds the store itself (broker/store_spec.h).
  std::string store = "memory";
  // Restart policies: max restarts and backoff (broker/restart_policy.h).
  RestartOptions restart;
  // Allows a non-loopback bind without encryption.
  bool insecure = false;

  // CURVE (protocol/curve.h, broker/zap_handler.h): the broker's secret key in Z85; empty means
  // plaintext. When set, all four sockets are CURVE servers and only the listed keys connect.
  std::string curve_secret;
  std::vector<protocol::AuthorizedKey> authorized_agents;
  std::vector<protocol::AuthorizedKey> authorized_clients;
  // The files the two lists came from, re-read by BrokerLoop::reload_allowlist_files() (SIGHUP).
  // Empty when the lists were given directly (tests).
  std::string authorized_agents_file;
  std::string authorized_clients_file;
  // What tasks may ask for (broker/task_policy.h); checked at SUBMIT.
  TaskPolicy task_policy;
  // Per-client SUBMIT rate (broker/rate_limiter.h); off by default.
  RateLimit client_rate;
  // SUBMITs are refused with Unavailable while this many tasks wait for placement; 0 = no bound.
  size_t max_pending = 0;
  // The event feed (docs/events.md): how many recent events the broker keeps for subscribers
  // (--event-buffer) and how many EVENTS requests may wait at once (--event-subscribers).
  size_t event_buffer = 65536;
  size_t max_event_subscribers = 4096;
};

}  // namespace cube::broker
