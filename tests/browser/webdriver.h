// WebDriver: a headless Debian chromium driven through chromedriver's W3C WebDriver HTTP API
// (libcurl + nlohmann-json), for the dashboard's tests in a real browser. It starts
// chromedriver on a free loopback port in its own process group with a fresh --user-data-dir,
// opens one session, and on destruction ends the session and kills the whole group, so no
// chromium process outlives the test.
//
// Waiting is by polling the DOM with a deadline (wait_for), never by sleeping.
//
// Thread-safety: one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "tests/support/process.h"

namespace cube::test {

// Where Debian puts them (scripts/install-deps.sh installs chromium and chromium-driver).
inline constexpr const char* kChromiumBinary = "/usr/bin/chromium";
inline constexpr const char* kChromedriverBinary = "/usr/bin/chromedriver";

// True when both binaries are installed.
bool browser_installed();

class WebDriver {
 public:
  // Starts chromedriver and a session (window 1280x900) with its files under `work_dir`.
  //   Unavailable  chromedriver did not start or refused the session (the message has its
  //                output).
  static Result<std::unique_ptr<WebDriver>> start(const std::string& work_dir);
  ~WebDriver();
  WebDriver(const WebDriver&) = delete;
  WebDriver& operator=(const WebDriver&) = delete;

  // Navigates to `url` and waits for the page's load event.
  Status open(const std::string& url);
  // Runs `script` (a function body: "return document.title") in the page; its return value.
  Result<nlohmann::json> run(const std::string& script,
                             const nlohmann::json& args = nlohmann::json::array());
  // Clicks the first element matching the CSS selector as a user would (WebDriver element
  // click: scrolled into view, must be visible and enabled). An element replaced in between
  // (stale) is looked up again, for up to 5 s.
  Status click(const std::string& css);
  // Types `text` into the element matching `css` (appended to what it holds).
  Status type(const std::string& css, const std::string& text);
  // Polls `script` every 100 ms until it returns true; false when `timeout` passed first.
  bool wait_for(const std::string& script, std::chrono::milliseconds timeout);
  // A PNG of the viewport, written to `path`.
  Status screenshot(const std::string& path);
  // The text of document.body, for failure messages.
  std::string page_text();

 private:
  WebDriver() = default;
  // One WebDriver command: `method` on /session/{id}`path` (or `path` alone before a session);
  // the reply's "value", or its error as Unavailable.
  Result<nlohmann::json> command(const std::string& method, const std::string& path,
                                 const std::optional<nlohmann::json>& body);
  Result<std::string> find(const std::string& css);

  std::optional<Process> driver_;
  std::string base_url_;    // http://127.0.0.1:PORT
  std::string session_id_;  // "" before the session exists
};

}  // namespace cube::test
