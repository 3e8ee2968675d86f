// RAII owners for libcurl's C handles: CurlEasy (curl_easy_cleanup) and CurlSlist
// (curl_slist_free_all). Move-only; a moved-from owner holds nothing.
//
// Thread-safety: a handle may be used by one thread at a time (libcurl's rule for easy
// handles); ownership may move between threads.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>

namespace cube {

// Calls curl_global_init once per process, before the first handle is made. libcurl requires it
// to run before any other thread uses libcurl; every CurlEasy constructor calls it, so it runs
// on the first thread that needs a handle. Thread-safe (std::call_once).
void ensure_curl_global_init();

class CurlEasy {
 public:
  // A fresh handle. CUBE_CHECKs that curl_easy_init succeeded: it fails only when out of memory.
  static CurlEasy create();

  CurlEasy() = default;  // empty
  CurlEasy(CurlEasy&&) noexcept = default;
  CurlEasy& operator=(CurlEasy&&) noexcept = default;
  CurlEasy(const CurlEasy&) = delete;
  CurlEasy& operator=(const CurlEasy&) = delete;

  CURL* get() const { return handle_.get(); }
  bool valid() const { return handle_ != nullptr; }

 private:
  struct Deleter {
    void operator()(CURL* h) const { curl_easy_cleanup(h); }
  };
  explicit CurlEasy(CURL* h) : handle_(h) {}
  std::unique_ptr<CURL, Deleter> handle_;
};

class CurlSlist {
 public:
  CurlSlist() = default;
  CurlSlist(CurlSlist&&) noexcept = default;
  CurlSlist& operator=(CurlSlist&&) noexcept = default;
  CurlSlist(const CurlSlist&) = delete;
  CurlSlist& operator=(const CurlSlist&) = delete;

  // Appends a header line ("Content-Type: application/json"). CUBE_CHECKs on allocation failure.
  void append(const std::string& line);

  // nullptr while empty, which libcurl reads as "no extra headers".
  curl_slist* get() const { return list_.get(); }

 private:
  struct Deleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
  };
  std::unique_ptr<curl_slist, Deleter> list_;
};

}  // namespace cube
