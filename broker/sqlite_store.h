// SqliteStore: the broker's durable Store (broker/store.h) in one SQLite file, the default
// (`--store sqlite`, file cube.db in the data dir).
//
// Durability. The database runs in WAL mode. With synchronous=NORMAL (the default) a commit
// appends to the write-ahead log without fsync: it survives the broker process dying at any
// point (kill -9, a crash: the OS still has the written pages) but the last commits before a
// power loss or kernel panic may be lost, never half-applied. synchronous=FULL (`--store
// sqlite:PATH?sync=full`) fsyncs the log on every commit and survives power loss too, at a cost
// of one fsync per group commit (16,000 vs 2,900 single-row commits/s: docs/durability.md).
//
// Schema (versioned; table schema_version holds the versions applied, migrations run in order
// at open, each in its own transaction):
//   1  tasks(id TEXT PRIMARY KEY, state INTEGER, node_id TEXT, updated_ms INTEGER, body BLOB)
//      with an index on state; body is the task as its MessagePack map (protocol/codec.h
//      encode_task; written with encode_task_compact, which decode_task reads the same), so
//      the stored form follows the wire's compatibility rules.
//      task_events(seq INTEGER PRIMARY KEY, task_id TEXT, event BLOB): history entries in
//      append order (encode_task_event).
//   2  services(name TEXT PRIMARY KEY, body BLOB): each service as its MessagePack map
//      (protocol/codec.h encode_service).
//   3  history_records(seq INTEGER PRIMARY KEY, body BLOB): the history entries of one group
//      commit per row, in append order: a log record holding no tasks (broker/etcd_values.h;
//      entries encode_task_event_compact, deflated when that is smaller). task_events keeps
//      what was written before and is read first; nothing is written to it any more. The index
//      on tasks.state is dropped (no query used it, every upsert updated it).
// A file with a schema newer than this binary knows is refused rather than misread.
//
// One broker per file: open() takes an exclusive flock on "<path>.lock" (released by the kernel
// when the process dies, so kill -9 leaves no stale lock).
//
// Thread-safety: as Store; one thread at a time. Every call blocks on disk I/O.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "broker/sqlite_db.h"
#include "broker/store.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace cube::broker {

struct SqliteStoreOptions {
  std::string path;  // the database file; created if missing (its directory must exist)
  // FULL: fsync on every commit (survives power loss). NORMAL: survives process crashes only.
  bool sync_full = false;
  // How long a write waits when another connection holds the write lock (only a tool such as
  // the sqlite3 shell can, since the lock file keeps other brokers out).
  Millis busy_timeout{5000};
};

class SqliteStore final : public Store {
 public:
  // The newest schema version this binary writes.
  static constexpr int kSchemaVersion = 3;

  // Opens or creates the store at options.path: takes the lock, sets WAL, synchronous and the
  // busy timeout, applies missing migrations, prepares the statements.
  //   Unavailable  the lock is held by another process ("another cube-broker is using ..."),
  //                the file or its lock cannot be created or opened (missing directory,
  //                permissions), or the database is busy.
  //   Internal     the file is not a SQLite database, is corrupt, or was written by a newer
  //                cube-broker (schema version above kSchemaVersion); nothing is changed.
  // Blocks for the open and the migrations.
  static Result<std::unique_ptr<SqliteStore>> open(SqliteStoreOptions options);

  // One transaction (BEGIN IMMEDIATE ... COMMIT); on any failure ROLLBACK, and the Status
  // (Unavailable for busy/full/I/O errors, Internal otherwise) with nothing changed.
  Status commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) override;
  // Internal naming the row when a stored task cannot be decoded.
  Result<std::vector<Task>> load_all() override;
  Result<std::vector<TaskEventRecord>> load_events() override;
  // One transaction, as commit().
  Status commit_services(std::span<const Service> upserts,
                         std::span<const std::string> removed) override;
  // Internal naming the service when a stored one cannot be decoded.
  Result<std::vector<Service>> load_services() override;

  // The schema version of the open file (kSchemaVersion after open()).
  int schema_version() const { return schema_version_; }
  const std::string& path() const { return options_.path; }

  // Called inside commit() after each row is written (count so far). A non-OK Status aborts the
  // commit as a failed write would (rollback, that Status returned); a hook may also _exit() to
  // simulate a crash in the middle of a transaction. Tests only.
  using RowHook = std::function<Status(size_t rows_written)>;
  void set_row_hook_for_test(RowHook hook) { row_hook_ = std::move(hook); }

  // Only open() can make one (the key is private); public so that make_unique can call it.
  struct Key {
   private:
    friend class SqliteStore;
    Key() = default;
  };
  SqliteStore(Key, SqliteStoreOptions options, UniqueFd lock, SqliteDb db);

 private:
  Status configure();
  Status migrate();
  Status prepare_statements();
  Status write_batch(std::span<const Task> upserts, std::span<const TaskEventRecord> events);
  // BEGIN IMMEDIATE, `write`, COMMIT; on any failure ROLLBACK and the Status, naming the file.
  Status in_transaction(const std::function<Status()>& write);
  // ROLLBACK after a failed write; returns `failure` (with the rollback's error appended if that
  // failed too).
  Status roll_back(Status failure);
  // Runs the query `sql` and calls `on_row` for each row, stopping at the first error: the
  // row's, or the read's ("cannot read WHAT from PATH").
  Status for_each_row(std::string_view sql, std::string_view what,
                      const std::function<Status(SqliteStmt&)>& on_row);
  // Every row of `sql`, whose columns are a name and a blob, decoded: Internal naming the row
  // ("NOUN name") when one cannot be.
  template <typename T>
  Result<std::vector<T>> load_blobs(std::string_view sql, std::string_view what,
                                    std::string_view noun, Status (*decode)(std::string_view, T&));
  // `decoded` when OK, else Internal "the store PATH is corrupt: WHERE: why".
  Status corrupt_unless(const Status& decoded, const std::string& where) const;

  SqliteStoreOptions options_;
  UniqueFd lock_;  // flock held for the life of the store
  SqliteDb db_;
  int schema_version_ = 0;
  // Prepared once, reused by every commit. Declared after db_ so they are finalized first.
  SqliteStmt begin_;
  SqliteStmt commit_;
  SqliteStmt rollback_;
  SqliteStmt upsert_task_;
  SqliteStmt insert_history_;
  RowHook row_hook_;
};

}  // namespace cube::broker
