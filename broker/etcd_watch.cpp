#include "broker/etcd_watch.h"

#include <curl/curl.h>

#include <utility>

#include "broker/etcd_client.h"
#include "common/check.h"

namespace cube::broker {
namespace {

using nlohmann::json;

// A line longer than this is not a watch answer of Cube's keys (a page of events of tasks is a
// few MiB at most): the stream is dropped rather than grown without bound.
constexpr size_t kMaxLineBytes = size_t{64} << 20;

// What the callbacks of one stream share.
struct Stream {
  const std::function<bool(EtcdWatchResponse&)>* on_answer = nullptr;
  const std::function<bool()>* should_stop = nullptr;
  std::string pending;    // bytes after the last newline
  bool stopped = false;   // on_answer or should_stop asked to stop
  bool answered = false;  // at least one line arrived: the member accepted the watch
  Status failure;         // a line that does not parse, or an error object
  CURL* handle = nullptr;
};

// Handles every complete line of `stream.pending`; false to stop the transfer.
bool consume_lines(Stream& stream) {
  size_t start = 0;
  while (true) {
    size_t end = stream.pending.find('\n', start);
    if (end == std::string::npos)
      break;
    std::string_view line(stream.pending.data() + start, end - start);
    start = end + 1;
    if (line.empty())
      continue;
    stream.answered = true;
    json parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      stream.failure = Status::internal("a line of the watch stream is not JSON");
      return false;
    }
    auto answer = parse_watch_response(parsed);
    if (!answer.is_ok()) {
      stream.failure = answer.status().is_unavailable()
                           ? answer.status()
                           : Status::internal("etcd's watch answer: " + answer.status().message());
      return false;
    }
    if (!(*stream.on_answer)(*answer)) {
      stream.stopped = true;
      return false;
    }
  }
  stream.pending.erase(0, start);
  return stream.pending.size() <= kMaxLineBytes;
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* stream = static_cast<Stream*>(user);
  size_t bytes = size * count;
  stream->pending.append(data, bytes);
  long http_status = 0;
  curl_easy_getinfo(stream->handle, CURLINFO_RESPONSE_CODE, &http_status);
  if (http_status != 200)  // an error body (one JSON object): kept whole for the Status
    return stream->pending.size() <= kMaxLineBytes ? bytes : 0;
  return consume_lines(*stream) ? bytes : 0;  // 0 makes libcurl fail the transfer
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* stream = static_cast<Stream*>(user);
  if ((*stream->should_stop)()) {
    stream->stopped = true;
    return 1;  // aborts the transfer
  }
  return 0;
}

}  // namespace

EtcdWatch::EtcdWatch(std::vector<std::string> endpoints, Millis connect_timeout)
    : endpoints_(std::move(endpoints)),
      connect_timeout_(connect_timeout),
      curl_(CurlEasy::create()) {
  CUBE_CHECK(!endpoints_.empty()) << "EtcdWatch needs at least one endpoint";
}

Status EtcdWatch::run(std::string_view key, std::string_view range_end, int64_t start_revision,
                      const std::function<bool(EtcdWatchResponse&)>& on_answer,
                      const std::function<bool()>& should_stop) {
  const std::string payload = watch_create_request(key, range_end, start_revision).dump();
  CurlSlist headers = etcd_post_headers();
  std::string unreachable;
  const size_t n = endpoints_.size();
  for (size_t tried = 0; tried < n; ++tried) {
    const size_t index = (current_ + tried) % n;
    const std::string& endpoint = endpoints_[index];
    const std::string url = "http://" + endpoint + "/v3/watch";
    Stream stream;
    stream.on_answer = &on_answer;
    stream.should_stop = &should_stop;
    char error_buffer[CURL_ERROR_SIZE] = {};
    CURL* c = curl_.get();
    stream.handle = c;
    curl_easy_reset(c);
    setup_etcd_post(c, url, payload, headers, error_buffer, connect_timeout_);
    // No overall timeout: the stream lasts as long as the watch. A dead peer is noticed by TCP
    // keepalive; a silent one is the caller's business (see the header).
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 5L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 2L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &stream);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &stream);
    CURLcode rc = curl_easy_perform(c);
    long http_status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http_status);
    const std::string what = "etcd " + endpoint + ": POST /v3/watch";
    if (stream.stopped)
      return Status::ok();
    if (!stream.failure.is_ok())
      return stream.failure.with_context(what);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        (rc == CURLE_OPERATION_TIMEDOUT && http_status == 0)) {
      unreachable += (unreachable.empty() ? "" : ", ") + endpoint + " (" +
                     (error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc)) + ")";
      continue;
    }
    // It connected: the next stream starts on the next member, in case this one is the trouble.
    current_ = (index + 1) % n;
    if (http_status != 200 && http_status != 0) {
      return etcd_error_status(http_status, stream.pending, what);
    }
    if (rc != CURLE_OK)
      return Status::unavailable(what + ": the stream broke (" +
                                 (error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc)) +
                                 ")");
    return Status::unavailable(what + ": the stream ended");
  }
  return Status::unavailable("etcd unreachable at " + unreachable);
}

}  // namespace cube::broker
