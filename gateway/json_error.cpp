#include "gateway/json_error.h"

#include <nlohmann/json.hpp>

#include "gateway/json_text.h"

namespace cube::gateway {

int http_status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::Ok:
      return 200;
    case ErrorCode::NotFound:
      return 404;
    case ErrorCode::Invalid:
      return 400;
    case ErrorCode::Conflict:
      return 409;
    case ErrorCode::Unavailable:
      return 503;
    case ErrorCode::Unauthorized:
      return 401;
    case ErrorCode::Internal:
      return 500;
    case ErrorCode::TooOld:
      return 410;  // only EVENTS answers it; GET /events turns it into a reset event
  }
  return 500;
}

nlohmann::json error_json(ErrorCode code, std::string_view message) {
  return {{"code", std::string(error_code_name(code))}, {"message", std::string(message)}};
}

nlohmann::json error_json(const Status& status) {
  return error_json(status.code(), status.message());
}

HttpResponse error_response(int http_status, ErrorCode code, std::string_view message) {
  nlohmann::json body = {{"error", error_json(code, message)}};
  HttpResponse r;
  r.status = http_status;
  r.body = json_text(body);
  return r;
}

HttpResponse error_response(const Status& status) {
  CUBE_CHECK(!status.is_ok()) << "callers only turn failures into error responses";
  return error_response(http_status_for(status.code()), status.code(), status.message());
}

HttpResponse json_response(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.body = json_text(body);
  return r;
}

HttpResponse no_content() {
  HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

}  // namespace cube::gateway
