// BrokerApi: the broker operations the HTTP gateway needs, as an interface so that the REST
// handlers are unit-tested against a fake. The real implementation (gateway/client_pool.h)
// sends each call to the broker's client port through cube::Client, exactly as cube-client
// does: the gateway has no other path to the broker's state or store.
//
// Thread-safety: implementations must allow concurrent calls from any number of threads (the
// HTTP server's worker threads). Every call blocks until the broker answers or the client's
// Lazy Pirate retries give up.
#pragma once

#include <span>
#include <string>
#include <variant>
#include <vector>

#include "client/client.h"
#include "common/status.h"
#include "protocol/messages.h"
#include "protocol/task.h"

namespace cube::gateway {

// The service requests (docs/services.md), sent as they are.
using ServiceRequest =
    std::variant<protocol::ServiceCreateRequest, protocol::ServiceListRequest,
                 protocol::ServiceInspectRequest, protocol::ServiceScaleRequest,
                 protocol::ServiceUpdateRequest, protocol::ServiceRollbackRequest,
                 protocol::ServiceRestartRequest, protocol::ServiceRemoveRequest>;

class BrokerApi {
 public:
  virtual ~BrokerApi() = default;

  // As cube::Client (client/client.h): the task as stored; Invalid naming the field; an existing
  // ID returns the stored task; a desired state of Completed stops the task with that ID
  // (NotFound when there is none). Unavailable when the broker does not answer.
  virtual Result<Task> submit(const Task& task) = 0;
  // As cube::Client::submit_many: one outcome per task, in order, each task judged on its own;
  // the error of the call as a whole (Unavailable when the broker does not answer) otherwise.
  virtual Result<std::vector<protocol::SubmitOutcome>> submit_many(std::span<const Task> tasks) = 0;
  // Every task. Unavailable when the broker does not answer.
  virtual Result<std::vector<Task>> list() = 0;
  // One task and its history; NotFound for an unknown ID.
  virtual Result<TaskDetails> get(const std::string& task_id) = 0;
  // Stops a task (desired state Completed); the task as stored. NotFound for an unknown ID.
  virtual Result<Task> stop(const std::string& task_id) = 0;
  // As cube::Client::logs: up to one answer's worth of a task's output from byte `offset` (or
  // its last `tail_lines` lines), next_offset to ask again from, eof once the task ended and all
  // was read. NotFound for an unknown task; Unavailable when it was never placed or its agent
  // did not answer.
  virtual Result<protocol::LogsChunk> logs(const std::string& task_id, int64_t offset,
                                           int64_t tail_lines) = 0;
  // The agents the broker knows.
  virtual Result<std::vector<protocol::NodeInfo>> nodes() = 0;
  // Version, counts and counters (the source of /metrics and /healthz).
  virtual Result<protocol::BrokerStatus> status() = 0;
  // A service request and the broker's reply (its `services`, and `tasks` for an inspect);
  // the broker's refusal (Invalid naming the field, NotFound, Conflict) or Unavailable.
  virtual Result<protocol::Reply> service(const ServiceRequest& request) = 0;
  // As cube::Client::events: the events after `since` matching `filter`, held up to `wait` at
  // the broker when there are none; a too_old page when `since` is gone. Invalid naming the
  // filter field; Unavailable.
  virtual Result<EventsPage> events(uint64_t since, const protocol::EventFilter& filter,
                                    Millis wait) = 0;
};

}  // namespace cube::gateway
