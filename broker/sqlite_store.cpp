#include "broker/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "broker/etcd_values.h"
#include "protocol/codec.h"

namespace cube::broker {
namespace {

struct Migration {
  int version;
  const char* sql;
};

// Append only: a released migration is never edited, a change is a new version.
constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE tasks ("
     "  id TEXT PRIMARY KEY,"
     "  state INTEGER NOT NULL,"
     "  node_id TEXT NOT NULL DEFAULT '',"
     "  updated_ms INTEGER NOT NULL,"
     "  body BLOB NOT NULL);"
     "CREATE INDEX tasks_by_state ON tasks(state);"
     "CREATE TABLE task_events ("
     "  seq INTEGER PRIMARY KEY,"
     "  task_id TEXT NOT NULL,"
     "  event BLOB NOT NULL);"},
    {2,
     "CREATE TABLE services ("
     "  name TEXT PRIMARY KEY,"
     "  body BLOB NOT NULL);"},
    // One row per group commit for the history instead of one per entry: a task's entries were
    // four of the seven rows it cost (cube-bench --store sqlite --batch 64). The state index
    // served no query of the broker's and was updated by every task upsert.
    {3,
     "CREATE TABLE history_records ("
     "  seq INTEGER PRIMARY KEY,"
     "  body BLOB NOT NULL);"
     "DROP INDEX IF EXISTS tasks_by_state;"},
};

Result<UniqueFd> take_lock(const std::string& db_path) {
  std::string path = db_path + ".lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid())
    return Status::unavailable("cannot open the store lock " + path + ": " + std::strerror(errno));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::unavailable("another cube-broker is using the store " + db_path + " (" + path +
                                 " is locked); stop it or pass another --data-dir");
    }
    return Status::unavailable("cannot lock " + path + ": " + std::strerror(errno));
  }
  return fd;
}

}  // namespace

SqliteStore::SqliteStore(Key, SqliteStoreOptions options, UniqueFd lock, SqliteDb db)
    : options_(std::move(options)), lock_(std::move(lock)), db_(std::move(db)) {}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(SqliteStoreOptions options) {
  auto lock = take_lock(options.path);
  if (!lock.is_ok())
    return lock.status();
  auto db = SqliteDb::open(options.path, options.busy_timeout);
  if (!db.is_ok())
    return db.status();
  auto store =
      std::make_unique<SqliteStore>(Key(), std::move(options), std::move(*lock), std::move(*db));
  std::string context = "store " + store->options_.path;
  if (Status s = store->configure(); !s.is_ok())
    return s.with_context(context);
  if (Status s = store->migrate(); !s.is_ok())
    return s.with_context(context);
  if (Status s = store->prepare_statements(); !s.is_ok())
    return s.with_context(context);
  return store;
}

Status SqliteStore::configure() {
  // journal_mode answers with the mode now in force; anything but "wal" (a read-only medium, an
  // in-memory path) would silently lose the crash guarantees documented above.
  auto mode = db_.query_text("PRAGMA journal_mode=WAL");
  if (!mode.is_ok())
    return mode.status();
  if (*mode != "wal")
    return Status::unavailable("cannot switch to WAL mode (journal_mode is " + *mode + ")");
  // A checkpoint (the log copied back into the file, both fsynced) every 64 MiB of log, not
  // SQLite's 4 MiB: a busy broker's group commit rewrites megabytes of task pages, and a
  // checkpoint after nearly every commit cost about a sixth of the throughput (cube-bench
  // --store sqlite --batch 64; docs/durability.md).
  CUBE_RETURN_IF_ERROR(db_.exec("PRAGMA wal_autocheckpoint=16384"));
  return db_.exec(options_.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

Status SqliteStore::migrate() {
  CUBE_RETURN_IF_ERROR(
      db_.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)"));
  auto current = db_.query_text("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  if (!current.is_ok())
    return current.status();
  schema_version_ = std::stoi(*current);
  if (schema_version_ > kSchemaVersion) {
    return Status::internal("written by a newer cube-broker (schema version " +
                            std::to_string(schema_version_) + "; this one knows up to " +
                            std::to_string(kSchemaVersion) + "); upgrade cube-broker");
  }
  for (const auto& migration : kMigrations) {
    if (migration.version <= schema_version_)
      continue;
    CUBE_RETURN_IF_ERROR(db_.exec("BEGIN IMMEDIATE"));
    Status s = db_.exec(migration.sql);
    if (s.is_ok()) {
      s = db_.exec("INSERT INTO schema_version (version) VALUES (" +
                   std::to_string(migration.version) + ")");
    }
    if (s.is_ok())
      s = db_.exec("COMMIT");
    if (!s.is_ok()) {
      (void)db_.exec("ROLLBACK");
      return s.with_context("migration to schema version " + std::to_string(migration.version));
    }
    schema_version_ = migration.version;
  }
  return Status::ok();
}

Status SqliteStore::prepare_statements() {
  auto prepare = [&](SqliteStmt& into, std::string_view sql) -> Status {
    auto stmt = db_.prepare(sql);
    if (!stmt.is_ok())
      return stmt.status();
    into = std::move(*stmt);
    return Status::ok();
  };
  // IMMEDIATE takes the write lock at BEGIN, so a busy database fails (after the busy
  // timeout) before anything is written rather than at COMMIT.
  CUBE_RETURN_IF_ERROR(prepare(begin_, "BEGIN IMMEDIATE"));
  CUBE_RETURN_IF_ERROR(prepare(commit_, "COMMIT"));
  CUBE_RETURN_IF_ERROR(prepare(rollback_, "ROLLBACK"));
  CUBE_RETURN_IF_ERROR(prepare(upsert_task_,
                               "INSERT INTO tasks (id, state, node_id, updated_ms, body) "
                               "VALUES (?1, ?2, ?3, ?4, ?5) "
                               "ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
                               "node_id = excluded.node_id, updated_ms = excluded.updated_ms, "
                               "body = excluded.body"));
  CUBE_RETURN_IF_ERROR(prepare(insert_history_, "INSERT INTO history_records (body) VALUES (?1)"));
  return Status::ok();
}

Status SqliteStore::commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) {
  if (upserts.empty() && events.empty())
    return Status::ok();
  return in_transaction([&] { return write_batch(upserts, events); });
}

Status SqliteStore::in_transaction(const std::function<Status()>& write) {
  auto begun = begin_.step();
  begin_.reset();
  if (!begun.is_ok())
    return begun.status().with_context("cannot start a transaction in " + options_.path);
  if (Status s = write(); !s.is_ok())
    return roll_back(s.with_context("cannot write to " + options_.path));
  auto committed = commit_.step();
  commit_.reset();
  if (!committed.is_ok())
    return roll_back(committed.status().with_context("cannot commit to " + options_.path));
  return Status::ok();
}

Status SqliteStore::commit_services(std::span<const Service> upserts,
                                    std::span<const std::string> removed) {
  if (upserts.empty() && removed.empty())
    return Status::ok();
  // Rare (a user's service change), so the statements are prepared per call.
  auto upsert = db_.prepare(
      "INSERT INTO services (name, body) VALUES (?1, ?2) "
      "ON CONFLICT (name) DO UPDATE SET body = excluded.body");
  if (!upsert.is_ok())
    return upsert.status();
  auto erase = db_.prepare("DELETE FROM services WHERE name = ?1");
  if (!erase.is_ok())
    return erase.status();
  return in_transaction([&]() -> Status {
    for (const auto& service : upserts) {
      CUBE_RETURN_IF_ERROR(upsert->bind_text(1, service.name));
      CUBE_RETURN_IF_ERROR(upsert->bind_blob(2, protocol::encode_service(service)));
      auto done = upsert->step();
      upsert->reset();
      if (!done.is_ok())
        return done.status().with_context("service " + service.name);
    }
    for (const auto& name : removed) {
      CUBE_RETURN_IF_ERROR(erase->bind_text(1, name));
      auto done = erase->step();
      erase->reset();
      if (!done.is_ok())
        return done.status().with_context("removing service " + name);
    }
    return Status::ok();
  });
}

Result<std::vector<Service>> SqliteStore::load_services() {
  return load_blobs<Service>("SELECT name, body FROM services", "services", "service",
                             protocol::decode_service);
}

template <typename T>
Result<std::vector<T>> SqliteStore::load_blobs(std::string_view sql, std::string_view what,
                                               std::string_view noun,
                                               Status (*decode)(std::string_view, T&)) {
  std::vector<T> out;
  CUBE_RETURN_IF_ERROR(for_each_row(sql, what, [&](SqliteStmt& row) {
    T value;
    CUBE_RETURN_IF_ERROR(corrupt_unless(decode(row.column_blob(1), value),
                                        std::string(noun) + " " + std::string(row.column_text(0))));
    out.push_back(std::move(value));
    return Status::ok();
  }));
  return out;
}

Status SqliteStore::for_each_row(std::string_view sql, std::string_view what,
                                 const std::function<Status(SqliteStmt&)>& on_row) {
  auto stmt = db_.prepare(sql);
  if (!stmt.is_ok())
    return stmt.status();
  while (true) {
    auto row = stmt->step();
    if (!row.is_ok())
      return row.status().with_context("cannot read " + std::string(what) + " from " +
                                       options_.path);
    if (!*row)
      return Status::ok();
    CUBE_RETURN_IF_ERROR(on_row(*stmt));
  }
}

Status SqliteStore::corrupt_unless(const Status& decoded, const std::string& where) const {
  if (decoded.is_ok())
    return decoded;
  return Status::internal("the store " + options_.path + " is corrupt: " + where + ": " +
                          decoded.message());
}

Status SqliteStore::write_batch(std::span<const Task> upserts,
                                std::span<const TaskEventRecord> events) {
  size_t rows = 0;
  auto after_row = [&]() -> Status {
    ++rows;
    return row_hook_ ? row_hook_(rows) : Status::ok();
  };
  for (const auto& task : upserts) {
    std::string body = protocol::encode_task_compact(task);
    CUBE_RETURN_IF_ERROR(upsert_task_.bind_text(1, task.id));
    CUBE_RETURN_IF_ERROR(upsert_task_.bind_int64(2, static_cast<int64_t>(task.state)));
    CUBE_RETURN_IF_ERROR(upsert_task_.bind_text(3, task.node_id));
    CUBE_RETURN_IF_ERROR(upsert_task_.bind_int64(4, task.updated_ms));
    CUBE_RETURN_IF_ERROR(upsert_task_.bind_blob(5, body));
    auto done = upsert_task_.step();
    upsert_task_.reset();
    if (!done.is_ok())
      return done.status().with_context("task " + task.id);
    CUBE_RETURN_IF_ERROR(after_row());
  }
  if (events.empty())
    return Status::ok();
  LogRecordWriter record;
  std::string blob;
  for (const auto& [task_id, event] : events) {
    blob.clear();
    protocol::append_task_event_compact(event, blob);
    record.add_event(task_id, blob);
  }
  CUBE_RETURN_IF_ERROR(insert_history_.bind_blob(1, record.finish()));
  auto done = insert_history_.step();
  insert_history_.reset();
  if (!done.is_ok())
    return done.status().with_context("history of " + std::to_string(events.size()) + " entries");
  return after_row();
}

Status SqliteStore::roll_back(Status failure) {
  // SQLite may already have rolled back by itself (on SQLITE_FULL, SQLITE_IOERR...).
  if (db_.in_autocommit())
    return failure;
  auto rolled = rollback_.step();
  rollback_.reset();
  if (!rolled.is_ok())
    return Status(failure.code(),
                  failure.message() + "; rollback failed too: " + rolled.status().message());
  return failure;
}

Result<std::vector<Task>> SqliteStore::load_all() {
  return load_blobs<Task>("SELECT id, body FROM tasks", "tasks", "task", protocol::decode_task);
}

Result<std::vector<TaskEventRecord>> SqliteStore::load_events() {
  std::vector<TaskEventRecord> out;
  auto add = [&](std::string_view task_id, std::string_view blob, const std::string& where) {
    TaskEvent event;
    CUBE_RETURN_IF_ERROR(corrupt_unless(protocol::decode_task_event(blob, event), where));
    out.emplace_back(std::string(task_id), std::move(event));
    return Status::ok();
  };
  // Entries written before schema version 3, one row each; then the records, which are newer.
  CUBE_RETURN_IF_ERROR(for_each_row("SELECT task_id, event, seq FROM task_events ORDER BY seq",
                                    "task history", [&](SqliteStmt& row) {
                                      return add(
                                          row.column_text(0), row.column_blob(1),
                                          "history entry " + std::to_string(row.column_int64(2)));
                                    }));
  std::string buffer;
  CUBE_RETURN_IF_ERROR(for_each_row(
      "SELECT body, seq FROM history_records ORDER BY seq", "task history", [&](SqliteStmt& row) {
        const std::string where = "history record " + std::to_string(row.column_int64(1));
        auto record = parse_log_record(row.column_blob(0), buffer);
        CUBE_RETURN_IF_ERROR(corrupt_unless(record.status(), where));
        for (const auto& [task_id, blob] : record->events)
          CUBE_RETURN_IF_ERROR(add(task_id, blob, where));
        return Status::ok();
      }));
  return out;
}

}  // namespace cube::broker
