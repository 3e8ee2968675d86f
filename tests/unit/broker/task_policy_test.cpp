#include "broker/task_policy.h"

#include <gtest/gtest.h>

namespace cube::broker {
namespace {

Task docker_task(std::string image, double cpu = 0, int64_t memory = 0) {
  Task t;
  t.name = "t";
  t.image = std::move(image);
  t.cpu = cpu;
  t.memory_bytes = memory;
  return t;
}

TEST(TaskPolicyTest, GlobMatch) {
  EXPECT_TRUE(glob_match("*", "anything/at:all"));
  EXPECT_TRUE(glob_match("registry.local/*", "registry.local/team/web:1"));
  EXPECT_TRUE(glob_match("busybox:1.3?", "busybox:1.36"));
  EXPECT_FALSE(glob_match("busybox:1.3?", "busybox:1.4"));
  EXPECT_FALSE(glob_match("nginx", "nginx:1.25"));
}

TEST(TaskPolicyTest, DefaultPolicyAllowsEverything) {
  TaskPolicy policy;
  EXPECT_TRUE(check_task_policy(policy, docker_task("nginx", 64, int64_t{1} << 40)).is_ok());
  Task exec = docker_task("");
  exec.driver = "exec";
  EXPECT_TRUE(check_task_policy(policy, exec).is_ok());
}

TEST(TaskPolicyTest, RefusalsNameTheRule) {
  TaskPolicy policy;
  policy.allowed_images = {"registry.local/*", "busybox*"};
  policy.max_cpu = 2;
  policy.max_memory_bytes = int64_t{1} << 30;
  policy.allow_exec = false;
  Task exec = docker_task("");
  exec.driver = "exec";
  struct Case {
    Task task;
    std::string message;  // empty: allowed
  };
  std::vector<Case> cases = {
      {docker_task("registry.local/web:1", 2, int64_t{1} << 30), ""},
      {docker_task("busybox:latest"), ""},
      {docker_task("nginx:1.25"),
       "task refused by policy: image \"nginx:1.25\" does not match --allow-image "
       "\"registry.local/*\", \"busybox*\""},
      {docker_task("busybox", 2.5),
       "task refused by policy: Cpu 2.5 is more than --max-task-cpu 2"},
      {docker_task("busybox", 1, int64_t{2} << 30),
       "task refused by policy: Memory 2 GiB is more than --max-task-memory 1 GiB"},
      {exec, "--allow-exec"},
  };
  for (const auto& c : cases) {
    Status s = check_task_policy(policy, c.task);
    if (c.message.empty()) {
      EXPECT_TRUE(s.is_ok()) << c.task.image << ": " << s.to_string();
      continue;
    }
    EXPECT_EQ(s.code(), ErrorCode::Invalid) << c.task.image;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.message();
    EXPECT_TRUE(s.message().starts_with("task refused by policy: ")) << s.message();
  }
}

TEST(TaskPolicyTest, ImagePatternsDoNotApplyToExecTasks) {
  TaskPolicy policy;
  policy.allowed_images = {"busybox*"};
  Task exec = docker_task("");
  exec.driver = "exec";
  EXPECT_TRUE(check_task_policy(policy, exec).is_ok());
}

}  // namespace
}  // namespace cube::broker
