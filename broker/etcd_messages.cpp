#include "broker/etcd_messages.h"

#include <charconv>
#include <utility>

#include "common/base64.h"

namespace cube::broker {
namespace {

using nlohmann::json;

// A 64-bit integer field, written as a decimal string by the gateway (or as a number by hand);
// 0 when absent.
Status read_int64(const json& object, const char* name, int64_t& out) {
  out = 0;
  auto it = object.find(name);
  if (it == object.end() || it->is_null())
    return Status::ok();
  if (it->is_number_integer()) {
    out = it->get<int64_t>();
    return Status::ok();
  }
  if (it->is_string()) {
    const std::string& text = it->get_ref<const std::string&>();
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec == std::errc() && end == text.data() + text.size() && !text.empty())
      return Status::ok();
  }
  return Status::invalid(std::string("field \"") + name + "\": expected a 64-bit integer, got " +
                         it->dump());
}

// A base64 `bytes` field; "" when absent.
Status read_bytes(const json& object, const char* name, std::string& out) {
  out.clear();
  auto it = object.find(name);
  if (it == object.end() || it->is_null())
    return Status::ok();
  if (!it->is_string())
    return Status::invalid(std::string("field \"") + name + "\": expected a base64 string");
  auto decoded = base64_decode(it->get_ref<const std::string&>());
  if (!decoded.is_ok())
    return decoded.status().with_context(std::string("field \"") + name + "\"");
  out = std::move(*decoded);
  return Status::ok();
}

Status read_bool(const json& object, const char* name, bool& out) {
  out = false;
  auto it = object.find(name);
  if (it == object.end() || it->is_null())
    return Status::ok();
  if (!it->is_boolean())
    return Status::invalid(std::string("field \"") + name + "\": expected true or false");
  out = it->get<bool>();
  return Status::ok();
}

// An object field (an empty one when absent).
Result<const json*> read_object(const json& object, const char* name) {
  static const json kEmpty = json::object();
  auto it = object.find(name);
  if (it == object.end() || it->is_null())
    return &kEmpty;
  if (!it->is_object())
    return Status::invalid(std::string("field \"") + name + "\": expected an object");
  return &*it;
}

Status read_key_value(const json& kv, EtcdKeyValue& out) {
  if (!kv.is_object())
    return Status::invalid("a key-value is not an object");
  CUBE_RETURN_IF_ERROR(read_bytes(kv, "key", out.key));
  CUBE_RETURN_IF_ERROR(read_bytes(kv, "value", out.value));
  CUBE_RETURN_IF_ERROR(read_int64(kv, "create_revision", out.create_revision));
  CUBE_RETURN_IF_ERROR(read_int64(kv, "mod_revision", out.mod_revision));
  CUBE_RETURN_IF_ERROR(read_int64(kv, "version", out.version));
  CUBE_RETURN_IF_ERROR(read_int64(kv, "lease", out.lease));
  return Status::ok();
}

Status read_key_values(const json& object, std::vector<EtcdKeyValue>& out) {
  auto it = object.find("kvs");
  if (it == object.end() || it->is_null())
    return Status::ok();
  if (!it->is_array())
    return Status::invalid("field \"kvs\": expected an array");
  out.reserve(it->size());
  for (const auto& kv : *it) {
    EtcdKeyValue parsed;
    CUBE_RETURN_IF_ERROR(read_key_value(kv, parsed).with_context("field \"kvs\""));
    out.push_back(std::move(parsed));
  }
  return Status::ok();
}

Status read_header_revision(const json& body, int64_t& revision) {
  auto header = read_object(body, "header");
  if (!header.is_ok())
    return header.status();
  return read_int64(**header, "revision", revision).with_context("field \"header\"");
}

const char* target_name(EtcdCompare::Target target) {
  switch (target) {
    case EtcdCompare::Target::Version:
      return "VERSION";
    case EtcdCompare::Target::Create:
      return "CREATE";
    case EtcdCompare::Target::Mod:
      return "MOD";
    case EtcdCompare::Target::Value:
      return "VALUE";
    case EtcdCompare::Target::Lease:
      return "LEASE";
  }
  return "VERSION";
}

const char* result_name(EtcdCompare::Result result) {
  switch (result) {
    case EtcdCompare::Result::Equal:
      return "EQUAL";
    case EtcdCompare::Result::Greater:
      return "GREATER";
    case EtcdCompare::Result::Less:
      return "LESS";
    case EtcdCompare::Result::NotEqual:
      return "NOT_EQUAL";
  }
  return "EQUAL";
}

json compare_json(const EtcdCompare& compare) {
  json out = {{"key", base64_encode(compare.key)},
              {"target", target_name(compare.target)},
              {"result", result_name(compare.result)}};
  std::string number = std::to_string(compare.number);
  switch (compare.target) {
    case EtcdCompare::Target::Version:
      out["version"] = number;
      break;
    case EtcdCompare::Target::Create:
      out["create_revision"] = number;
      break;
    case EtcdCompare::Target::Mod:
      out["mod_revision"] = number;
      break;
    case EtcdCompare::Target::Value:
      out["value"] = base64_encode(compare.value);
      break;
    case EtcdCompare::Target::Lease:
      out["lease"] = number;
      break;
  }
  return out;
}

json op_json(const EtcdOp& op) {
  json body = {{"key", base64_encode(op.key)}};
  switch (op.kind) {
    case EtcdOp::Kind::Put:
      body["value"] = base64_encode(op.value);
      if (op.lease != 0)
        body["lease"] = std::to_string(op.lease);
      return {{"request_put", std::move(body)}};
    case EtcdOp::Kind::Range:
      if (!op.range_end.empty())
        body["range_end"] = base64_encode(op.range_end);
      return {{"request_range", std::move(body)}};
    case EtcdOp::Kind::DeleteRange:
      if (!op.range_end.empty())
        body["range_end"] = base64_encode(op.range_end);
      return {{"request_delete_range", std::move(body)}};
  }
  return json::object();
}

json ops_json(const std::vector<EtcdOp>& ops) {
  json out = json::array();
  for (const auto& op : ops)
    out.push_back(op_json(op));
  return out;
}

// The gRPC status codes (google.golang.org/grpc/codes) the gateway puts in "code".
enum GrpcCode : int64_t {
  kCancelled = 1,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnavailable = 14,
  kUnauthenticated = 16,
};

}  // namespace

std::string etcd_prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

EtcdCompare EtcdCompare::create_revision_is(std::string key, int64_t revision) {
  EtcdCompare c;
  c.key = std::move(key);
  c.target = Target::Create;
  c.number = revision;
  return c;
}

EtcdCompare EtcdCompare::value_is(std::string key, std::string value) {
  EtcdCompare c;
  c.key = std::move(key);
  c.target = Target::Value;
  c.value = std::move(value);
  return c;
}

EtcdOp EtcdOp::put(std::string key, std::string value, int64_t lease) {
  EtcdOp op;
  op.kind = Kind::Put;
  op.key = std::move(key);
  op.value = std::move(value);
  op.lease = lease;
  return op;
}

EtcdOp EtcdOp::get(std::string key) {
  EtcdOp op;
  op.kind = Kind::Range;
  op.key = std::move(key);
  return op;
}

EtcdOp EtcdOp::remove(std::string key, std::string range_end) {
  EtcdOp op;
  op.kind = Kind::DeleteRange;
  op.key = std::move(key);
  op.range_end = std::move(range_end);
  return op;
}

json to_json(const EtcdRangeRequest& request) {
  json out = {{"key", base64_encode(request.key)}};
  if (!request.range_end.empty())
    out["range_end"] = base64_encode(request.range_end);
  if (request.limit != 0)
    out["limit"] = std::to_string(request.limit);
  if (request.revision != 0)
    out["revision"] = std::to_string(request.revision);
  if (request.descending) {
    out["sort_order"] = "DESCEND";
    out["sort_target"] = "KEY";
  }
  if (request.keys_only)
    out["keys_only"] = true;
  if (request.count_only)
    out["count_only"] = true;
  return out;
}

json to_json(const EtcdTxn& txn) {
  json out = json::object();
  if (!txn.compares.empty()) {
    json compares = json::array();
    for (const auto& c : txn.compares)
      compares.push_back(compare_json(c));
    out["compare"] = std::move(compares);
  }
  if (!txn.success.empty())
    out["success"] = ops_json(txn.success);
  if (!txn.failure.empty())
    out["failure"] = ops_json(txn.failure);
  return out;
}

Result<EtcdRangeResponse> parse_range_response(const json& body) {
  if (!body.is_object())
    return Status::invalid("a range answer is not an object");
  EtcdRangeResponse out;
  CUBE_RETURN_IF_ERROR(read_header_revision(body, out.revision));
  CUBE_RETURN_IF_ERROR(read_key_values(body, out.kvs));
  CUBE_RETURN_IF_ERROR(read_bool(body, "more", out.more));
  CUBE_RETURN_IF_ERROR(read_int64(body, "count", out.count));
  return out;
}

Result<EtcdTxnResponse> parse_txn_response(const json& body) {
  if (!body.is_object())
    return Status::invalid("a txn answer is not an object");
  EtcdTxnResponse out;
  CUBE_RETURN_IF_ERROR(read_header_revision(body, out.revision));
  CUBE_RETURN_IF_ERROR(read_bool(body, "succeeded", out.succeeded));
  auto it = body.find("responses");
  if (it == body.end() || it->is_null())
    return out;
  if (!it->is_array())
    return Status::invalid("field \"responses\": expected an array");
  for (const auto& response : *it) {
    if (!response.is_object())
      return Status::invalid("field \"responses\": an entry is not an object");
    auto range = response.find("response_range");
    if (range == response.end())
      continue;  // a put or a delete
    if (!range->is_object())
      return Status::invalid("field \"response_range\": expected an object");
    std::vector<EtcdKeyValue> kvs;
    CUBE_RETURN_IF_ERROR(read_key_values(*range, kvs).with_context("field \"response_range\""));
    out.ranges.push_back(std::move(kvs));
  }
  return out;
}

Result<EtcdLease> parse_lease_response(const json& body) {
  if (!body.is_object())
    return Status::invalid("a lease answer is not an object");
  const json* lease = &body;
  if (body.contains("result")) {
    auto result = read_object(body, "result");
    if (!result.is_ok())
      return result.status();
    lease = *result;
  }
  EtcdLease out;
  CUBE_RETURN_IF_ERROR(read_int64(*lease, "ID", out.id));
  CUBE_RETURN_IF_ERROR(read_int64(*lease, "TTL", out.ttl_seconds));
  if (out.ttl_seconds <= 0)
    return Status::not_found("lease " + std::to_string(out.id) + " has expired or was revoked");
  return out;
}

json watch_create_request(std::string_view key, std::string_view range_end,
                          int64_t start_revision) {
  json create = {{"key", base64_encode(key)}, {"progress_notify", true}};
  if (!range_end.empty())
    create["range_end"] = base64_encode(range_end);
  if (start_revision > 0)
    create["start_revision"] = std::to_string(start_revision);
  return json{{"create_request", std::move(create)}};
}

Result<EtcdWatchResponse> parse_watch_response(const json& body) {
  if (!body.is_object())
    return Status::invalid("a watch answer is not an object");
  if (auto error = body.find("error"); error != body.end()) {
    std::string message =
        error->is_object() ? error->value("message", error->dump()) : error->dump();
    return Status::unavailable("the watch stream failed: " + message);
  }
  auto result = read_object(body, "result");
  if (!result.is_ok())
    return result.status();
  const json& r = **result;
  EtcdWatchResponse out;
  CUBE_RETURN_IF_ERROR(read_header_revision(r, out.revision));
  CUBE_RETURN_IF_ERROR(read_bool(r, "created", out.created));
  CUBE_RETURN_IF_ERROR(read_bool(r, "canceled", out.canceled));
  CUBE_RETURN_IF_ERROR(read_int64(r, "compact_revision", out.compact_revision));
  out.cancel_reason = r.value("cancel_reason", std::string());
  auto events = r.find("events");
  if (events == r.end() || events->is_null())
    return out;
  if (!events->is_array())
    return Status::invalid("field \"events\": expected an array");
  out.events.reserve(events->size());
  for (const auto& event : *events) {
    if (!event.is_object())
      return Status::invalid("field \"events\": an event is not an object");
    EtcdWatchEvent parsed;
    parsed.deleted = event.value("type", std::string()) == "DELETE";
    auto kv = read_object(event, "kv");
    if (!kv.is_ok())
      return kv.status().with_context("field \"events\"");
    CUBE_RETURN_IF_ERROR(read_key_value(**kv, parsed.kv).with_context("field \"events\""));
    out.events.push_back(std::move(parsed));
  }
  return out;
}

Status etcd_error_status(long http_status, std::string_view body, std::string_view what) {
  std::string prefix = std::string(what) + ": ";
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.contains("code")) {
    std::string text(body.substr(0, 200));
    // etcd 3.4 serves the gateway under /v3/ (3.3 under /v3beta/, 3.2 under /v3alpha/).
    std::string hint = http_status == 404 ? " (not etcd 3.4 or newer?)" : "";
    return Status::internal(prefix + "HTTP " + std::to_string(http_status) + hint +
                            (text.empty() ? "" : ": " + text));
  }
  int64_t code = 0;
  (void)read_int64(parsed, "code", code);
  std::string message = parsed.value("message", parsed.value("error", std::string()));
  if (message.empty())
    message = "gRPC code " + std::to_string(code);
  std::string text = prefix + message;
  switch (code) {
    case kUnavailable:
    case kDeadlineExceeded:
    case kCancelled:
    case kAborted:
    case kResourceExhausted:
    case kOutOfRange:
      return Status::unavailable(std::move(text));
    case kNotFound:
      return Status::not_found(std::move(text));
    case kInvalidArgument:
    case kFailedPrecondition:
      return Status::invalid(std::move(text));
    case kUnauthenticated:
    case kPermissionDenied:
      return Status::unauthorized(std::move(text));
    default:
      return Status::internal(text + " (HTTP " + std::to_string(http_status) + ", gRPC code " +
                              std::to_string(code) + ")");
  }
}

}  // namespace cube::broker
