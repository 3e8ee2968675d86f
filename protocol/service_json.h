// Services as JSON: what `cube-client service create -f FILE` reads and `service inspect`
// prints (docs/services.md):
//   {"Name": "web", "Replicas": 3, "Template": {a task, as protocol/task_json.h},
//    "UpdateConfig": {"Parallelism": 1, "Delay": "0s", "FailureAction": "pause",
//                     "Monitor": "5s", "Order": "stop-first"}}
// Durations are milliseconds as numbers or strings such as "10s". The broker's fields
// (Version, TemplateVersion, CreatedAt, UpdatedAt, Running, Tasks, and the TaskList that
// `service inspect -o json` adds) are printed, and accepted and ignored on input, so `inspect`
// output can be sent back.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

#include "common/status.h"
#include "protocol/messages.h"
#include "protocol/service.h"

namespace cube {

// Invalid, naming the field, for text that is not JSON, an unknown field, a field of the wrong
// type, or a negative Replicas. Missing fields keep Service{}'s defaults. Does not validate
// semantics: see validate_service.
Result<Service> service_from_json_text(std::string_view text);
Result<Service> service_from_json(const nlohmann::json& body);

nlohmann::json service_to_json(const Service& service);
// service_to_json plus "Running" and "Tasks" (what the broker counts now).
nlohmann::json service_info_to_json(const protocol::ServiceInfo& info);

}  // namespace cube
