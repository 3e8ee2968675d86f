#include "broker/store_spec.h"

#include <unistd.h>

#include <cstdlib>
#include <system_error>

#include "broker/memory_store.h"
#include "broker/sqlite_store.h"

namespace cube::broker {
namespace {

constexpr std::string_view kForms =
    "use memory, sqlite, sqlite:PATH, optionally followed by ?sync=full or ?sync=normal";

Status bad_spec(std::string_view text, std::string_view why) {
  return Status::invalid("--store " + std::string(text) + ": " + std::string(why) + " (" +
                         std::string(kForms) + ")");
}

}  // namespace

std::string StoreSpec::describe() const {
  if (kind == Kind::Memory)
    return "memory";
  return "sqlite:" + path.string() + (sync_full ? " (sync=full)" : " (sync=normal)");
}

std::filesystem::path default_broker_data_dir() {
  if (::geteuid() == 0)
    return "/var/lib/cube/broker";
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0')
    return std::filesystem::path(".cube") / "broker";
  return std::filesystem::path(home) / ".cube" / "broker";
}

Result<StoreSpec> parse_store_spec(std::string_view text, const std::filesystem::path& data_dir) {
  std::string_view main = text;
  std::string_view options;
  if (auto q = text.find('?'); q != std::string_view::npos) {
    main = text.substr(0, q);
    options = text.substr(q + 1);
  }
  StoreSpec spec;
  if (main == "memory") {
    if (!options.empty())
      return bad_spec(text, "the memory store takes no options");
    spec.kind = StoreSpec::Kind::Memory;
    return spec;
  }
  if (main == "sqlite") {
    spec.path = data_dir / "cube.db";
  } else if (main.starts_with("sqlite:")) {
    std::string_view path = main.substr(std::string_view("sqlite:").size());
    if (path.empty())
      return bad_spec(text, "no database path after \"sqlite:\"");
    spec.path = std::filesystem::path(std::string(path));
  } else {
    return bad_spec(text, "unknown store");
  }
  spec.kind = StoreSpec::Kind::Sqlite;
  if (options.empty())
    return spec;
  if (options == "sync=full") {
    spec.sync_full = true;
  } else if (options == "sync=normal") {
    spec.sync_full = false;
  } else {
    return bad_spec(text, "unknown option \"" + std::string(options) + "\"");
  }
  return spec;
}

Result<std::unique_ptr<Store>> open_store(const StoreSpec& spec) {
  if (spec.kind == StoreSpec::Kind::Memory)
    return std::unique_ptr<Store>(std::make_unique<MemoryStore>());
  std::filesystem::path dir = spec.path.parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    if (std::filesystem::create_directories(dir, ec)) {
      // Only the broker's user reads the task specs (their Env may hold secrets).
      std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ec);
    }
    if (ec) {
      return Status::unavailable("cannot create the store directory " + dir.string() + ": " +
                                 ec.message());
    }
  }
  auto store = SqliteStore::open(SqliteStoreOptions{spec.path.string(), spec.sync_full});
  if (!store.is_ok())
    return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace cube::broker
