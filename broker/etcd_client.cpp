#include "broker/etcd_client.h"

#include <curl/curl.h>

#include <utility>

#include "common/base64.h"
#include "common/check.h"

namespace cube::broker {
namespace {

using nlohmann::json;

// Largest answer read into memory. Pages are options.page_size keys, far below this; a bigger
// answer means something is wrong, not a reason to grow without bound.
constexpr size_t kMaxResponseBytes = size_t{64} << 20;

struct Transfer {
  std::string body;
  bool too_large = false;
};

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  if (transfer->body.size() + bytes > kMaxResponseBytes) {
    transfer->too_large = true;
    return 0;  // makes libcurl fail with CURLE_WRITE_ERROR
  }
  transfer->body.append(data, bytes);
  return bytes;
}

// What one POST to one member gave.
struct Attempt {
  CURLcode rc = CURLE_OK;
  bool connected = false;  // the request may have reached etcd
  long http_status = 0;
  std::string error;  // libcurl's text when rc != CURLE_OK
  Transfer transfer;
};

// `answer` parsed by `parse`. An answer of the wrong shape is Internal ("etcd's answer to a
// txn: field ..."); NotFound from the parser (a lease that is gone) is passed on as it is.
template <typename T>
Result<T> parse_answer(Result<json> answer, Result<T> (*parse)(const json&), const char* what) {
  if (!answer.is_ok())
    return answer.status();
  Result<T> parsed = parse(*answer);
  if (!parsed.is_ok() && !parsed.status().is_not_found())
    return Status::internal(std::string("etcd's answer to ") + what + ": " +
                            parsed.status().message());
  return parsed;
}

}  // namespace

CurlSlist etcd_post_headers() {
  CurlSlist headers;
  headers.append("Content-Type: application/json");
  // Without this, libcurl waits up to a second for "100 Continue" before sending a body over
  // 1 KiB, which every batch of tasks is.
  headers.append("Expect:");
  return headers;
}

void setup_etcd_post(CURL* c, const std::string& url, std::string_view payload,
                     const CurlSlist& headers, char* error_buffer, Millis connect_timeout) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM: this runs on a worker thread
  // The members are dialled directly, whatever http_proxy says: a proxy would be one more
  // thing between the broker and its store, and would hide which member failed.
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.data());
}

EtcdClient::EtcdClient(EtcdClientOptions options)
    : options_(std::move(options)), curl_(CurlEasy::create()) {
  CUBE_CHECK(!options_.endpoints.empty()) << "EtcdClient needs at least one endpoint";
  CUBE_CHECK(options_.page_size > 0) << "EtcdClient page_size must be positive";
}

std::string EtcdClient::endpoints_text() const {
  std::string out;
  for (const auto& endpoint : options_.endpoints)
    out += (out.empty() ? "" : ",") + endpoint;
  return out;
}

Result<json> EtcdClient::call(std::string_view path, const json& body) {
  const std::string payload = body.dump();
  CurlSlist headers = etcd_post_headers();
  std::string unreachable;  // "HOST:PORT (why), ..." of the members tried
  const size_t n = options_.endpoints.size();
  for (size_t tried = 0; tried < n; ++tried) {
    const size_t index = (current_ + tried) % n;
    const std::string& endpoint = options_.endpoints[index];
    const std::string url = "http://" + endpoint + std::string(path);
    Attempt attempt;
    char error_buffer[CURL_ERROR_SIZE] = {};
    CURL* c = curl_.get();
    curl_easy_reset(c);  // keeps the connection cache; drops the previous call's pointers
    setup_etcd_post(c, url, payload, headers, error_buffer, options_.connect_timeout);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &attempt.transfer);
    attempt.rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &attempt.http_status);
    curl_off_t connect_us = 0;
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us);
    attempt.connected = connect_us > 0 || attempt.http_status != 0;
    if (attempt.rc != CURLE_OK)
      attempt.error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(attempt.rc);

    const std::string what = "etcd " + endpoint + ": POST " + std::string(path);
    if (attempt.rc != CURLE_OK) {
      const bool never_sent = attempt.rc == CURLE_COULDNT_CONNECT ||
                              attempt.rc == CURLE_COULDNT_RESOLVE_HOST ||
                              (attempt.rc == CURLE_OPERATION_TIMEDOUT && !attempt.connected);
      if (never_sent) {
        unreachable += (unreachable.empty() ? "" : ", ") + endpoint + " (" + attempt.error + ")";
        continue;
      }
      current_ = index;
      if (attempt.transfer.too_large) {
        return Status::internal(what + ": the answer is larger than " +
                                std::to_string(kMaxResponseBytes) + " bytes");
      }
      // Sent, perhaps applied: not repeated on another member (see the header).
      return Status::unavailable(what + ": " + attempt.error);
    }
    if (attempt.http_status == 200) {
      current_ = index;
      json parsed = json::parse(attempt.transfer.body, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded())
        return Status::internal(what + ": the answer is not JSON");
      return parsed;
    }
    Status failed = etcd_error_status(attempt.http_status, attempt.transfer.body, what);
    if (failed.is_unavailable()) {
      // This member cannot serve (no leader, partitioned): another one may.
      unreachable += (unreachable.empty() ? "" : ", ") + endpoint + " (" + failed.message() + ")";
      continue;
    }
    current_ = index;
    return failed;
  }
  return Status::unavailable("etcd unreachable at " + unreachable);
}

Status EtcdClient::put(std::string_view key, std::string_view value, int64_t lease) {
  json body = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0)
    body["lease"] = std::to_string(lease);
  return call("/v3/kv/put", body).status();
}

Result<EtcdRangeResponse> EtcdClient::range(const EtcdRangeRequest& request) {
  return parse_answer(call("/v3/kv/range", to_json(request)), parse_range_response, "a range");
}

Status EtcdClient::range_all(std::string_view key, std::string_view range_end,
                             const std::function<Status(std::vector<EtcdKeyValue>& page)>& visit,
                             int64_t* snapshot_revision, int64_t page_size) {
  EtcdRangeRequest request;
  request.key = std::string(key);
  request.range_end = std::string(range_end);
  request.limit = page_size > 0 ? page_size : options_.page_size;
  if (snapshot_revision != nullptr)
    request.revision = *snapshot_revision;
  while (true) {
    auto page = range(request);
    if (!page.is_ok())
      return page.status();
    if (request.revision == 0)
      request.revision = page->revision;  // every later page reads this same snapshot
    if (snapshot_revision != nullptr)
      *snapshot_revision = request.revision;
    if (page->more && page->kvs.empty())
      return Status::internal("etcd answered a range with \"more\" but no keys");
    std::string next = page->kvs.empty() ? std::string() : page->kvs.back().key + '\0';
    CUBE_RETURN_IF_ERROR(visit(page->kvs));
    if (!page->more)
      return Status::ok();
    request.key = std::move(next);  // the smallest key after the last one read
  }
}

Result<EtcdTxnResponse> EtcdClient::txn(const EtcdTxn& txn) {
  return parse_answer(call("/v3/kv/txn", to_json(txn)), parse_txn_response, "a txn");
}

Result<EtcdLease> EtcdClient::lease_grant(int64_t ttl_seconds) {
  return parse_answer(call("/v3/lease/grant", json{{"TTL", std::to_string(ttl_seconds)}}),
                      parse_lease_response, "a lease grant");
}

Result<EtcdLease> EtcdClient::lease_keepalive(int64_t id) {
  // The gateway turns this streaming RPC into one request and one answer per POST.
  return parse_answer(call("/v3/lease/keepalive", json{{"ID", std::to_string(id)}}),
                      parse_lease_response, "a lease keepalive");
}

Status EtcdClient::compact(int64_t revision) {
  return call("/v3/kv/compaction", json{{"revision", std::to_string(revision)}}).status();
}

Status EtcdClient::lease_revoke(int64_t id) {
  auto answer = call("/v3/lease/revoke", json{{"ID", std::to_string(id)}});
  return answer.status();
}

}  // namespace cube::broker
