// The body of the http_api_fuzz target, shared by the libFuzzer binary (http_api_fuzz.cpp) and
// the gtest corpus replay (tests/unit/gateway/http_api_corpus_test.cpp): one HTTP request
// through the gateway's REST handlers (gateway/rest_api.h) against an in-memory broker, and the
// invariants every answer must keep.
//
// Input: "METHOD PATH[ AUTHORIZATION]\n" then the body. When the input does not start with an
// upper-case method, a space and '/', all of it is the body of "POST /tasks" (so the task JSON
// corpus seeds this target too). With an AUTHORIZATION field the API requires a bearer token.
//
// Returns "" when every invariant held, or what broke; the fuzzer aborts on a non-empty result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "gateway/rest_api.h"
#include "tests/unit/gateway/fake_broker_api.h"

namespace cube::fuzz {

inline constexpr std::string_view kFuzzBearerToken = "cube-fuzz-token-0123456789abcdef";

// Splits the input into a request (see the file comment).
inline gateway::HttpRequest http_request_of(std::string_view input, bool& with_token) {
  gateway::HttpRequest request;
  with_token = false;
  size_t method_end = 0;
  while (method_end < input.size() && method_end < 10 && input[method_end] >= 'A' &&
         input[method_end] <= 'Z')
    ++method_end;
  bool has_line = method_end > 0 && input.size() > method_end + 1 && input[method_end] == ' ' &&
                  input[method_end + 1] == '/';
  if (!has_line) {
    request.method = "POST";
    request.path = "/tasks";
    request.body = std::string(input);
    return request;
  }
  size_t line_end = input.find('\n');
  std::string_view line = input.substr(0, line_end);
  request.method = std::string(line.substr(0, method_end));
  std::string_view rest = line.substr(method_end + 1);
  size_t path_end = rest.find(' ');
  request.path = std::string(rest.substr(0, path_end));
  if (path_end != std::string_view::npos) {
    with_token = true;
    request.authorization = std::string(rest.substr(path_end + 1));
  }
  if (line_end != std::string_view::npos)
    request.body = std::string(input.substr(line_end + 1));
  return request;
}

// What every answer must look like: a known status, JSON bodies that parse, errors with a code
// and a message, and a Location that names the created task or service.
inline std::string check_response(const gateway::HttpRequest& request,
                                  const gateway::HttpResponse& r) {
  switch (r.status) {
    case 200:
    case 201:
    case 204:
    case 400:
    case 401:
    case 404:
    case 405:
      break;
    case 301:  // /ui to /ui/ (gateway/ui_routes.h)
      if (r.header("Location").empty())
        return "a 301 without Location for " + request.method + " " + request.path;
      return {};
    default:
      return "unexpected HTTP status " + std::to_string(r.status) + " for " + request.method + " " +
             request.path + ": " + r.body;
  }
  if (r.status == 204) {
    if (!r.body.empty())
      return "a 204 has a body";
    return {};
  }
  if (r.status == 405 && r.header("Allow").empty())
    return "a 405 without Allow";
  if (r.content_type != "application/json")
    return {};  // /healthz, /metrics (text)
  if (r.body.empty() || r.body.back() != '\n')
    return "a JSON body without its trailing newline";
  auto body = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded())
    return "the gateway wrote a body that is not JSON: " + r.body;
  if (r.status >= 400) {
    if (!body.is_object() || !body.contains("error") || !body["error"].is_object())
      return "an error without {\"error\": {...}}: " + r.body;
    const auto& error = body["error"];
    if (!error.contains("code") || !error["code"].is_string() || !error.contains("message") ||
        !error["message"].is_string() || error["message"].get<std::string>().empty())
      return "an error without a code and a message: " + r.body;
  }
  if (r.status == 201 && request.path.starts_with("/services")) {
    if (!body.is_object() || !body.contains("Name") || !body["Name"].is_string())
      return "a 201 without the service's name: " + r.body;
    if (r.header("Location") != "/services/" + body["Name"].get<std::string>())
      return "a 201 whose Location is not /services/NAME: " + r.header("Location");
  } else if (r.status == 201) {
    if (!body.is_object() || !body.contains("ID") || !body["ID"].is_string())
      return "a 201 without the task's ID: " + r.body;
    if (r.header("Location") != "/tasks/" + body["ID"].get<std::string>())
      return "a 201 whose Location is not /tasks/ID: " + r.header("Location");
  }
  return {};
}

inline std::string check_http_api_input(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  bool with_token = false;
  gateway::HttpRequest request = http_request_of(input, with_token);
  gateway::testing::FakeBrokerApi broker;
  gateway::RestApiOptions options;
  if (with_token)
    options.bearer_token = std::string(kFuzzBearerToken);
  ManualClock clock;
  gateway::RestApi api(broker, options, clock);

  gateway::HttpResponse r = api.handle(request);
  if (std::string problem = check_response(request, r); !problem.empty())
    return problem;
  bool authorized = !with_token ||
                    request.authorization == "Bearer " + std::string(kFuzzBearerToken) ||
                    request.authorization == "bearer " + std::string(kFuzzBearerToken);
  if (r.status == 401 && authorized)
    return "401 with the right token";

  // A task the gateway stored must read back through the other routes: the one task of a
  // single POST, or each result with "Task" of a POST of many (an array of {ID, Task} or
  // {ID, error}).
  // (The fake keeps no services, so a created service is not read back.)
  if (request.method == "POST" && !request.path.starts_with("/services") &&
      (r.status == 200 || r.status == 201)) {
    auto answer = nlohmann::json::parse(r.body, nullptr, false);
    std::vector<std::string> stored_ids;
    if (answer.is_array()) {
      for (const auto& result : answer) {
        if (!result.is_object() || !result.contains("ID") || !result["ID"].is_string() ||
            result.contains("Task") == result.contains("error"))
          return "a batch result that is not {ID, Task} or {ID, error}: " + r.body;
        if (result.contains("Task"))
          stored_ids.push_back(result["ID"].get<std::string>());
      }
    } else {
      if (!answer.is_object() || !answer.contains("ID") || !answer["ID"].is_string())
        return "a stored task without its ID: " + r.body;
      stored_ids.push_back(answer["ID"].get<std::string>());
    }
    for (const std::string& id : stored_ids) {
      gateway::HttpRequest get;
      get.method = "GET";
      get.path = "/tasks/" + id;
      get.authorization = request.authorization;
      gateway::HttpResponse got = api.handle(get);
      if (std::string problem = check_response(get, got); !problem.empty())
        return problem;
      if (got.status != 200 && !(r.status == 200 && !answer.is_array() && got.status == 404))
        return "GET " + get.path + " of a stored task answered " + std::to_string(got.status);
    }
    gateway::HttpRequest list;
    list.method = "GET";
    list.path = "/tasks";
    list.authorization = request.authorization;
    gateway::HttpResponse listed = api.handle(list);
    if (std::string problem = check_response(list, listed); !problem.empty())
      return problem;
    if (listed.status != 200)
      return "GET /tasks answered " + std::to_string(listed.status);
  }
  return {};
}

}  // namespace cube::fuzz
