// SqliteDb and SqliteStmt: RAII owners of a sqlite3 connection and a prepared statement (STYLE.md
// habit 15), with SQLite result codes turned into Status values. They know SQL, not tasks:
// broker/sqlite_store.h builds the task store on them.
//
// Error mapping (sqlite_status): SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL, SQLITE_IOERR,
// SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM -> Unavailable (the environment may recover:
// another writer, disk full, permissions); SQLITE_CORRUPT, SQLITE_NOTADB and everything else ->
// Internal. Messages carry SQLite's own text ("database is locked").
//
// Thread-safety: a SqliteDb and its statements are used by one thread at a time (the connection
// is opened with SQLITE_OPEN_NOMUTEX). Every call may block on disk I/O; step() on a write may
// also wait up to the connection's busy timeout for another writer.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace cube::broker {

// A Status for SQLite result code `rc` (extended codes allowed), "<what>: <SQLite's message>".
Status sqlite_status(int rc, std::string_view what, std::string_view message);

class SqliteStmt {
 public:
  SqliteStmt() = default;
  // Takes ownership of `stmt` (may be null).
  explicit SqliteStmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~SqliteStmt();
  SqliteStmt(SqliteStmt&& other) noexcept;
  SqliteStmt& operator=(SqliteStmt&& other) noexcept;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  sqlite3_stmt* get() const { return stmt_; }

  // Bind parameter `index` (1-based). Text and blobs are copied (SQLITE_TRANSIENT), so the
  // arguments only need to live for the call. Internal on a bad index or out of memory.
  Status bind_text(int index, std::string_view text);
  Status bind_blob(int index, std::string_view bytes);
  Status bind_int64(int index, int64_t value);

  // Runs the statement one step. true: a row is available (read it with the column_*
  // accessors); false: the statement is done. An error as sqlite_status, the statement's SQL
  // named in the message.
  Result<bool> step();

  // Makes the statement ready to run again and clears its bindings. Never fails (an error of the
  // previous step was already returned by step()).
  void reset();

  // Columns of the current row (0-based). The views stay valid until the next step() or reset().
  std::string_view column_blob(int index) const;
  std::string_view column_text(int index) const;
  int64_t column_int64(int index) const;

 private:
  Status error(int rc, std::string_view what) const;

  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteDb {
 public:
  SqliteDb() = default;
  ~SqliteDb();  // sqlite3_close_v2: closes once the last statement is finalized
  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Opens (creating if missing) the database file at `path` for reading and writing, with
  // extended result codes and `busy_timeout` as the time a write waits for another writer.
  //   Unavailable  the file cannot be opened or created (missing directory, permissions).
  //   Internal     out of memory.
  static Result<SqliteDb> open(const std::string& path, Millis busy_timeout);

  sqlite3* get() const { return db_; }

  // Runs one or more statements that return no rows needed by the caller ("PRAGMA ...; CREATE
  // ..."). An error as sqlite_status, with `sql`'s first words in the message.
  Status exec(std::string_view sql);

  // Compiles one statement for repeated use. Errors as exec().
  Result<SqliteStmt> prepare(std::string_view sql);

  // Runs a statement expected to return exactly one row and returns its first column as text
  // ("PRAGMA journal_mode=WAL" -> "wal"). Invalid when it returns no row.
  Result<std::string> query_text(std::string_view sql);

  // False while a transaction is open on this connection.
  bool in_autocommit() const { return db_ != nullptr && sqlite3_get_autocommit(db_) != 0; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}

  sqlite3* db_ = nullptr;
};

}  // namespace cube::broker
