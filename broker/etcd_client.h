// EtcdClient: blocking calls to etcd's v3 HTTP/JSON gateway (etcd 3.4; the request and answer
// shapes are in broker/etcd_messages.h) over libcurl. It knows keys, txns and leases, not tasks
// (broker/etcd_store.h maps tasks onto keys).
//
// Endpoints. The client is given a list of members ("HOST:PORT", any of the cluster's client
// URLs, plain http). Each call goes to the member that answered last; when that member cannot
// be reached (connection refused, no route, connect timeout) or answers gRPC Unavailable (it
// has no leader: partitioned from the quorum), the call goes to the next member of the list,
// each at most once per call. When none answers: Unavailable naming every endpoint and what
// each said ("etcd unreachable at 127.0.0.1:2379 (Connection refused), ...").
//
// No HTTP proxy is used, whatever http_proxy and the like say.
//
// Timeouts. Connecting to one member: options.connect_timeout (1 s), so a call over N members
// that all drop packets fails after about N seconds; a whole request: options.request_timeout
// (5 s; etcd's own server-side timeout for a proposal is about 5 s plus an election). A request
// that times out after it was sent is not sent to another member: it may still be applied, and
// the caller (who knows whether its write is idempotent) decides whether to retry.
//
// Errors, for every call:
//   Unavailable   no member reached, a timeout, or etcd's own "no leader"/"request timed out"
//                 (a write answered so may or may not have been applied);
//   Invalid       etcd refused the request (too many ops in a txn, a request too large);
//   Unauthorized  etcd has authentication enabled (Cube does not send credentials yet);
//   Internal      an answer that is not the gateway's JSON.
//
// Thread-safety: one thread at a time (the client keeps one libcurl handle, hence one reused
// connection); make one client per thread. Every call blocks for up to the timeouts above.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/etcd_messages.h"
#include "common/clock.h"
#include "common/curl_handle.h"
#include "common/status.h"

namespace cube::broker {

struct EtcdClientOptions {
  std::vector<std::string> endpoints;  // "HOST:PORT", at least one
  // 1 s: a member on a live network accepts in well under a millisecond; one that drops
  // packets should cost a start (and a failover) about a second, not minutes.
  Millis connect_timeout{1000};
  // 5 s: etcd answers a proposal it cannot commit with "request timed out" after about 5 s
  // (plus an election); waiting longer than etcd itself gains nothing.
  Millis request_timeout{5000};
  // Keys per page when range_all reads a large range: 500 keys of a few hundred bytes keep an
  // answer well under the 4 MiB a gRPC message may have.
  int64_t page_size = 500;
};

// Sets `c` (just reset) up for one POST of `payload` to `url` on an etcd member, as every etcd
// call does: no proxy (the members are dialled directly), no signals, `connect_timeout`, JSON
// headers (made by etcd_post_headers(), without "Expect: 100-continue"), libcurl's error text
// into `error_buffer` (CURL_ERROR_SIZE bytes). Every pointer must outlive the transfer.
void setup_etcd_post(CURL* c, const std::string& url, std::string_view payload,
                     const CurlSlist& headers, char* error_buffer, Millis connect_timeout);
CurlSlist etcd_post_headers();

class EtcdClient {
 public:
  explicit EtcdClient(EtcdClientOptions options);
  EtcdClient(EtcdClient&&) noexcept = default;
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // "127.0.0.1:2379,127.0.0.1:22379": for messages.
  std::string endpoints_text() const;

  // Puts `value` at `key` (attached to `lease` when not 0). Errors as above.
  Status put(std::string_view key, std::string_view value, int64_t lease = 0);

  // One range request as given (limit, revision, sort...). Errors as above.
  Result<EtcdRangeResponse> range(const EtcdRangeRequest& request);

  // Every key in [key, range_end) (use etcd_prefix_end(prefix) for a prefix), in key order,
  // handed to `visit` page by page (options.page_size keys per request). All pages read the
  // store as of the revision of the first answer, so the whole range is one consistent
  // snapshot even while others write. A non-OK Status from `visit` stops the read and is
  // returned. Errors as above; Unavailable too when etcd compacted that revision away
  // meanwhile (read again). `snapshot_revision`, when given, is set to the revision read (a
  // watch from the one after it misses nothing); when it points to a revision other than 0, the
  // range is read as of that revision (several ranges, one snapshot). `page_size` (0: the
  // options') is the keys per request: fewer for large values, so that a page stays under the
  // gateway's 4 MiB answers.
  Status range_all(std::string_view key, std::string_view range_end,
                   const std::function<Status(std::vector<EtcdKeyValue>& page)>& visit,
                   int64_t* snapshot_revision = nullptr, int64_t page_size = 0);

  // One transaction: compares, then the success or the failure ops, atomically. OK with
  // succeeded false when a compare did not hold. Errors as above (Invalid when it has more ops
  // than etcd's --max-txn-ops).
  Result<EtcdTxnResponse> txn(const EtcdTxn& txn);

  // A lease of `ttl` seconds (etcd may grant a longer one: at least its minimum, about 1.5
  // election timeouts).
  Result<EtcdLease> lease_grant(int64_t ttl_seconds);
  // Renews `id` once; the TTL it has again. NotFound when the lease expired or was revoked
  // (etcd answers those with HTTP 200 and no TTL, not with an error).
  Result<EtcdLease> lease_keepalive(int64_t id);
  // Revokes `id`, deleting the keys attached to it. NotFound when it does not exist.
  Status lease_revoke(int64_t id);

  // Compacts the store's history up to `revision` (what an operator, or etcd's
  // --auto-compaction, does; watches from an older revision are then canceled).
  Status compact(int64_t revision);

  // POSTs `body` to `path` ("/v3/maintenance/status") on the members as described above; the
  // answer's JSON on HTTP 200. For what the calls above do not cover (tests, maintenance).
  Result<nlohmann::json> call(std::string_view path, const nlohmann::json& body);

 private:
  EtcdClientOptions options_;
  size_t current_ = 0;  // index into options_.endpoints of the member that answered last
  CurlEasy curl_;       // kept between calls: its connection is reused
};

}  // namespace cube::broker
