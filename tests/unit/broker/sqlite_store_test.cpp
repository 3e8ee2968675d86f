#include "broker/sqlite_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "broker/sqlite_db.h"
#include "protocol/codec.h"
#include "tests/support/temp_dir.h"

namespace cube::broker {
namespace {

Task sample_task(const std::string& id, TaskState state = TaskState::Pending) {
  Task t;
  t.id = id;
  t.name = "web-" + id;
  t.image = "nginx:1.25";
  t.cmd = {"sh", "-c", "exit 1"};
  t.env = {"A=1"};
  t.cpu = 0.5;
  t.memory_bytes = 64 << 20;
  t.exposed_ports = {"80/tcp"};
  t.restart_policy = "on-failure";
  t.driver = "exec";
  t.labels = {{"team", "a"}};
  t.state = state;
  t.attempt = 2;
  t.restart_count = 1;
  t.node_id = "agent-1";
  t.node = "n1";
  t.reason = "exit code 1";
  t.exit_code = 1;
  t.port_bindings["80/tcp"] = {{"0.0.0.0", "32768"}};
  t.created_ms = 1700000000000;
  t.updated_ms = 1700000000500;
  return t;
}

TaskEventRecord event(const std::string& id, TaskState state, int64_t ts) {
  return {id, TaskEvent{state, ts, "r" + std::to_string(ts), "n1"}};
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteStore> open_store() {
    auto store = SqliteStore::open(SqliteStoreOptions{path_});
    EXPECT_TRUE(store.is_ok()) << store.status().to_string();
    return store.is_ok() ? std::move(*store) : nullptr;
  }

  // Creates the store's file (every migration applied) and runs `sql` on it behind the store's
  // back, as a person with the sqlite3 shell (or a newer broker, or a bad disk) might.
  void tamper(const std::string& sql) {
    ASSERT_NE(open_store(), nullptr);
    auto db = SqliteDb::open(path_, Millis(1000));
    ASSERT_TRUE(db.is_ok());
    ASSERT_TRUE(db->exec(sql).is_ok()) << sql;
  }

  test::TempDir dir_{"cube-sqlite"};
  std::string path_ = (dir_ / "cube.db").string();
};

TEST_F(SqliteStoreTest, AnEmptyFileIsMigratedAndReopensWithItsData) {
  {
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->schema_version(), SqliteStore::kSchemaVersion);
    EXPECT_TRUE(store->load_all()->empty());
    EXPECT_TRUE(store->load_events()->empty());
    std::vector<Task> tasks = {sample_task("t1")};
    std::vector<TaskEventRecord> events = {event("t1", TaskState::Pending, 1)};
    ASSERT_TRUE(store->commit(tasks, events).is_ok());
  }
  auto store = open_store();  // migrations are not run twice
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version(), SqliteStore::kSchemaVersion);
  auto tasks = store->load_all();
  ASSERT_TRUE(tasks.is_ok());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ(tasks->at(0), sample_task("t1"));

  // WAL mode and one schema_version row per migration.
  auto db = SqliteDb::open(path_, Millis(1000));
  ASSERT_TRUE(db.is_ok());
  EXPECT_EQ(*db->query_text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(*db->query_text("SELECT COUNT(*) FROM schema_version"),
            std::to_string(SqliteStore::kSchemaVersion));
}

TEST_F(SqliteStoreTest, RoundTripKeepsEveryFieldAndTheHistoryOrder) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  Task full = sample_task("a");
  full.exit_code.reset();  // nil survives too
  Task other = sample_task("b", TaskState::Running);
  std::vector<TaskEventRecord> events = {
      event("b", TaskState::Pending, 1), event("a", TaskState::Pending, 2),
      event("b", TaskState::Scheduled, 3), event("b", TaskState::Running, 4)};
  ASSERT_TRUE(store->commit(std::vector<Task>{full, other}, events).is_ok());
  auto tasks = store->load_all();
  ASSERT_TRUE(tasks.is_ok());
  ASSERT_EQ(tasks->size(), 2u);
  std::map<std::string, Task> by_id;
  for (auto& t : *tasks)
    by_id[t.id] = t;
  EXPECT_EQ(by_id.at("a"), full);
  EXPECT_EQ(by_id.at("b"), other);
  auto loaded = store->load_events();
  ASSERT_TRUE(loaded.is_ok());
  EXPECT_EQ(*loaded, events);
}

TEST_F(SqliteStoreTest, UpsertReplacesTheTaskInsteadOfDuplicatingIt) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  Task t = sample_task("same", TaskState::Pending);
  ASSERT_TRUE(store->commit(std::vector<Task>{t}, {}).is_ok());
  t.state = TaskState::Running;
  t.reason = "";
  ASSERT_TRUE(store->commit(std::vector<Task>{t}, {}).is_ok());
  ASSERT_TRUE(store->commit(std::vector<Task>{t}, {}).is_ok());  // the same again
  auto tasks = store->load_all();
  ASSERT_TRUE(tasks.is_ok());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ(tasks->at(0).state, TaskState::Running);
  // The indexed column follows the blob.
  auto db = SqliteDb::open(path_, Millis(1000));
  ASSERT_TRUE(db.is_ok());
  EXPECT_EQ(*db->query_text("SELECT state FROM tasks WHERE id = 'same'"), "2");
}

TEST_F(SqliteStoreTest, AFailedWriteRollsTheWholeBatchBack) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->commit(std::vector<Task>{sample_task("kept")}, {}).is_ok());
  store->set_row_hook_for_test([](size_t rows) {
    return rows == 3 ? Status::unavailable("disk full (injected)") : Status::ok();
  });
  std::vector<Task> batch = {sample_task("n1"), sample_task("n2"), sample_task("n3")};
  Task changed = sample_task("kept", TaskState::Failed);
  batch.push_back(changed);
  Status s = store->commit(batch, std::vector<TaskEventRecord>{event("n1", TaskState::Pending, 1)});
  EXPECT_TRUE(s.is_unavailable()) << s.to_string();
  EXPECT_NE(s.message().find("disk full"), std::string::npos) << s.message();
  auto tasks = store->load_all();
  ASSERT_TRUE(tasks.is_ok());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ(tasks->at(0).state, TaskState::Pending);
  EXPECT_TRUE(store->load_events()->empty());

  // The store still works afterwards: the same batch goes through.
  store->set_row_hook_for_test(nullptr);
  ASSERT_TRUE(store->commit(batch, std::vector<TaskEventRecord>{event("n1", TaskState::Pending, 1)})
                  .is_ok());
  EXPECT_EQ(store->load_all()->size(), 4u);
}

// A child process starts a commit of 8,000 tasks with their history and dies (_exit, like
// kill -9: no destructor, no rollback) after writing every task row, before the history's. The
// batch is larger than SQLite's page cache (2 MiB), so uncommitted pages have already spilled into
// the WAL file when the process dies: reopening must still see the file as it was before the
// transaction, never half a batch.
TEST_F(SqliteStoreTest, ABatchTornByACrashLeavesTheStoreConsistent) {
  {
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store
                    ->commit(std::vector<Task>{sample_task("before")},
                             std::vector<TaskEventRecord>{event("before", TaskState::Pending, 1)})
                    .is_ok());
  }
  std::vector<Task> batch;
  std::vector<TaskEventRecord> events;
  constexpr int kRows = 8000;
  for (int i = 0; i < kRows; ++i) {
    std::string id = "torn-" + std::to_string(i);
    batch.push_back(sample_task(id));
    events.push_back(event(id, TaskState::Pending, i));
  }
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only async-signal-safe-ish work from here: no gtest assertions, exit codes only.
    auto store = SqliteStore::open(SqliteStoreOptions{path_});
    if (!store.is_ok())
      ::_exit(3);
    (*store)->set_row_hook_for_test([](size_t rows) -> Status {
      if (rows == 8000)
        ::_exit(42);  // every task written, the history not, the transaction still open
      return Status::ok();
    });
    (void)(*store)->commit(batch, events);
    ::_exit(4);  // the hook should have ended the process
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 42) << "the child did not crash mid-transaction";
  auto wal_bytes = std::filesystem::file_size(path_ + "-wal");
  EXPECT_GT(wal_bytes, 1u << 20) << "the torn transaction should have spilled into the WAL";

  auto store = open_store();  // the lock died with the child
  ASSERT_NE(store, nullptr);
  auto tasks = store->load_all();
  ASSERT_TRUE(tasks.is_ok());
  ASSERT_EQ(tasks->size(), 1u) << "a torn batch must leave nothing behind";
  EXPECT_EQ(tasks->at(0).id, "before");
  EXPECT_EQ(store->load_events()->size(), 1u);

  // And a complete batch after the crash is stored whole.
  ASSERT_TRUE(store->commit(batch, events).is_ok());
  EXPECT_EQ(store->load_all()->size(), kRows + 1u);
  EXPECT_EQ(store->load_events()->size(), kRows + 1u);
}

TEST_F(SqliteStoreTest, ASecondBrokerOnTheSameFileIsRefused) {
  auto first = open_store();
  ASSERT_NE(first, nullptr);
  auto second = SqliteStore::open(SqliteStoreOptions{path_});
  ASSERT_FALSE(second.is_ok());
  EXPECT_TRUE(second.status().is_unavailable());
  EXPECT_NE(second.status().message().find("another cube-broker"), std::string::npos)
      << second.status().message();
  first.reset();
  EXPECT_TRUE(SqliteStore::open(SqliteStoreOptions{path_}).is_ok());  // the lock went with it
}

TEST_F(SqliteStoreTest, ANewerSchemaIsRefusedAndLeftAlone) {
  tamper("INSERT INTO schema_version (version) VALUES (99)");
  auto store = SqliteStore::open(SqliteStoreOptions{path_});
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), ErrorCode::Internal);
  EXPECT_NE(store.status().message().find("newer cube-broker (schema version 99"),
            std::string::npos)
      << store.status().message();
}

TEST_F(SqliteStoreTest, AFileThatIsNotADatabaseIsRefused) {
  {
    std::ofstream out(path_);
    out << "this is not a database, just text that happens to be long enough to have a header "
           "that SQLite will reject when it reads the first page of the file";
  }
  auto store = SqliteStore::open(SqliteStoreOptions{path_});
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), ErrorCode::Internal) << store.status().to_string();
  EXPECT_NE(store.status().message().find(path_), std::string::npos) << store.status().message();
}

TEST_F(SqliteStoreTest, AMissingDirectoryIsUnavailable) {
  auto store = SqliteStore::open(SqliteStoreOptions{(dir_ / "no/such/dir/cube.db").string()});
  ASSERT_FALSE(store.is_ok());
  EXPECT_TRUE(store.status().is_unavailable()) << store.status().to_string();
}

TEST_F(SqliteStoreTest, ACorruptRowIsReportedWithItsIdOrNumber) {
  tamper(
      "INSERT INTO tasks (id, state, node_id, updated_ms, body) VALUES ('bad', 0, '', 0, x'c1');"
      "INSERT INTO history_records (seq, body) VALUES (7, x'01ff')");
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  auto tasks = store->load_all();
  ASSERT_FALSE(tasks.is_ok());
  EXPECT_EQ(tasks.status().code(), ErrorCode::Internal);
  EXPECT_NE(tasks.status().message().find("task bad"), std::string::npos)
      << tasks.status().message();
  auto events = store->load_events();
  ASSERT_FALSE(events.is_ok());
  EXPECT_EQ(events.status().code(), ErrorCode::Internal);
  EXPECT_NE(events.status().message().find("history record 7"), std::string::npos)
      << events.status().message();
}

// A file of schema version 2 (one history row per entry, written by an older cube-broker, here
// by hand with that version's tables) keeps its history: the old rows come first, then what
// the new version appends as one record per commit.
TEST_F(SqliteStoreTest, AVersion2FileKeepsItsHistoryAheadOfTheNewRecords) {
  {
    auto db = SqliteDb::open(path_, Millis(1000));
    ASSERT_TRUE(db.is_ok());
    ASSERT_TRUE(db->exec("CREATE TABLE schema_version (version INTEGER PRIMARY KEY);"
                         "INSERT INTO schema_version (version) VALUES (1), (2);"
                         "CREATE TABLE tasks (id TEXT PRIMARY KEY, state INTEGER NOT NULL,"
                         "  node_id TEXT NOT NULL DEFAULT '', updated_ms INTEGER NOT NULL,"
                         "  body BLOB NOT NULL);"
                         "CREATE INDEX tasks_by_state ON tasks(state);"
                         "CREATE TABLE task_events (seq INTEGER PRIMARY KEY,"
                         "  task_id TEXT NOT NULL, event BLOB NOT NULL);"
                         "CREATE TABLE services (name TEXT PRIMARY KEY, body BLOB NOT NULL);")
                    .is_ok());
    auto insert = db->prepare("INSERT INTO task_events (task_id, event) VALUES (?1, ?2)");
    ASSERT_TRUE(insert.is_ok());
    for (const auto& [id, e] :
         {event("old", TaskState::Pending, 1), event("old", TaskState::Scheduled, 2)}) {
      ASSERT_TRUE(insert->bind_text(1, id).is_ok());
      ASSERT_TRUE(insert->bind_blob(2, protocol::encode_task_event(e)).is_ok());
      ASSERT_TRUE(insert->step().is_ok());
      insert->reset();
    }
  }
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version(), SqliteStore::kSchemaVersion);
  std::vector<TaskEventRecord> first = {event("old", TaskState::Running, 3),
                                        event("new", TaskState::Pending, 4)};
  std::vector<TaskEventRecord> second = {event("new", TaskState::Scheduled, 5)};
  ASSERT_TRUE(store->commit(std::vector<Task>{sample_task("new")}, first).is_ok());
  ASSERT_TRUE(store->commit({}, second).is_ok());
  auto loaded = store->load_events();
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  std::vector<TaskEventRecord> want = {event("old", TaskState::Pending, 1),
                                       event("old", TaskState::Scheduled, 2), first[0], first[1],
                                       second[0]};
  EXPECT_EQ(*loaded, want);

  auto db = SqliteDb::open(path_, Millis(1000));
  ASSERT_TRUE(db.is_ok());
  EXPECT_EQ(*db->query_text("SELECT COUNT(*) FROM history_records"), "2") << "one per commit";
  EXPECT_EQ(*db->query_text("SELECT COUNT(*) FROM sqlite_master WHERE name = 'tasks_by_state'"),
            "0");
}

TEST_F(SqliteStoreTest, SyncFullOpensAndCommits) {
  auto store = SqliteStore::open(SqliteStoreOptions{path_, /*sync_full=*/true});
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  ASSERT_TRUE((*store)->commit(std::vector<Task>{sample_task("f")}, {}).is_ok());
  EXPECT_EQ((*store)->load_all()->size(), 1u);
}

}  // namespace
}  // namespace cube::broker
