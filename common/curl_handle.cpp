#include "common/curl_handle.h"

#include <mutex>

#include "common/check.h"

namespace cube {

void ensure_curl_global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    CUBE_CHECK(rc == CURLE_OK) << "curl_global_init failed: " << curl_easy_strerror(rc)
                               << " (libcurl cannot work at all in this process)";
  });
}

CurlEasy CurlEasy::create() {
  ensure_curl_global_init();
  CURL* h = curl_easy_init();
  CUBE_CHECK(h != nullptr) << "curl_easy_init failed: out of memory";
  return CurlEasy(h);
}

void CurlSlist::append(const std::string& line) {
  // curl_slist_append returns the (possibly same) head, or nullptr leaving the old list intact.
  curl_slist* head = curl_slist_append(list_.get(), line.c_str());
  CUBE_CHECK(head != nullptr) << "curl_slist_append failed: out of memory";
  if (head != list_.get()) {
    (void)list_.release();
    list_.reset(head);
  }
}

}  // namespace cube
