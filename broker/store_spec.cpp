#include "broker/store_spec.h"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <system_error>

#include "broker/etcd_store.h"
#include "broker/sqlite_store.h"
#include "broker/volatile_store.h"

namespace cube::broker {
namespace {

constexpr std::string_view kForms =
    "use memory, sqlite, sqlite:PATH, optionally followed by ?sync=full or ?sync=normal, or "
    "etcd://HOST:PORT[,HOST:PORT...][/PREFIX]";
constexpr std::string_view kEtcdScheme = "etcd://";
constexpr std::string_view kDefaultEtcdPrefix = "/cube";

Status bad_spec(std::string_view text, std::string_view why) {
  return Status::invalid("--store " + std::string(text) + ": " + std::string(why) + " (" +
                         std::string(kForms) + ")");
}

// "HOST:PORT" or "[V6]:PORT"; a reason when it is not one.
std::string endpoint_problem(std::string_view endpoint) {
  if (endpoint.empty())
    return "an empty endpoint";
  size_t colon = endpoint.rfind(':');
  std::string_view host = colon == std::string_view::npos ? endpoint : endpoint.substr(0, colon);
  if (colon == std::string_view::npos || (host.starts_with('[') != host.ends_with(']')) ||
      (!host.starts_with('[') && host.find(':') != std::string_view::npos)) {
    return "endpoint \"" + std::string(endpoint) + "\" is not HOST:PORT";
  }
  if (host.empty() || host == "[]")
    return "endpoint \"" + std::string(endpoint) + "\" has no host";
  std::string_view port = endpoint.substr(colon + 1);
  int number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number < 1 ||
      number > 65535) {
    return "endpoint \"" + std::string(endpoint) + "\" needs a port from 1 to 65535";
  }
  for (char ch : host) {
    if (static_cast<unsigned char>(ch) <= ' ' || ch == '/' || ch == '@')
      return "endpoint \"" + std::string(endpoint) + "\" is not HOST:PORT";
  }
  return "";
}

Result<StoreSpec> parse_etcd_spec(std::string_view text, std::string_view main,
                                  std::string_view options) {
  if (!options.empty())
    return bad_spec(text, "the etcd store takes no options after '?'");
  std::string_view rest = main.substr(kEtcdScheme.size());
  size_t slash = rest.find('/');
  std::string_view hosts = rest.substr(0, slash);
  StoreSpec spec;
  spec.kind = StoreSpec::Kind::Etcd;
  if (hosts.empty())
    return bad_spec(text, "no etcd endpoint after \"etcd://\"");
  while (true) {
    size_t comma = hosts.find(',');
    std::string_view endpoint = hosts.substr(0, comma);
    if (std::string problem = endpoint_problem(endpoint); !problem.empty())
      return bad_spec(text, problem);
    spec.endpoints.emplace_back(endpoint);
    if (comma == std::string_view::npos)
      break;
    hosts.remove_prefix(comma + 1);
  }
  if (slash == std::string_view::npos) {
    spec.prefix = std::string(kDefaultEtcdPrefix);
    return spec;
  }
  std::string_view prefix = rest.substr(slash);
  while (prefix.size() > 1 && prefix.ends_with('/'))
    prefix.remove_suffix(1);
  if (prefix == "/")
    return bad_spec(text, "an empty key prefix (leave out the '/' for the default /cube)");
  for (char ch : prefix) {
    if (static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f)
      return bad_spec(text, "the key prefix has a space or a control character");
  }
  spec.prefix = std::string(prefix);
  return spec;
}

}  // namespace

std::string StoreSpec::describe() const {
  if (kind == Kind::Memory)
    return "memory";
  if (kind == Kind::Etcd) {
    std::string out(kEtcdScheme);
    for (size_t i = 0; i < endpoints.size(); ++i)
      out += (i == 0 ? "" : ",") + endpoints[i];
    return out + prefix;
  }
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
  if (main.starts_with(kEtcdScheme))
    return parse_etcd_spec(text, main, options);
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
    return std::unique_ptr<Store>(std::make_unique<VolatileStore>());
  if (spec.kind == StoreSpec::Kind::Etcd) {
    EtcdStoreOptions options;
    options.client.endpoints = spec.endpoints;
    options.prefix = spec.prefix;
    auto store = EtcdStore::open(std::move(options));
    if (!store.is_ok())
      return store.status();
    return std::unique_ptr<Store>(std::move(*store));
  }
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
