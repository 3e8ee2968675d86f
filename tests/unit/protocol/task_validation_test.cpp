// Every rule of protocol/task_validation.h, as a table of one change to a valid task each.
#include "protocol/task_validation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "protocol/messages.h"

namespace cube {
namespace {

Task valid_docker_task() {
  Task t;
  t.name = "web";
  t.image = "nginx:latest";
  return t;
}

struct Rule {
  std::string what;
  std::function<void(Task&)> change;
  std::string error;  // "" when the change is valid; else the start of the message
};

const std::string kDigest(64, 'a');

std::vector<Rule> rules() {
  return {
      // ID: empty or a UUID.
      {"no id", [](Task& t) { t.id = ""; }, ""},
      {"uuid v7", [](Task& t) { t.id = "0192f3a4-5b6c-7d8e-9f01-23456789abcd"; }, ""},
      {"uuid uppercase", [](Task& t) { t.id = "3FA85F64-5717-4562-B3FC-2C963F66AFA6"; }, ""},
      {"id not a uuid", [](Task& t) { t.id = "my-task"; },
       "field \"ID\": \"my-task\" is not a UUID (leave it out to get one)"},
      {"id one char short", [](Task& t) { t.id = "3fa85f64-5717-4562-b3fc-2c963f66afa"; },
       "field \"ID\""},
      // Name: at most 128 bytes.
      {"name 128 bytes", [](Task& t) { t.name = std::string(128, 'n'); }, ""},
      {"name 129 bytes", [](Task& t) { t.name = std::string(129, 'n'); },
       "field \"Name\": longer than 128 bytes"},
      // Driver.
      {"driver docker", [](Task& t) { t.driver = "docker"; }, ""},
      {"driver kvm", [](Task& t) { t.driver = "kvm"; },
       "field \"Driver\": unknown driver \"kvm\" (use docker, exec or sim)"},
      {"driver uppercase", [](Task& t) { t.driver = "Docker"; }, "field \"Driver\""},
      // Image: required for docker, a reference when given.
      {"docker without image", [](Task& t) { t.image = ""; },
       "field \"Image\": required for the docker driver"},
      {"default driver without image",
       [](Task& t) {
         t.image = "";
         t.driver = "";
       },
       "field \"Image\": required"},
      {"sim without image",
       [](Task& t) {
         t.image = "";
         t.driver = "sim";
       },
       ""},
      {"image name only", [](Task& t) { t.image = "busybox"; }, ""},
      {"image with path", [](Task& t) { t.image = "strm/helloworld-http"; }, ""},
      {"image with registry and port",
       [](Task& t) { t.image = "registry.example.com:5000/team/app:v1.2_rc-3"; }, ""},
      {"image localhost", [](Task& t) { t.image = "localhost:5000/x"; }, ""},
      {"image with digest", [](Task& t) { t.image = "nginx@sha256:" + kDigest; }, ""},
      {"image uppercase path", [](Task& t) { t.image = "Nginx"; },
       "field \"Image\": \"Nginx\" is not an image reference (for example busybox:latest)"},
      {"image empty tag", [](Task& t) { t.image = "nginx:"; }, "field \"Image\""},
      {"image with space", [](Task& t) { t.image = "nginx latest"; }, "field \"Image\""},
      {"image short digest", [](Task& t) { t.image = "nginx@sha256:abc"; }, "field \"Image\""},
      {"image too long", [](Task& t) { t.image = std::string(256, 'a'); }, "field \"Image\""},
      {"image leading slash", [](Task& t) { t.image = "/nginx"; }, "field \"Image\""},
      {"exec with bad image",
       [](Task& t) {
         t.driver = "exec";
         t.cmd = {"true"};
         t.image = "A";
       },
       "field \"Image\""},
      // Cmd: required for exec.
      {"exec without cmd", [](Task& t) { t.driver = "exec"; },
       "field \"Cmd\": required for the exec driver"},
      {"exec with cmd",
       [](Task& t) {
         t.driver = "exec";
         t.image = "";
         t.cmd = {"sleep", "1"};
       },
       ""},
      // Resources: finite and not negative.
      {"cpu fraction", [](Task& t) { t.cpu = 0.25; }, ""},
      {"cpu negative", [](Task& t) { t.cpu = -0.5; }, "field \"CPU\": must not be negative"},
      {"cpu NaN", [](Task& t) { t.cpu = std::nan(""); },
       "field \"CPU\": must be a finite number of cores"},
      {"cpu infinite", [](Task& t) { t.cpu = std::numeric_limits<double>::infinity(); },
       "field \"CPU\""},
      {"memory negative", [](Task& t) { t.memory_bytes = -1; },
       "field \"Memory\": must not be negative"},
      {"disk negative", [](Task& t) { t.disk_bytes = -1; }, "field \"Disk\": must not be negative"},
      {"duration negative", [](Task& t) { t.duration_ms = -1; },
       "field \"Duration\": must not be negative"},
      {"zero resources",
       [](Task& t) {
         t.memory_bytes = 0;
         t.disk_bytes = 0;
         t.cpu = 0;
       },
       ""},
      // Exposed ports: PORT[/tcp|/udp], 1..65535.
      {"ports ok",
       [](Task& t) {
         t.exposed_ports = {"80/tcp", "53/udp", "8080", "65535/tcp"};
       },
       ""},
      {"port 0", [](Task& t) { t.exposed_ports = {"0/tcp"}; },
       "field \"ExposedPorts\": \"0/tcp\" is not PORT[/tcp|/udp] with PORT in 1..65535"},
      {"port 65536", [](Task& t) { t.exposed_ports = {"65536"}; }, "field \"ExposedPorts\""},
      {"port sctp", [](Task& t) { t.exposed_ports = {"80/sctp"}; }, "field \"ExposedPorts\""},
      {"port name", [](Task& t) { t.exposed_ports = {"http"}; }, "field \"ExposedPorts\""},
      {"port empty", [](Task& t) { t.exposed_ports = {""}; }, "field \"ExposedPorts\""},
      {"port trailing slash", [](Task& t) { t.exposed_ports = {"80/"}; }, "field \"ExposedPorts\""},
      {"port negative", [](Task& t) { t.exposed_ports = {"-80/tcp"}; }, "field \"ExposedPorts\""},
      // Restart policy.
      {"restart empty", [](Task& t) { t.restart_policy = ""; }, ""},
      {"restart no", [](Task& t) { t.restart_policy = "no"; }, ""},
      {"restart on-failure", [](Task& t) { t.restart_policy = "on-failure"; }, ""},
      {"restart always", [](Task& t) { t.restart_policy = "always"; }, ""},
      {"restart sometimes", [](Task& t) { t.restart_policy = "sometimes"; },
       "field \"RestartPolicy\": \"sometimes\" is not one of \"no\", \"on-failure\", \"always\""},
      {"restart uppercase", [](Task& t) { t.restart_policy = "Always"; },
       "field \"RestartPolicy\""},
      // Health check: an HTTP path.
      {"health path", [](Task& t) { t.health_check = "/health"; }, ""},
      {"health no slash", [](Task& t) { t.health_check = "health"; },
       "field \"HealthCheck\": \"health\" must be a path such as /health"},
      {"health settings",
       [](Task& t) {
         t.health_interval_ms = 200;
         t.health_timeout_ms = 100;
         t.health_retries = 2;
       },
       ""},
      {"health interval negative", [](Task& t) { t.health_interval_ms = -1; },
       "field \"HealthCheckInterval\": must not be negative"},
      {"health timeout negative", [](Task& t) { t.health_timeout_ms = -1; },
       "field \"HealthCheckTimeout\""},
      {"health retries negative", [](Task& t) { t.health_retries = -3; },
       "field \"HealthCheckRetries\""},
      // Env: KEY=VALUE.
      {"env ok",
       [](Task& t) {
         t.env = {"A=1", "EMPTY=", "B==c"};
       },
       ""},
      {"env without =",
       [](Task& t) {
         t.env = {"A=1", "B"};
       },
       "field \"Env\": \"B\" is not KEY=VALUE"},
      {"env without key", [](Task& t) { t.env = {"=1"}; }, "field \"Env\""},
      {"env empty entry", [](Task& t) { t.env = {""}; }, "field \"Env\""},
      // Constraints: key=value.
      {"constraint ok",
       [](Task& t) {
         t.constraints = {"zone=eu-1", "gpu="};
       },
       ""},
      {"constraint without =", [](Task& t) { t.constraints = {"zone"}; },
       "field \"Constraints\": \"zone\" is not key=value"},
      {"constraint without key", [](Task& t) { t.constraints = {"=eu"}; }, "field \"Constraints\""},
  };
}

TEST(TaskValidation, ValidTaskPasses) {
  EXPECT_TRUE(validate_task_spec(valid_docker_task()).is_ok());
}

TEST(TaskValidation, EveryRule) {
  for (const auto& rule : rules()) {
    SCOPED_TRACE(rule.what);
    Task t = valid_docker_task();
    rule.change(t);
    Status s = validate_task_spec(t);
    if (rule.error.empty()) {
      EXPECT_TRUE(s.is_ok()) << s.to_string();
    } else {
      ASSERT_FALSE(s.is_ok());
      EXPECT_TRUE(s.is_invalid());
      EXPECT_EQ(s.message().substr(0, rule.error.size()), rule.error) << s.message();
    }
  }
}

// Validation looks at the spec only: whatever the status fields hold does not matter.
TEST(TaskValidation, StatusFieldsAreNotJudged) {
  Task t = valid_docker_task();
  t.state = TaskState::Failed;
  t.exit_code = -1;
  t.attempt = 99;
  t.reason = "\x01";
  t.restart_count = -3;
  EXPECT_TRUE(validate_task_spec(t).is_ok());
}

TEST(SubmitBatchValidation, EveryIdOnceAndOneToTheLimitOfTasks) {
  std::vector<Task> tasks(3, valid_docker_task());
  EXPECT_TRUE(check_submit_batch(tasks).is_ok());  // tasks without IDs never clash
  tasks[0].id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";
  tasks[1].id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d13";
  EXPECT_TRUE(check_submit_batch(tasks).is_ok());

  tasks[2].id = tasks[0].id;
  Status twice = check_submit_batch(tasks);
  EXPECT_TRUE(twice.is_invalid());
  EXPECT_EQ(twice.message(),
            "task ID 0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12 is given twice (#0 and #2): give each "
            "task its own ID, or none");
  Status named =
      check_distinct_task_ids(tasks, [](size_t i) { return "line " + std::to_string(i + 1); });
  EXPECT_EQ(named.message(),
            "task ID 0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12 is given twice (line 1 and line 3): "
            "give each task its own ID, or none");

  Status none = check_submit_batch({});
  EXPECT_TRUE(none.is_invalid());
  EXPECT_EQ(none.message(), "the batch holds no task: send at least one");
  std::vector<Task> too_many(protocol::kMaxSubmitBatch + 1, valid_docker_task());
  Status over = check_submit_batch(too_many);
  EXPECT_TRUE(over.is_invalid());
  EXPECT_EQ(over.message(),
            "the batch holds 1001 tasks, more than the 1000 one request may carry: send them in "
            "several");
  too_many.pop_back();
  EXPECT_TRUE(check_submit_batch(too_many).is_ok());
}

}  // namespace
}  // namespace cube
