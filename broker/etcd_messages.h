// The requests and answers of etcd's v3 HTTP/JSON gateway (grpc-gateway over etcd's gRPC API,
// etcd 3.4: POST /v3/kv/range, /v3/kv/txn, /v3/lease/...), as plain structs, and their JSON.
// broker/etcd_client.h sends them; this file does no I/O, so the shapes are unit-tested apart.
//
// The gateway's JSON is proto3's mapping, verified against etcd 3.4.23:
//   - `bytes` fields (keys, values, range_end) are padded standard base64;
//   - 64-bit integers (revisions, lease IDs, counts) are written as decimal strings, and read as
//     strings or numbers (lease IDs exceed a double's 53 bits: never read them as doubles);
//   - a field holding its default (false, 0, "", an empty list) is left out of answers:
//     `succeeded` is absent when a txn's compares failed, `kvs` when a range found nothing,
//     `more` when the range is complete, a lease's `TTL` when the lease is gone;
//   - enums are written by name ("CREATE", "EQUAL", "DESCEND").
//   - errors come as a non-2xx HTTP status with {"error": text, "message": text, "code": gRPC
//     code}, e.g. 400 {"code": 3, "message": "etcdserver: too many operations in txn request"}.
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace cube::broker {

// One stored key (mvccpb.KeyValue).
struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;  // 0: the key does not exist (in compares)
  int64_t mod_revision = 0;
  int64_t version = 0;  // how many times the key was written since its creation
  int64_t lease = 0;    // 0: no lease
  friend bool operator==(const EtcdKeyValue&, const EtcdKeyValue&) = default;
};

// The end of the range holding every key that starts with `prefix` (etcd's "prefix end": the
// prefix with its last byte below 0xff incremented and the rest dropped). "\0" for a prefix of
// only 0xff bytes or an empty one, which etcd reads as "to the end of the keyspace".
std::string etcd_prefix_end(std::string_view prefix);

// POST /v3/kv/range.
struct EtcdRangeRequest {
  std::string key;
  std::string range_end;    // empty: just `key`; etcd_prefix_end(key): every key under it
  int64_t limit = 0;        // 0: no limit
  int64_t revision = 0;     // 0: the newest; otherwise read the store as of that revision
  bool descending = false;  // by key
  bool keys_only = false;
  bool count_only = false;
};
struct EtcdRangeResponse {
  std::vector<EtcdKeyValue> kvs;
  bool more = false;     // the limit cut the range short
  int64_t count = 0;     // keys in the whole range (not only those returned)
  int64_t revision = 0;  // the store's revision the answer reflects (header.revision)
};

// One compare of a txn (etcdserverpb.Compare) on one key.
struct EtcdCompare {
  enum class Target { Version, Create, Mod, Value, Lease };
  enum class Result { Equal, Greater, Less, NotEqual };
  std::string key;
  Target target = Target::Version;
  Result result = Result::Equal;
  int64_t number = 0;  // version, create_revision, mod_revision or lease, by target
  std::string value;   // Target::Value

  // "the key's create_revision == revision": with 0, "the key does not exist"; with a leader
  // key's creation revision, "that key is still the one created then" (fencing).
  static EtcdCompare create_revision_is(std::string key, int64_t revision);
  static EtcdCompare value_is(std::string key, std::string value);
  friend bool operator==(const EtcdCompare&, const EtcdCompare&) = default;
};

// One operation of a txn (etcdserverpb.RequestOp): a put, a range or a delete of one key (or of
// [key, range_end)).
struct EtcdOp {
  enum class Kind { Put, Range, DeleteRange };
  Kind kind = Kind::Put;
  std::string key;
  std::string value;      // Put
  std::string range_end;  // Range and DeleteRange; empty: just `key`
  int64_t lease = 0;      // Put: attach the key to this lease (0: none)

  static EtcdOp put(std::string key, std::string value, int64_t lease = 0);
  static EtcdOp get(std::string key);
  static EtcdOp remove(std::string key, std::string range_end = {});
  // The bytes the op carries (key, value, range end), to keep a txn under etcd's request size.
  size_t payload_bytes() const { return key.size() + value.size() + range_end.size(); }
  friend bool operator==(const EtcdOp&, const EtcdOp&) = default;
};

// POST /v3/kv/txn: if every compare holds, the success ops, else the failure ops, atomically.
// etcd refuses a txn with more than --max-txn-ops (default 128) ops in either list.
struct EtcdTxn {
  std::vector<EtcdCompare> compares;
  std::vector<EtcdOp> success;
  std::vector<EtcdOp> failure;
};
struct EtcdTxnResponse {
  bool succeeded = false;  // the compares held (and the success ops ran)
  int64_t revision = 0;
  // The keys each Range op of the branch that ran found, in op order (puts and deletes add no
  // entry).
  std::vector<std::vector<EtcdKeyValue>> ranges;
};

// A lease (POST /v3/lease/grant, /v3/lease/keepalive).
struct EtcdLease {
  int64_t id = 0;
  int64_t ttl_seconds = 0;  // as granted, or left after a keepalive
};

// One answer of POST /v3/watch (a stream: the gateway writes one JSON object per line, each
// wrapped as {"result": {...}}; a PUT event has no "type", a delete has "type": "DELETE").
struct EtcdWatchEvent {
  bool deleted = false;  // DELETE; otherwise a PUT
  EtcdKeyValue kv;       // a delete carries the key and its mod_revision only
};
struct EtcdWatchResponse {
  int64_t revision = 0;  // header.revision: the store's revision this answer reflects (0: absent)
  bool created = false;  // the answer to the create request
  bool canceled = false;
  // Canceled because the start revision was compacted away: read the store again from a
  // revision at least this one.
  int64_t compact_revision = 0;
  std::string cancel_reason;
  std::vector<EtcdWatchEvent> events;
};

// The body of POST /v3/watch that starts watching [key, range_end) from `start_revision`
// (0: from now), with progress notifications (an answer without events now and then).
nlohmann::json watch_create_request(std::string_view key, std::string_view range_end,
                                    int64_t start_revision);

nlohmann::json to_json(const EtcdRangeRequest& request);
nlohmann::json to_json(const EtcdTxn& txn);

// The answers. Invalid naming the field when the JSON does not have the gateway's shape (a
// wrong type, a bad base64 string, a non-numeric revision).
Result<EtcdRangeResponse> parse_range_response(const nlohmann::json& body);
Result<EtcdTxnResponse> parse_txn_response(const nlohmann::json& body);
// lease/grant answers {"ID", "TTL"}; lease/keepalive wraps them in {"result": ...}. NotFound
// when the lease does not exist (any more): grant never says so, keepalive answers a lease
// that expired or was revoked with an HTTP 200 whose TTL is missing (0).
Result<EtcdLease> parse_lease_response(const nlohmann::json& body);
// One object of the watch stream. An {"error": {...}} object (the stream failed on etcd's side)
// is Unavailable with its message.
Result<EtcdWatchResponse> parse_watch_response(const nlohmann::json& body);

// The Status of a gateway answer that is not a success: the HTTP status and the error body's
// gRPC code and message, prefixed by `what` ("etcd 127.0.0.1:2379: POST /v3/kv/txn").
//   Unavailable   gRPC Unavailable (no leader, request timed out), DeadlineExceeded, Aborted,
//                 ResourceExhausted, OutOfRange (a revision compacted away): worth retrying.
//   NotFound      gRPC NotFound (a lease that is gone).
//   Invalid       gRPC InvalidArgument, FailedPrecondition (too many ops, a request too large).
//   Unauthorized  gRPC Unauthenticated, PermissionDenied.
//   Internal      anything else (and a body that is not the gateway's error JSON).
Status etcd_error_status(long http_status, std::string_view body, std::string_view what);

}  // namespace cube::broker
