// The etcd store against real etcd processes (tests/integration/etcd_cluster.h): EtcdClient's
// failover and bounds, EtcdStore's round trip, split batches and version check, and a real
// cube-broker on `--store etcd://...` killed and restarted. Skipped without etcd on PATH, failed
// under CI=true.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "broker/etcd_client.h"
#include "broker/etcd_store.h"
#include "common/clock.h"
#include "common/unique_fd.h"
#include "tests/integration/cluster.h"
#include "tests/integration/etcd_cluster.h"

namespace cube::test {
namespace {

using broker::EtcdClient;
using broker::EtcdClientOptions;
using broker::EtcdStore;
using broker::EtcdStoreOptions;
using broker::TaskEventRecord;

Millis since(SteadyTime start) {
  return std::chrono::duration_cast<Millis>(system_clock().now() - start);
}

Task stored_task(int i) {
  Task t;
  t.id = "01900000-0000-7000-8000-" + std::string(12 - std::to_string(i).size(), '0') +
         std::to_string(i);
  t.name = "task-" + std::to_string(i);
  t.image = "busybox";
  t.cmd = {"sh", "-c", "echo " + std::to_string(i)};
  t.env = {"I=" + std::to_string(i)};
  t.memory_bytes = 1 << 20;
  t.state = i % 2 == 0 ? TaskState::Running : TaskState::Pending;
  t.node_id = i % 2 == 0 ? "node-a" : "";
  t.created_ms = 1700000000000 + i;
  return t;
}

TaskEventRecord history_entry(const Task& t, TaskState state) {
  TaskEvent e;
  e.state = state;
  e.timestamp_ms = t.created_ms + static_cast<int>(state);
  e.reason = "entry " + std::to_string(static_cast<int>(state));
  return {t.id, e};
}

EtcdStoreOptions store_options(const EtcdCluster& etcd, const std::string& prefix) {
  EtcdStoreOptions options;
  options.client.endpoints = etcd.endpoints();
  options.prefix = prefix;
  return options;
}

std::unique_ptr<EtcdStore> open_store(const EtcdCluster& etcd, const std::string& prefix) {
  auto store = EtcdStore::open(store_options(etcd, prefix));
  EXPECT_TRUE(store.is_ok()) << store.status().to_string();
  return store.is_ok() ? std::move(*store) : nullptr;
}

int64_t current_revision(EtcdClient& client) {
  broker::EtcdRangeRequest probe;
  probe.key = "/revision-probe";
  auto answer = client.range(probe);
  EXPECT_TRUE(answer.is_ok()) << answer.status().to_string();
  return answer.is_ok() ? answer->revision : -1;
}

using EtcdStoreTest = OneEtcdTest;

TEST_F(EtcdStoreTest, TasksAndHistoryComeBackFromANewInstance) {
  std::vector<Task> tasks;
  std::vector<TaskEventRecord> events;
  {
    auto store = open_store(etcd_, "/rt");
    ASSERT_TRUE(store);
    EXPECT_EQ(store->next_log_seq(), 1u);
    for (int i = 0; i < 20; ++i) {
      tasks.push_back(stored_task(i));
      events.push_back(history_entry(tasks.back(), TaskState::Pending));
    }
    ASSERT_TRUE(store->commit(tasks, events).is_ok());
    // A second commit replaces some tasks and appends to their histories.
    std::vector<Task> changed;
    std::vector<TaskEventRecord> more;
    for (int i = 0; i < 20; i += 3) {
      tasks[i].state = TaskState::Completed;
      tasks[i].reason = "done";
      changed.push_back(tasks[i]);
      more.push_back(history_entry(tasks[i], TaskState::Completed));
    }
    Status second = store->commit(changed, more);
    ASSERT_TRUE(second.is_ok()) << second.to_string();
    events.insert(events.end(), more.begin(), more.end());
  }
  auto reopened = open_store(etcd_, "/rt");
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->next_log_seq(), 3u);  // two commits, one log record each
  auto loaded = reopened->load_all();
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(*loaded, tasks);  // ids are zero-padded: key order is the order they were made
  auto history = reopened->load_events();
  ASSERT_TRUE(history.is_ok()) << history.status().to_string();
  EXPECT_EQ(*history, events);

  // Another prefix is another store.
  auto other = open_store(etcd_, "/rt2");
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->load_all()->empty());
  EXPECT_TRUE(other->load_events()->empty());
}

TEST_F(EtcdStoreTest, ABatchOfAThousandTasksIsOnePutAndALargerOneAFewRecords) {
  auto store = open_store(etcd_, "/big");
  ASSERT_TRUE(store);
  std::vector<Task> tasks;
  std::vector<TaskEventRecord> events;
  for (int i = 0; i < 1000; ++i) {
    tasks.push_back(stored_task(i));
    events.push_back(history_entry(tasks.back(), TaskState::Pending));
  }
  EtcdClientOptions options;
  options.endpoints = etcd_.endpoints();
  EtcdClient client(options);
  int64_t before = current_revision(client);
  Status committed = store->commit(tasks, events);
  ASSERT_TRUE(committed.is_ok()) << committed.to_string();
  // One txn, one revision: 2,000 puts (version 1's layout) would have been 16 txns.
  EXPECT_EQ(current_revision(client) - before, 1);
  EXPECT_EQ(store->stats().log_records, 1u);

  // With records of at most 20 KB, the same batch is several records, one txn each.
  EtcdStoreOptions small = store_options(etcd_, "/big-small");
  small.limits.max_record_bytes = 20000;
  auto split = EtcdStore::open(small);
  ASSERT_TRUE(split.is_ok());
  before = current_revision(client);
  ASSERT_TRUE((*split)->commit(tasks, events).is_ok());
  const int64_t records = current_revision(client) - before;
  EXPECT_GT(records, 5);
  EXPECT_EQ((*split)->next_log_seq(), static_cast<uint64_t>(records) + 1);

  // Read back from new instances, the log 4 records per page.
  for (const std::string prefix : {"/big", "/big-small"}) {
    auto reopened = open_store(etcd_, prefix);
    ASSERT_TRUE(reopened);
    auto loaded = reopened->load_all();
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
    EXPECT_EQ(*loaded, tasks) << prefix;
    auto history = reopened->load_events();
    ASSERT_TRUE(history.is_ok());
    EXPECT_EQ(*history, events) << prefix;
  }

  // etcd itself refuses more than 128 ops: what a fold's txns stay under.
  broker::EtcdTxn too_big;
  for (int i = 0; i < 129; ++i)
    too_big.success.push_back(broker::EtcdOp::put("/raw/" + std::to_string(i), "x"));
  auto refused = client.txn(too_big);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_TRUE(refused.status().is_invalid()) << refused.status().to_string();
  EXPECT_NE(refused.status().message().find("too many operations"), std::string::npos);
}

TEST_F(EtcdStoreTest, ARetriedBatchRewritesTheSameKeys) {
  auto store = open_store(etcd_, "/retry");
  ASSERT_TRUE(store);
  std::vector<Task> tasks = {stored_task(1)};
  std::vector<TaskEventRecord> events = {history_entry(tasks[0], TaskState::Pending)};
  // A first attempt that landed although the broker saw an error is what a retry repeats: the
  // same txns, keys and values (build_log_txns from the same first sequence number).
  auto txns = broker::build_log_txns(store->layout(), tasks, events, store->next_log_seq(),
                                     broker::EtcdTxnLimits{});
  EtcdClientOptions options;
  options.endpoints = etcd_.endpoints();
  EtcdClient client(options);
  for (const auto& txn : txns)
    ASSERT_TRUE(client.txn(txn).is_ok());
  ASSERT_TRUE(store->commit(tasks, events).is_ok());
  auto history = open_store(etcd_, "/retry")->load_events();
  ASSERT_TRUE(history.is_ok());
  EXPECT_EQ(*history, events);  // one entry, not two
}

// What a store should hold after a run of commits: each task's newest state, every entry.
struct Expected {
  std::map<std::string, Task> tasks;
  std::vector<TaskEventRecord> events;

  // Commits `n` tasks starting at `first` moved to `state`, each with a history entry.
  Status commit(EtcdStore& store, int first, int n, TaskState state) {
    std::vector<Task> batch;
    std::vector<TaskEventRecord> entries;
    for (int i = first; i < first + n; ++i) {
      Task t = stored_task(i);
      t.state = state;
      batch.push_back(t);
      entries.push_back(history_entry(t, state));
    }
    Status done = store.commit(batch, entries);
    if (done.is_ok()) {
      for (const auto& t : batch)
        tasks[t.id] = t;
      events.insert(events.end(), entries.begin(), entries.end());
    }
    return done;
  }

  void check(EtcdStore& store) const {
    auto loaded = store.load_all();
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
    std::vector<Task> want;
    for (const auto& [id, t] : tasks)
      want.push_back(t);
    EXPECT_EQ(*loaded, want);
    auto history = store.load_events();
    ASSERT_TRUE(history.is_ok()) << history.status().to_string();
    EXPECT_EQ(*history, events);
  }
};

// The keys under `prefix` (count only).
int64_t keys_under(EtcdClient& client, const std::string& prefix) {
  broker::EtcdRangeRequest count;
  count.key = prefix;
  count.range_end = broker::etcd_prefix_end(prefix);
  count.count_only = true;
  auto answer = client.range(count);
  EXPECT_TRUE(answer.is_ok()) << answer.status().to_string();
  return answer.is_ok() ? answer->count : -1;
}

TEST_F(EtcdStoreTest, FoldsKeepTheLogShortAndAReloadFindsEveryTaskAndEntry) {
  EtcdStoreOptions options = store_options(etcd_, "/fold");
  options.fold_records = 4;
  auto store = EtcdStore::open(options);
  ASSERT_TRUE(store.is_ok());
  EtcdClientOptions client_options;
  client_options.endpoints = etcd_.endpoints();
  EtcdClient client(client_options);
  const broker::EtcdLayout& layout = (*store)->layout();
  Expected expected;
  // 40 tasks, each submitted, then running, then completed, 10 per commit, the phases
  // overlapping as a broker's commits do.
  for (int round = 0; round < 6; ++round) {
    if (round < 4) {
      ASSERT_TRUE(expected.commit(**store, round * 10, 10, TaskState::Pending).is_ok());
    }
    if (round >= 1 && round < 5) {
      ASSERT_TRUE(expected.commit(**store, (round - 1) * 10, 10, TaskState::Running).is_ok());
    }
    if (round >= 2) {
      ASSERT_TRUE(expected.commit(**store, (round - 2) * 10, 10, TaskState::Completed).is_ok());
    }
    // The folder (a thread of its own) keeps the log under the threshold.
    ASSERT_TRUE((*store)->wait_folded(Millis(10000)));
    EXPECT_LT(keys_under(client, layout.log_prefix()), 4);
  }
  const auto& stats = (*store)->stats();
  EXPECT_EQ(stats.log_records, 12u);
  EXPECT_GE(stats.folds, 2u);
  EXPECT_EQ(stats.fold_failures, 0u);
  // A task changed several times between two folds is put once by the fold.
  EXPECT_LT(stats.fold_puts, 3u * 40u);
  EXPECT_GT(keys_under(client, layout.tasks_prefix()), 0);  // tasks folded before they ended
  EXPECT_GT(keys_under(client, layout.done_prefix()), 0);   // the others
  EXPECT_GT(keys_under(client, layout.history_prefix()), 0);
  std::printf(
      "[etcd store] 12 commits of 10 tasks: %llu folds, %llu fold puts, %lld log keys "
      "left\n",
      static_cast<unsigned long long>(stats.folds),
      static_cast<unsigned long long>(stats.fold_puts),
      static_cast<long long>(keys_under(client, layout.log_prefix())));

  auto reopened = open_store(etcd_, "/fold");
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->next_log_seq(), 13u);
  ASSERT_NO_FATAL_FAILURE(expected.check(*reopened));

  // A store that folds after every commit leaves no log at all: the next seq comes from
  // PREFIX/folded, and a reload still finds everything.
  options.fold_records = 1;
  auto eager = EtcdStore::open(options);
  ASSERT_TRUE(eager.is_ok());
  ASSERT_TRUE(expected.commit(**eager, 0, 40, TaskState::Failed).is_ok());
  ASSERT_TRUE((*eager)->wait_folded(Millis(10000)));
  EXPECT_EQ(keys_under(client, layout.log_prefix()), 0);
  auto after = open_store(etcd_, "/fold");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->next_log_seq(), 14u);
  ASSERT_NO_FATAL_FAILURE(expected.check(*after));
}

TEST_F(EtcdStoreTest, AFoldStoppedBeforeItsDeletionLosesNothingAndIsDoneAgain) {
  EtcdStoreOptions options = store_options(etcd_, "/crash");
  options.fold_records = 1000;  // no fold of its own
  auto store = EtcdStore::open(options);
  ASSERT_TRUE(store.is_ok());
  const broker::EtcdLayout& layout = (*store)->layout();
  Expected expected;
  ASSERT_TRUE(expected.commit(**store, 0, 20, TaskState::Pending).is_ok());
  ASSERT_TRUE(expected.commit(**store, 0, 10, TaskState::Running).is_ok());
  ASSERT_TRUE(expected.commit(**store, 0, 5, TaskState::Completed).is_ok());

  // A broker that died in the middle of a fold: it put the task keys and history chunk of
  // records 1..3, not the deletion.
  EtcdClientOptions client_options;
  client_options.endpoints = etcd_.endpoints();
  EtcdClient client(client_options);
  std::vector<std::pair<uint64_t, std::string>> log;
  ASSERT_TRUE(client
                  .range_all(layout.log_prefix(), broker::etcd_prefix_end(layout.log_prefix()),
                             [&](std::vector<broker::EtcdKeyValue>& page) {
                               for (auto& kv : page)
                                 log.emplace_back(*layout.parse_log_key(kv.key), kv.value);
                               return Status::ok();
                             })
                  .is_ok());
  ASSERT_EQ(log.size(), 3u);
  std::vector<broker::LogKeyValue> records;
  for (const auto& [seq, value] : log)
    records.push_back({seq, value});
  auto fold = broker::plan_fold(layout, records, broker::EtcdTxnLimits{});
  ASSERT_TRUE(fold.is_ok());
  for (const auto& txn : fold->puts)
    ASSERT_TRUE(client.txn(txn).is_ok());
  EXPECT_EQ(keys_under(client, layout.tasks_prefix()), 15);  // 5..19; 0..4 ended:
  EXPECT_EQ(keys_under(client, layout.done_prefix()), 1);    // in a done chunk
  // Meanwhile (or by the next leader) a newer change of some of those tasks.
  ASSERT_TRUE(expected.commit(**store, 5, 10, TaskState::Failed).is_ok());

  // A reload: the task keys of the fold, the log records they came from (skipped where a key is
  // as new) and the newer one; every history entry once.
  auto reopened = open_store(etcd_, "/crash");
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->next_log_seq(), 5u);
  ASSERT_NO_FATAL_FAILURE(expected.check(*reopened));

  // The next fold takes the whole log again, stale half-fold included, and finishes.
  options.fold_records = 2;
  auto next = EtcdStore::open(options);
  ASSERT_TRUE(next.is_ok());
  // Not before it commits (a standby, which never commits, never writes).
  ASSERT_TRUE((*next)->wait_folded(Millis(10000)));
  EXPECT_EQ(keys_under(client, layout.log_prefix()), 4);
  ASSERT_TRUE(expected.commit(**next, 30, 5, TaskState::Pending).is_ok());
  ASSERT_TRUE((*next)->wait_folded(Millis(10000)));
  EXPECT_EQ((*next)->stats().folds, 1u);
  EXPECT_EQ(keys_under(client, layout.log_prefix()), 0);
  auto last = open_store(etcd_, "/crash");
  ASSERT_TRUE(last);
  ASSERT_NO_FATAL_FAILURE(expected.check(*last));
}

TEST_F(EtcdStoreTest, RefusesAPrefixOfAnotherSchemaVersionNamingBoth) {
  EtcdClientOptions options;
  options.endpoints = etcd_.endpoints();
  EtcdClient client(options);
  ASSERT_TRUE(client.put("/newer/version", "3").is_ok());
  ASSERT_TRUE(client.put("/newer/tasks/x", "whatever").is_ok());
  auto newer = EtcdStore::open(store_options(etcd_, "/newer"));
  ASSERT_FALSE(newer.is_ok());
  EXPECT_EQ(newer.status().code(), ErrorCode::Internal);
  const std::string message = newer.status().message();
  EXPECT_NE(message.find("schema version 3"), std::string::npos) << message;
  EXPECT_NE(message.find("version 2"), std::string::npos) << message;
  EXPECT_NE(message.find("upgrade cube-broker"), std::string::npos) << message;
  // Nothing was changed.
  broker::EtcdRangeRequest get;
  get.key = "/newer/version";
  EXPECT_EQ(client.range(get)->kvs.at(0).value, "3");

  // A prefix of version 1 (a key per task and per history entry, before the log): refused,
  // naming both versions and what to do, and left as it is.
  ASSERT_TRUE(client.put("/v1/version", "1").is_ok());
  ASSERT_TRUE(client.put("/v1/tasks/x", "whatever").is_ok());
  ASSERT_TRUE(client.put("/v1/events/00000000000000000001/x", "whatever").is_ok());
  auto older = EtcdStore::open(store_options(etcd_, "/v1"));
  ASSERT_FALSE(older.is_ok());
  EXPECT_EQ(older.status().code(), ErrorCode::Internal);
  const std::string v1 = older.status().message();
  EXPECT_NE(v1.find("schema version 1 (written by an older cube-broker)"), std::string::npos) << v1;
  EXPECT_NE(v1.find("reads and writes version 2"), std::string::npos) << v1;
  get.key = "/v1/version";
  EXPECT_EQ(client.range(get)->kvs.at(0).value, "1");

  // Keys that Cube did not write, and no version: refused too, and left alone.
  ASSERT_TRUE(client.put("/theirs/config", "{}").is_ok());
  auto theirs = EtcdStore::open(store_options(etcd_, "/theirs"));
  ASSERT_FALSE(theirs.is_ok());
  EXPECT_NE(theirs.status().message().find("not a Cube store"), std::string::npos)
      << theirs.status().message();
  get.key = "/theirs/version";
  EXPECT_TRUE(client.range(get)->kvs.empty());

  // A fresh prefix gets this binary's version.
  ASSERT_TRUE(open_store(etcd_, "/fresh"));
  get.key = "/fresh/version";
  EXPECT_EQ(client.range(get)->kvs.at(0).value, std::to_string(EtcdStore::kSchemaVersion));
}

TEST_F(EtcdStoreTest, BrokersOpeningAFreshPrefixAtOnceAllAgreeOnItsVersion) {
  // Brokers of an HA set started together (at boot, say) open the same empty prefix at once:
  // one writes the version, and none may take that key, seen between its own two reads, for
  // a stranger's.
  for (int round = 0; round < 5; ++round) {
    const std::string prefix = "/together-" + std::to_string(round);
    constexpr int kBrokers = 6;
    std::vector<Status> opened(kBrokers);
    {
      std::vector<std::jthread> brokers;
      for (int i = 0; i < kBrokers; ++i) {
        brokers.emplace_back([&, i] {
          auto store = EtcdStore::open(store_options(etcd_, prefix));
          opened[i] = store.is_ok() ? Status::ok() : store.status();
        });
      }
    }
    for (int i = 0; i < kBrokers; ++i)
      EXPECT_TRUE(opened[i].is_ok()) << "round " << round << ": " << opened[i].to_string();
  }
}

TEST_F(EtcdStoreTest, LeasesAreGrantedKeptAliveAndRevoked) {
  EtcdClientOptions options;
  options.endpoints = etcd_.endpoints();
  EtcdClient client(options);
  auto lease = client.lease_grant(5);
  ASSERT_TRUE(lease.is_ok()) << lease.status().to_string();
  EXPECT_GT(lease->id, 0);
  EXPECT_EQ(lease->ttl_seconds, 5);
  ASSERT_TRUE(client.put("/leased", "x", lease->id).is_ok());
  auto renewed = client.lease_keepalive(lease->id);
  ASSERT_TRUE(renewed.is_ok()) << renewed.status().to_string();
  EXPECT_EQ(renewed->id, lease->id);
  EXPECT_EQ(renewed->ttl_seconds, 5);
  ASSERT_TRUE(client.lease_revoke(lease->id).is_ok());
  broker::EtcdRangeRequest get;
  get.key = "/leased";
  EXPECT_TRUE(client.range(get)->kvs.empty());  // revoking deleted the key
  auto gone = client.lease_keepalive(lease->id);
  ASSERT_FALSE(gone.is_ok());
  EXPECT_TRUE(gone.status().is_not_found()) << gone.status().to_string();
  EXPECT_TRUE(client.lease_revoke(lease->id).is_not_found());
}

TEST(EtcdClient, UnreachableEndpointsGiveUnavailableNamingThemWithinTheBound) {
  // Two ports nothing listens on, and one that accepts connections but never answers.
  std::string refused_a = "127.0.0.1:" + std::to_string(free_loopback_port());
  std::string refused_b = "127.0.0.1:" + std::to_string(free_loopback_port());
  UniqueFd silent(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(silent.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(silent.get(), 16), 0);
  ASSERT_EQ(::getsockname(silent.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string silent_endpoint = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  EtcdStoreOptions options;
  options.client.endpoints = {refused_a, refused_b};
  SteadyTime start = system_clock().now();
  auto store = EtcdStore::open(options);
  Millis took = since(start);
  ASSERT_FALSE(store.is_ok());
  EXPECT_TRUE(store.status().is_unavailable()) << store.status().to_string();
  const std::string message = store.status().message();
  EXPECT_NE(message.find("etcd unreachable at " + refused_a), std::string::npos) << message;
  EXPECT_NE(message.find(refused_b), std::string::npos) << message;
  EXPECT_LT(took, Millis(1000));  // refused at once

  // A member that accepts and never answers costs the request timeout, then Unavailable.
  options.client.endpoints = {silent_endpoint};
  options.client.request_timeout = Millis(300);
  start = system_clock().now();
  auto hung = EtcdStore::open(options);
  took = since(start);
  ASSERT_FALSE(hung.is_ok());
  EXPECT_TRUE(hung.status().is_unavailable()) << hung.status().to_string();
  EXPECT_NE(hung.status().message().find(silent_endpoint), std::string::npos);
  EXPECT_GE(took, Millis(250));
  EXPECT_LT(took, Millis(2000));
}

TEST(EtcdClient, ACallMovesOnToTheNextMemberOfTheCluster) {
  ASSERT_NO_FATAL_FAILURE(require_etcd());
  if (IsSkipped())
    return;
  EtcdCluster etcd(3);
  ASSERT_NO_FATAL_FAILURE(etcd.start());
  // A dead endpoint first: the client goes on to the members.
  EtcdClientOptions options;
  options.endpoints = {"127.0.0.1:" + std::to_string(free_loopback_port())};
  options.endpoints.insert(options.endpoints.end(), etcd.endpoints().begin(),
                           etcd.endpoints().end());
  EtcdClient client(options);
  ASSERT_TRUE(client.put("/k", "1").is_ok()) << etcd.logs();
  // The member that answered dies: the next call goes to another one, and the value is there.
  etcd.kill_member(0);
  broker::EtcdRangeRequest get;
  get.key = "/k";
  bool served = eventually([&] { return client.range(get).is_ok(); }, 10s);
  ASSERT_TRUE(served) << etcd.logs();
  EXPECT_EQ(client.range(get)->kvs.at(0).value, "1");
  ASSERT_TRUE(client.put("/k", "2").is_ok());
  EXPECT_EQ(client.range(get)->kvs.at(0).value, "2");
}

// cube-broker on the etcd store, SIGKILLed in the middle of a stream of submits and restarted:
// every acknowledged task is there, with its history.
TEST_F(EtcdStoreTest, BrokerKilledMidStreamKeepsEveryAcknowledgedTask) {
  Cluster c;
  const std::vector<std::string> store_args = {"--store", etcd_.store_spec("/broker")};
  // A broker on etcd is a standby, refusing submits, until it has won the election and read the
  // store; the stream below stops each thread at its first refused submit, so it starts only
  // once the broker leads (it once started in that window and every thread stopped at once).
  auto leads = [&c] {
    Client client = client_for(c, Millis(5000), 3);
    return eventually(
        [&] {
          auto status = client.status();
          return status.is_ok() && status->role == "leader";
        },
        15s, Millis(100));
  };
  c.start_broker(store_args);
  ASSERT_TRUE(leads()) << c.logs();
  int port = c.port();
  KilledStream stream = submit_stream_and_kill_broker(c, /*threads=*/4, /*kill_after=*/300);
  ASSERT_TRUE(stream.reached_kill_point) << c.logs();

  c.start_broker(store_args, port);
  // The killed broker's leader lease outlives it by up to a TTL (docs/ha.md): until it
  // expires, the restarted broker is a standby.
  ASSERT_TRUE(leads()) << c.logs();
  Client client = client_for(c, Millis(5000), 3);
  auto listed = check_listed(client, stream.acknowledged);
  ASSERT_TRUE(listed.is_ok()) << listed.status().to_string();
  std::printf(
      "[etcd store] acknowledged %zu submits before kill -9; %zu stored after restart; "
      "lost %zu\n",
      stream.acknowledged.size(), listed->listed, listed->missing);
  EXPECT_EQ(listed->missing, 0u);
  EXPECT_GE(listed->listed, stream.acknowledged.size());
  auto details = client.get(stream.acknowledged.front());
  ASSERT_TRUE(details.is_ok());
  ASSERT_FALSE(details->events.empty());
  EXPECT_EQ(details->events.front().state, TaskState::Pending);
}

TEST(EtcdStoreBroker, ExitsWithOneLineNamingTheEndpointsWhenEtcdIsUnreachable) {
  std::string a = "127.0.0.1:" + std::to_string(free_loopback_port());
  std::string b = "127.0.0.1:" + std::to_string(free_loopback_port());
  TempDir dir("cube-etcd-broker");
  auto result = run_command({binary("cube-broker"), "--bind", "127.0.0.1:0", "--data-dir",
                             dir.str(), "--store", "etcd://" + a + "," + b + "/cube"},
                            15s);
  ASSERT_TRUE(result.status.exited()) << result.err;
  EXPECT_EQ(result.status.code, 1) << result.out << result.err;
  EXPECT_LT(result.elapsed, Millis(5000));
  std::string output = result.out + result.err;
  // One error line (info lines before it, such as the open-file limit, are not errors).
  std::istringstream lines(output);
  int error_lines = 0;
  for (std::string line; std::getline(lines, line);)
    error_lines += line.find(" error ") != std::string::npos;
  EXPECT_EQ(error_lines, 1) << output;
  EXPECT_NE(output.find("cannot open the store"), std::string::npos) << output;
  EXPECT_NE(output.find("etcd unreachable at " + a), std::string::npos) << output;
  EXPECT_NE(output.find(b), std::string::npos) << output;
}

}  // namespace
}  // namespace cube::test
