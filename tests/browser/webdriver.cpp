#include "tests/browser/webdriver.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <utility>

#include "common/base64.h"
#include "common/curl_handle.h"

namespace cube::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// The key W3C WebDriver names an element reference by.
constexpr const char* kElementKey = "element-6066-11e4-a52e-4f735466cecf";

size_t append_to_string(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// One HTTP exchange with chromedriver: its status and body, or why it failed.
Result<std::pair<long, std::string>> http(const std::string& method, const std::string& url,
                                          const std::string* body) {
  CurlEasy curl = CurlEasy::create();
  CurlSlist headers;
  headers.append("Content-Type: application/json; charset=utf-8");
  std::string response;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append_to_string);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response);
  // Starting a browser session can take a while on a loaded machine; nothing else does.
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  if (body != nullptr) {
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body->c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  }
  CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK)
    return Status::unavailable("chromedriver " + method + " " + url + ": " +
                               curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  return std::pair{status, std::move(response)};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

bool browser_installed() {
  return ::access(kChromiumBinary, X_OK) == 0 && ::access(kChromedriverBinary, X_OK) == 0;
}

Result<std::unique_ptr<WebDriver>> WebDriver::start(const std::string& work_dir) {
  std::unique_ptr<WebDriver> d(new WebDriver());
  std::string log = work_dir + "/chromedriver.log";
  d->driver_.emplace(std::vector<std::string>{kChromedriverBinary, "--port=0"}, log);
  // chromedriver picks a free port and prints it.
  static const std::regex kPort("started successfully on port (\\d+)");
  std::smatch m;
  std::string out;
  bool started = eventually(
      [&] {
        out = read_file(log);
        return std::regex_search(out, m, kPort);
      },
      20s);
  if (!started)
    return Status::unavailable("chromedriver did not start within 20 s: " + out);
  d->base_url_ = "http://127.0.0.1:" + m[1].str();

  json options = {{"binary", kChromiumBinary},
                  {"args",
                   {"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions", "--window-size=1280,900",
                    "--user-data-dir=" + work_dir + "/chromium-profile"}}};
  json capabilities = {{"capabilities", {{"alwaysMatch", {{"goog:chromeOptions", options}}}}}};
  auto session = d->command("POST", "/session", capabilities);
  if (!session)
    return session.status().with_context("starting chromium through chromedriver (" + log + ")");
  d->session_id_ = (*session).value("sessionId", "");
  if (d->session_id_.empty())
    return Status::unavailable("chromedriver answered no session ID: " + session->dump());
  return d;
}

WebDriver::~WebDriver() {
  if (!session_id_.empty())
    (void)command("DELETE", "", std::nullopt);  // chromedriver closes chromium
  if (driver_ && driver_->pid() > 0) {
    // Whatever chromium left behind is in chromedriver's process group.
    ::kill(-driver_->pid(), SIGKILL);
    driver_->wait(10s);
  }
}

Result<json> WebDriver::command(const std::string& method, const std::string& path,
                                const std::optional<json>& body) {
  std::string url = base_url_ + (session_id_.empty() ? "" : "/session/" + session_id_) + path;
  std::string text = body ? body->dump() : "";
  auto reply = http(method, url, body ? &text : nullptr);
  if (!reply)
    return reply.status();
  json parsed = json::parse(reply->second, nullptr, false);
  if (parsed.is_discarded())
    return Status::unavailable("chromedriver " + method + " " + path + ": HTTP " +
                               std::to_string(reply->first) + ", not JSON: " + reply->second);
  json value = parsed.value("value", json());
  if (reply->first != 200) {
    std::string message = value.is_object()
                              ? value.value("error", "") + ": " + value.value("message", "")
                              : reply->second;
    return Status::unavailable("chromedriver " + method + " " + path + ": HTTP " +
                               std::to_string(reply->first) + " " + message);
  }
  return value;
}

Status WebDriver::open(const std::string& url) {
  auto r = command("POST", "/url", json{{"url", url}});
  return r ? Status::ok() : r.status();
}

Result<json> WebDriver::run(const std::string& script, const json& args) {
  return command("POST", "/execute/sync", json{{"script", script}, {"args", args}});
}

Result<std::string> WebDriver::find(const std::string& css) {
  auto r = command("POST", "/element", json{{"using", "css selector"}, {"value", css}});
  if (!r)
    return r.status();
  if (!r->is_object() || !r->contains(kElementKey))
    return Status::unavailable("no element reference for " + css + ": " + r->dump());
  return (*r)[kElementKey].get<std::string>();
}

Status WebDriver::click(const std::string& css) {
  // The page may re-render the element between finding and clicking it (a live update): find
  // it again then, for a while.
  Status last = Status::ok();
  eventually(
      [&] {
        auto element = find(css);
        if (!element) {
          last = element.status();
          return true;
        }
        auto r = command("POST", "/element/" + *element + "/click", json::object());
        last = r ? Status::ok() : r.status();
        return last.is_ok() || last.message().find("stale element") == std::string::npos;
      },
      5s, 50ms);
  return last;
}

Status WebDriver::type(const std::string& css, const std::string& text) {
  auto element = find(css);
  if (!element)
    return element.status();
  auto r = command("POST", "/element/" + *element + "/value", json{{"text", text}});
  return r ? Status::ok() : r.status();
}

bool WebDriver::wait_for(const std::string& script, std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        auto r = run(script);
        return r && r->is_boolean() && r->get<bool>();
      },
      timeout, 100ms);
}

Status WebDriver::screenshot(const std::string& path) {
  auto r = command("GET", "/screenshot", std::nullopt);
  if (!r)
    return r.status();
  if (!r->is_string())
    return Status::unavailable("the screenshot is not base64 text");
  auto png = base64_decode(r->get<std::string>());
  if (!png)
    return png.status();
  std::ofstream out(path, std::ios::binary);
  out.write(png->data(), static_cast<std::streamsize>(png->size()));
  out.close();
  if (!out)
    return Status::unavailable("cannot write " + path);
  return Status::ok();
}

std::string WebDriver::page_text() {
  auto r = run("return document.body ? document.body.innerText : ''");
  return r && r->is_string() ? r->get<std::string>()
                             : "(no page text: " + r.status().message() + ")";
}

}  // namespace cube::test
