#include "agent/http_probe.h"

#include <curl/curl.h>

#include "agent/options.h"
#include "common/curl_handle.h"

namespace cube::agent {
namespace {

size_t discard_body(char*, size_t size, size_t count, void*) {
  return size * count;
}

}  // namespace

Status http_probe(const std::string& url, Millis timeout) {
  CurlEasy curl = CurlEasy::create();
  CURL* h = curl.get();
  char error[CURL_ERROR_SIZE] = {};
  const std::string user_agent = "cube-agent/" + std::string(kAgentVersion) + " health-check";
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  // Only plain HTTP: a task's URL must not make the agent read files or speak other protocols.
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  // The task is on this host: an http_proxy in the agent's environment must not be used.
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  // No SIGALRM-based DNS timeouts: other threads of the agent must not see signals.
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard_body);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  const std::string what = "GET " + url + ": ";
  CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return Status::unavailable(what + "no answer within " + std::to_string(timeout.count()) +
                               " ms");
  if (rc != CURLE_OK)
    return Status::unavailable(what + (error[0] != '\0' ? error : curl_easy_strerror(rc)));
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code >= 400)
    return Status::unavailable(what + "HTTP " + std::to_string(code));
  return Status::ok();
}

}  // namespace cube::agent
