// JSON error responses of the HTTP gateway. Every error, whether Cube's (a broker reply) or
// HTTP's own (unknown path, wrong method, body too large), has one shape:
//
//   {"error": {"code": "invalid", "message": "field \"Memory\": expected a number"}}
//
// `code` is always one of Cube's closed set of error names (common/status.h error_code_name:
// not_found, invalid, conflict, unavailable, unauthorized, internal), so scripts can branch on
// it the same way for the CLI and for HTTP; the HTTP status says the rest.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "gateway/http_message.h"

namespace cube::gateway {

// The HTTP status for a Cube error: NotFound 404, Invalid 400, Conflict 409, Unavailable 503,
// Unauthorized 401, Internal 500. Ok maps to 200.
int http_status_for(ErrorCode code);

// The inside of that shape, {"code": ..., "message": ...}, for bodies that carry more than one
// error (the per-task results of a POST of many tasks) or more than the error.
nlohmann::json error_json(ErrorCode code, std::string_view message);
nlohmann::json error_json(const Status& status);

// A JSON error response with an explicit HTTP status (for 405, 413, ...).
HttpResponse error_response(int http_status, ErrorCode code, std::string_view message);

// A JSON error response for `status` (which must not be OK), with http_status_for(code).
HttpResponse error_response(const Status& status);

// The other responses the REST handlers give: `body` as JSON text (gateway/json_text.h) with
// `status`, and 204 without a body.
HttpResponse json_response(int status, const nlohmann::json& body);
HttpResponse no_content();

}  // namespace cube::gateway
