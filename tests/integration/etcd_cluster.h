// EtcdCluster: a real etcd (one member, or three forming a cluster) on free loopback ports with
// data dirs in a TempDir, for the etcd store's tests. Started by start(), which waits (polling
// with a deadline) until every member serves reads; the destructor SIGKILLs and reaps every
// member and removes the data dirs, even when the test failed.
//
// Where etcd is missing (scripts/install-deps.sh installs Debian's etcd-server), fixtures call
// require_etcd(): the test is skipped, or fails under CI=true, where it must run.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace cube::test {

// The etcd binary ("" when none is installed).
std::string etcd_binary();

// GTEST_SKIP()s the calling test when etcd_binary() is empty, or FAILs it under CI=true. Call as
// ASSERT_NO_FATAL_FAILURE(require_etcd()) and return if IsSkipped().
void require_etcd();

// A loopback port nothing listens on right now (bound to port 0, read back, closed). Another
// process may take it before it is used: callers retry on "address already in use".
int free_loopback_port();

class EtcdCluster {
 public:
  explicit EtcdCluster(int members = 1);
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // Starts the members and waits up to 30 s until each answers a read (a leader is elected).
  // ASSERTs: call as ASSERT_NO_FATAL_FAILURE(cluster.start()).
  void start();

  // "127.0.0.1:PORT" of each member's client URL.
  const std::vector<std::string>& endpoints() const { return endpoints_; }
  // "etcd://127.0.0.1:P1,127.0.0.1:P2,.../PREFIX", as cube-broker's --store takes it.
  std::string store_spec(const std::string& prefix) const;

  // SIGKILLs member i and reaps it.
  void kill_member(size_t i);
  // The index of the member that is etcd's raft leader now, as the members say
  // (/v3/maintenance/status); -1 when none answers with a leader.
  int leader_member() const;
  // Starts member i again (after kill_member) on its ports and data dir, as a member rejoining
  // its cluster; does not wait for it (the cluster's quorum says when it serves).
  void restart_member(size_t i);
  // Every member's output, for failure messages.
  std::string logs() const;

 private:
  bool start_once();  // false when a port was taken meanwhile

  int size_;
  TempDir dir_;
  std::vector<std::optional<Process>> members_;
  std::vector<std::vector<std::string>> argv_;  // each member's command line
  std::vector<std::string> log_paths_;
  std::vector<std::string> endpoints_;
  int starts_ = 0;
};

// A fixture with an etcd cluster of `members`, started before each test (require_etcd() first).
class EtcdTest : public ::testing::Test {
 protected:
  explicit EtcdTest(int members) : etcd_(members) {}
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(require_etcd());
    if (IsSkipped())
      return;
    ASSERT_NO_FATAL_FAILURE(etcd_.start());
  }
  EtcdCluster etcd_;
};

// One etcd member.
class OneEtcdTest : public EtcdTest {
 protected:
  OneEtcdTest() : EtcdTest(1) {}
};

}  // namespace cube::test
