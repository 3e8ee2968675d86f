#include "broker/sqlite_db.h"

#include <utility>

namespace cube::broker {
namespace {

// The first words of a statement, so an error names what failed without dumping a schema.
std::string_view head(std::string_view sql) {
  constexpr size_t kHead = 60;
  while (!sql.empty() && (sql.front() == ' ' || sql.front() == '\n'))
    sql.remove_prefix(1);
  return sql.substr(0, std::min(sql.size(), kHead));
}

std::string statement_text(sqlite3_stmt* stmt) {
  const char* sql = stmt != nullptr ? sqlite3_sql(stmt) : nullptr;
  return sql != nullptr ? std::string(head(sql)) : std::string("statement");
}

}  // namespace

Status sqlite_status(int rc, std::string_view what, std::string_view message) {
  std::string text = std::string(what) + ": " +
                     (message.empty() ? std::string(sqlite3_errstr(rc)) : std::string(message));
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Status::ok();
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return Status::unavailable(std::move(text));
    default:
      return Status::internal(std::move(text));
  }
}

// ------------------------------------------------------------------------------ SqliteStmt

SqliteStmt::~SqliteStmt() {
  sqlite3_finalize(stmt_);  // no-op for null
}

SqliteStmt::SqliteStmt(SqliteStmt&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}

SqliteStmt& SqliteStmt::operator=(SqliteStmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Status SqliteStmt::error(int rc, std::string_view what) const {
  sqlite3* db = stmt_ != nullptr ? sqlite3_db_handle(stmt_) : nullptr;
  return sqlite_status(rc, std::string(what) + " (" + statement_text(stmt_) + ")",
                       db != nullptr ? sqlite3_errmsg(db) : "");
}

Status SqliteStmt::bind_text(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return rc == SQLITE_OK ? Status::ok() : error(rc, "bind");
}

Status SqliteStmt::bind_blob(int index, std::string_view bytes) {
  int rc = sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()),
                             SQLITE_TRANSIENT);
  return rc == SQLITE_OK ? Status::ok() : error(rc, "bind");
}

Status SqliteStmt::bind_int64(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  return rc == SQLITE_OK ? Status::ok() : error(rc, "bind");
}

Result<bool> SqliteStmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW)
    return true;
  if (rc == SQLITE_DONE)
    return false;
  return error(rc, "step");
}

void SqliteStmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string_view SqliteStmt::column_blob(int index) const {
  const void* data = sqlite3_column_blob(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);  // after the pointer, as SQLite requires
  return data == nullptr
             ? std::string_view()
             : std::string_view(static_cast<const char*>(data), static_cast<size_t>(size));
}

std::string_view SqliteStmt::column_text(int index) const {
  const unsigned char* data = sqlite3_column_text(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);
  return data == nullptr
             ? std::string_view()
             : std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(size));
}

int64_t SqliteStmt::column_int64(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

// ------------------------------------------------------------------------------ SqliteDb

SqliteDb::~SqliteDb() {
  sqlite3_close_v2(db_);  // no-op for null
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Result<SqliteDb> SqliteDb::open(const std::string& path, Millis busy_timeout) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  // Owned from here on, even when opening failed (SQLite still allocates a handle then).
  SqliteDb db(raw);
  if (rc != SQLITE_OK) {
    if (raw == nullptr)
      return Status::internal("cannot open " + path + ": out of memory");
    return sqlite_status(rc, "cannot open " + path, sqlite3_errmsg(raw));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(busy_timeout.count()));
  return db;
}

Status SqliteDb::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK)
    return Status::ok();
  std::string detail = message != nullptr ? message : "";
  sqlite3_free(message);
  return sqlite_status(rc, head(sql), detail);
}

Result<SqliteStmt> SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  SqliteStmt stmt(raw);
  if (rc != SQLITE_OK)
    return sqlite_status(rc, "prepare " + std::string(head(sql)), sqlite3_errmsg(db_));
  return stmt;
}

Result<std::string> SqliteDb::query_text(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt.is_ok())
    return stmt.status();
  auto row = stmt->step();
  if (!row.is_ok())
    return row.status();
  if (!*row)
    return Status::invalid(std::string(head(sql)) + ": returned no row");
  return std::string(stmt->column_text(0));
}

}  // namespace cube::broker
