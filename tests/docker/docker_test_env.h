// DockerTestEnv: the base fixture of the tests that talk to the real dockerd.
//
// - SetUp FAILS (never skips) when dockerd does not answer or the test image is missing: a
//   missing dockerd is an environment error, and the message says how to fix it
//   (scripts/start-dockerd.sh, scripts/build-test-image.sh). With CI=true it says so too.
// - Every container a test makes carries cube.test=<run id> (a random ID per test) and a
//   unique name; TearDown removes every container with that label, even after a failure.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "agent/drivers/docker/docker_client.h"
#include "agent/drivers/docker/docker_driver.h"
#include "common/clock.h"
#include "tests/unit/docker/exit_recorder.h"

namespace cube::agent::test {

inline constexpr const char* kTestImage = "cube/busybox:latest";
inline constexpr const char* kTestLabel = "cube.test";

class DockerTestEnv : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A driver for this test's node ("cube-test-<run id>"), with its exits going to exits_.
  std::unique_ptr<DockerDriver> make_driver();

  // A task for kTestImage with a fresh UUIDv7 ID, labelled cube.test=<run id>.
  Task make_task(const std::string& name, std::vector<std::string> cmd);

  // Creates (not starts) a uniquely named container labelled cube.test=<run id>; for tests of
  // DockerClient alone. Returns its ID.
  std::string create_test_container(const std::vector<std::string>& cmd);

  // Removes every container labelled cube.test=<run id>; returns how many it removed.
  int remove_test_containers();

  const Clock& clock_ = system_clock();
  std::string run_id_;
  std::string node_id_;
  std::unique_ptr<DockerClient> client_;
  bool dockerd_ok_ = false;  // SetUp reached dockerd, so TearDown has containers to clean
  ExitRecorder exits_;
  std::unique_ptr<DockerDriver> driver_;
};

}  // namespace cube::agent::test
