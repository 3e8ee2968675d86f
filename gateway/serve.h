// run_with_gateway: how cube-broker runs when the HTTP gateway is on. The broker loop runs on its
// own thread; the calling thread waits for the shutdown signal and then stops in the order that
// loses no answer: first the gateway (no new HTTP requests; requests in progress are still
// answered by the running broker loop), then the broker loop (which commits what is left).
//
// Thread-safety: call from main, once. Blocks until shutdown.
#pragma once

#include <functional>

#include "gateway/gateway.h"

namespace cube::gateway {

// Runs `run_broker(stop_fd)` on a new thread until `shutdown_fd` becomes readable (it is not
// read: the caller consumes its ShutdownSignal afterwards) or run_broker returns by itself;
// then stops `gateway`, makes stop_fd readable and joins. `run_broker` must return once stop_fd
// is readable (BrokerLoop::run does).
void run_with_gateway(const std::function<void(int stop_fd)>& run_broker, Gateway& gateway,
                      int shutdown_fd);

}  // namespace cube::gateway
