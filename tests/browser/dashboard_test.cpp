// The dashboard (/ui/) in a real headless chromium, against a real cube-broker --http with real
// exec agents: what a person watching the page sees when tasks start, print, stop, when a node
// dies, and for a service. Every wait polls the page's DOM with a deadline.
//
// Without chromium these tests are skipped, except under CI=true, where that is a failure
// (scripts/install-deps.sh installs chromium and chromium-driver).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "tests/browser/webdriver.h"
#include "tests/integration/cluster.h"

namespace cube::test {
namespace {

using json = nlohmann::json;

// How long the page may take to show a change. Generous: the machine may be busy building.
constexpr auto kShown = 20s;

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// JavaScript that is true when `css` matches an element.
std::string present(const std::string& css) {
  return "return document.querySelector(" + json(css).dump() + ") !== null";
}

// A cluster whose broker serves the dashboard, and a browser.
class Dashboard : public ::testing::Test {
 protected:
  // Here rather than in start(): a skip in SetUp skips the test body, one in a helper does not.
  void SetUp() override {
    if (!browser_installed()) {
      if (in_ci())
        FAIL() << kChromiumBinary << " or " << kChromedriverBinary
               << " is missing; CI must run the browser tests (scripts/install-deps.sh)";
      GTEST_SKIP() << "chromium and chromium-driver are not installed (scripts/install-deps.sh)";
    }
  }
  void start(std::vector<std::string> broker_args = {}) {
    std::string ready = (c.dir() / "http.ready").string();
    std::vector<std::string> args = {"--http", "127.0.0.1:0",  "--http-ready-file",
                                     ready,    "--node-grace", "2s"};
    args.insert(args.end(), broker_args.begin(), broker_args.end());
    ASSERT_NO_FATAL_FAILURE(c.start_broker(args));
    std::ifstream in(ready);
    std::string address;
    std::getline(in, address);
    ASSERT_FALSE(address.empty()) << c.logs();
    base = "http://" + address + "/ui/";
    auto driver = WebDriver::start(c.dir().str());
    ASSERT_TRUE(driver) << driver.status().message();
    browser = std::move(*driver);
  }
  void go(const std::string& hash) {
    auto r = browser->run("location.hash = arguments[0]; return true", json::array({hash}));
    ASSERT_TRUE(r) << r.status().message();
  }
  // Writes a screenshot to the build directory (docs/ keeps copies of two of them).
  void screenshot(const std::string& name) {
    Status s = browser->screenshot(std::string(CUBE_BIN_DIR) + "/" + name);
    EXPECT_TRUE(s.is_ok()) << s.message();
  }
  // The page follows /events when the gateway has it (200) and refreshes every 2 s when it
  // answers 404: the indicator must say which, and match what the gateway offers.
  void expect_live_mode() {
    auto status = browser->run(
        "const t = sessionStorage.getItem('cube-token');"
        "return fetch('/events', {headers: t ? {Authorization: 'Bearer ' + t} : {}})"
        ".then((r) => { if (r.body) r.body.cancel(); return r.status; })");
    ASSERT_TRUE(status && status->is_number()) << status.status().message();
    const std::string mode = *status == 200 ? "events" : "polling";
    EXPECT_TRUE(browser->wait_for(present("#live." + mode), kShown))
        << "GET /events answered " << *status << "; the page should be in mode " << mode;
    std::cout << "dashboard: GET /events answers " << *status << ", page mode " << mode << "\n";
  }
  std::string context() { return "page:\n" + browser->page_text() + "\n" + c.logs(); }

  Cluster c;
  std::string base;
  std::unique_ptr<WebDriver> browser;
};

TEST_F(Dashboard, ShowsNodesTasksLiveLogsStopAndALostNode) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(c.start_agent("node-a"));
  ASSERT_NO_FATAL_FAILURE(c.start_agent("node-b"));
  ASSERT_TRUE(browser->open(base).is_ok());

  // The overview lists both nodes, ready.
  ASSERT_TRUE(
      browser->wait_for(present("#nodes [data-node='node-a'][data-state='ready']") +
                            " && document.querySelector(\"#nodes [data-node='node-b']\") !== null",
                        kShown))
      << context();

  ASSERT_NO_FATAL_FAILURE(expect_live_mode());

  // A task submitted with cube-client appears in the task list, running, without a reload: a
  // mark left on the window would be gone after one.
  go("#/tasks");
  ASSERT_TRUE(browser->run("window.cubeTestMark = 42; return true").is_ok());
  std::string id = c.submit({"--name", "printer", "--driver", "exec", "--", "sh", "-c",
                             "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.2; done"});
  ASSERT_TRUE(
      browser->wait_for(present("#tasks tr[data-task='" + id + "'][data-state='Running']"), kShown))
      << context();
  auto mark = browser->run("return window.cubeTestMark === 42");
  ASSERT_TRUE(mark && *mark == true) << "the page was reloaded";

  // Filters: by name keeps it, by another state hides it.
  Status typed = browser->type("#filter-name", "print");
  ASSERT_TRUE(typed.is_ok()) << typed.message();
  EXPECT_TRUE(browser->wait_for(present("#tasks tr[data-task='" + id + "']"), kShown));
  ASSERT_TRUE(browser
                  ->run("const s = document.querySelector('#filter-state'); s.value = 'Failed';"
                        "s.dispatchEvent(new Event('change')); return true")
                  .is_ok());
  EXPECT_TRUE(browser->wait_for(
      "return document.querySelector(\"#tasks tr[data-task='" + id + "']\") === null", kShown))
      << context();

  // Its page: spec, history, and its output arriving live (later lines than the first seen).
  go("#/tasks/" + id);
  ASSERT_TRUE(
      browser->wait_for("return (document.querySelector('#logs') || {}).textContent"
                        "?.includes('line 3\\n') === true",
                        kShown))
      << context();
  auto first = browser->run("return document.querySelector('#logs').textContent.length");
  ASSERT_TRUE(first && first->is_number());
  ASSERT_TRUE(
      browser->wait_for("return document.querySelector('#logs').textContent.length > " +
                            std::to_string(first->get<int64_t>()) +
                            " && document.querySelector('#logs').textContent.includes('line 8\\n')",
                        kShown))
      << context();
  EXPECT_TRUE(browser->wait_for(
      present("#history tbody tr") + " && " +
          "document.querySelector(\"#task [data-field='Node']\").textContent.length > 0",
      kShown))
      << context();
  screenshot("dashboard-task.png");

  // Stop from the page: the page shows it ended, and cube-client agrees.
  ASSERT_TRUE(browser->click("#stop").is_ok());
  ASSERT_TRUE(browser->wait_for(present("#task[data-state='Completed']"), kShown)) << context();
  json task = c.get(id);
  EXPECT_EQ(state_of(task), 3) << task.dump();
  EXPECT_TRUE(browser->wait_for(present("#logs[data-eof='true']"), kShown)) << context();

  // A node killed with SIGKILL turns lost on the overview.
  go("#/");
  c.agent("node-b").signal(SIGKILL);
  ASSERT_TRUE(c.agent("node-b").wait(5s).has_value());
  ASSERT_TRUE(browser->wait_for(present("#nodes [data-node='node-b'][data-state='lost']"), kShown))
      << context();
  EXPECT_TRUE(
      browser->wait_for(present("#nodes [data-node='node-a'][data-state='ready']"), kShown));
  EXPECT_TRUE(browser->wait_for(present("#events li[data-type='node']"), kShown)) << context();
  screenshot("dashboard-overview.png");
}

TEST_F(Dashboard, ServicesViewShowsReplicas) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(c.start_agent("node-a"));
  auto r = c.cli({"service", "create", "--name", "web", "--replicas", "3", "--driver", "exec", "--",
                  "sleep", "300"});
  ASSERT_EQ(r.status.code, 0) << r.err << c.logs();
  ASSERT_TRUE(browser->open(base + "#/services").is_ok());
  ASSERT_TRUE(browser->wait_for(
      "const row = document.querySelector(\"#service-list tr[data-service='web']\");"
      "return row !== null && row.querySelector('.replicas').textContent === '3'"
      " && row.querySelector('.running').textContent === '3'",
      kShown))
      << context();
  ASSERT_TRUE(browser->click("#service-list tr[data-service='web'] a").is_ok());
  ASSERT_TRUE(browser->wait_for(
      "return document.querySelectorAll(\"#replicas tr[data-state='Running']\").length === 3",
      kShown))
      << context();
  // Scaling down with cube-client shows on the open page.
  auto scaled = c.cli({"service", "scale", "web=1"});
  ASSERT_EQ(scaled.status.code, 0) << scaled.err;
  EXPECT_TRUE(browser->wait_for(
      "return document.querySelectorAll(\"#replicas tr[data-state='Running']\").length === 1",
      kShown))
      << context();
  auto stopped = c.cli({"service", "rm", "web"});
  EXPECT_EQ(stopped.status.code, 0) << stopped.err;
}

// Removes the containers a docker agent made (by its cube.task label) when the test ends, even
// when it failed before stopping them.
struct ContainerReaper {
  std::string task_id;
  ~ContainerReaper() {
    if (task_id.empty())
      return;
    auto ids = run_command(
        {"/usr/bin/docker", "ps", "-aq", "--filter", "label=cube.task=" + task_id}, 10s);
    std::istringstream lines(ids.out);
    for (std::string id; std::getline(lines, id);) {
      if (!id.empty())
        run_command({"/usr/bin/docker", "rm", "-f", id}, 20s);
    }
  }
};

TEST_F(Dashboard, ATasksPortBindingsAreLinksToItsPublishedPorts) {
  auto docker = run_command({"/usr/bin/docker", "image", "inspect", "cube/busybox:latest"}, 10s);
  if (docker.status.code != 0) {
    if (in_ci())
      FAIL() << "dockerd or the image cube/busybox:latest is missing (scripts/start-dockerd.sh, "
                "scripts/build-test-image.sh): "
             << docker.err;
    GTEST_SKIP() << "no dockerd or no cube/busybox:latest: " << docker.err;
  }
  ASSERT_NO_FATAL_FAILURE(start({"--store", "memory"}));
  ASSERT_NO_FATAL_FAILURE(c.start_agent("dock", {"--driver", "docker", "--stop-grace", "2s"}));
  ContainerReaper reaper;
  std::string id = c.submit({"--name", "web", "--image", "cube/busybox:latest", "-p", "8080/tcp",
                             "--", "httpd", "-f", "-p", "8080", "-h", "/www"});
  reaper.task_id = id;
  ASSERT_TRUE(c.wait_task(
      id, [](const json& t) { return state_of(t) == 2; }, 30s))
      << c.logs();
  std::string port = c.get(id)["PortBindings"]["8080/tcp"].at(0).value("HostPort", "");
  ASSERT_FALSE(port.empty()) << c.get(id).dump();

  ASSERT_TRUE(browser->open(base + "#/tasks/" + id).is_ok());
  const std::string link = "#task [data-field='Ports'] a[href='http://127.0.0.1:" + port + "/']";
  ASSERT_TRUE(browser->wait_for(present(link), kShown)) << context();
  auto text =
      browser->run("return document.querySelector(arguments[0]).textContent", json::array({link}));
  ASSERT_TRUE(text && text->is_string());
  EXPECT_EQ(text->get<std::string>(), "127.0.0.1:" + port);
  EXPECT_THAT(browser->page_text(), ::testing::HasSubstr("8080/tcp"));

  ASSERT_TRUE(browser->click("#stop").is_ok());
  EXPECT_TRUE(browser->wait_for(present("#task[data-state='Completed']"), kShown)) << context();
}

TEST_F(Dashboard, AsksForTheTokenOnceAndSendsItWithEveryCall) {
  std::string token_file = (c.dir() / "token").string();
  std::ofstream(token_file) << "dashboard-test-token-0123456789\n";
  ::chmod(token_file.c_str(), 0600);
  ASSERT_NO_FATAL_FAILURE(start({"--http-token-file", token_file}));
  ASSERT_NO_FATAL_FAILURE(c.start_agent("node-a"));
  std::string id = c.submit({"--name", "sleeper", "--driver", "exec", "--", "sleep", "300"});

  // The files load without a token; the first API call gets 401 and the page asks.
  ASSERT_TRUE(browser->open(base).is_ok());
  ASSERT_TRUE(browser->wait_for("return !document.querySelector('#token-prompt').hidden", kShown))
      << context();
  ASSERT_TRUE(browser->type("#token-input", "not-the-token-at-all-000").is_ok());
  ASSERT_TRUE(browser->click("#token-save").is_ok());
  // A wrong token is refused and asked for again, saying why.
  ASSERT_TRUE(browser->wait_for(
      "return !document.querySelector('#token-prompt').hidden && "
      "document.querySelector('#token-problem').textContent.includes('not the one')",
      kShown))
      << context();
  ASSERT_TRUE(browser->type("#token-input", "dashboard-test-token-0123456789").is_ok());
  ASSERT_TRUE(browser->click("#token-save").is_ok());
  ASSERT_TRUE(browser->wait_for(present("#nodes [data-node='node-a']"), kShown)) << context();

  // The Stop button sends it too.
  go("#/tasks/" + id);
  ASSERT_TRUE(browser->wait_for(present("#task[data-state='Running']"), kShown)) << context();
  ASSERT_TRUE(browser->click("#stop").is_ok());
  ASSERT_TRUE(browser->wait_for(present("#task[data-state='Completed']"), kShown)) << context();
  EXPECT_EQ(state_of(c.get(id)), 3);
  // Kept for the tab: not asked again after a reload.
  ASSERT_TRUE(browser->open(base).is_ok());
  ASSERT_TRUE(browser->wait_for(present("#nodes [data-node='node-a']"), kShown)) << context();
  auto hidden = browser->run("return document.querySelector('#token-prompt').hidden");
  EXPECT_TRUE(hidden && *hidden == true);
}

}  // namespace
}  // namespace cube::test
