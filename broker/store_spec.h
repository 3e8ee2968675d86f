// StoreSpec: which Store cube-broker uses, from `--store` and `--data-dir` (and the benchmark's
// `--store`), and the one place that builds it.
//
//   memory                 VolatileStore: nothing is stored; nothing survives the process.
//   sqlite                 SqliteStore at <data-dir>/cube.db (the default).
//   sqlite:PATH            SqliteStore at PATH (relative to the working directory).
//   ...?sync=full|normal   for either sqlite form: synchronous=FULL (survives power loss) or
//                          NORMAL (the default; survives process crashes). See sqlite_store.h.
//   etcd://HOST:PORT[,HOST:PORT...][/PREFIX]
//                          EtcdStore on the etcd cluster whose members (client URLs, plain
//                          http) are listed, keys under PREFIX (default /cube; a trailing '/'
//                          is dropped). HOST may be a name, an IPv4 address or [IPv6]. See
//                          etcd_store.h.
//
// Thread-safety: pure functions, except open_store (creates directories and files).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/store.h"
#include "common/status.h"

namespace cube::broker {

struct StoreSpec {
  enum class Kind { Memory, Sqlite, Etcd };
  Kind kind = Kind::Sqlite;
  std::filesystem::path path;          // Sqlite: the database file
  bool sync_full = false;              // Sqlite: synchronous=FULL
  std::vector<std::string> endpoints;  // Etcd: "HOST:PORT" of each member, in the given order
  std::string prefix;                  // Etcd: "/cube"

  // "memory", "sqlite:/var/lib/cube/broker/cube.db (sync=normal)",
  // "etcd://10.0.0.1:2379,10.0.0.2:2379/cube": for the startup log and STATUS.
  std::string describe() const;
};

// The data dir when --data-dir is not given: /var/lib/cube/broker as root, $HOME/.cube/broker
// otherwise (.cube/broker under the working directory when HOME is unset).
std::filesystem::path default_broker_data_dir();

// Parses a --store value; `data_dir` supplies the default database path.
//   Invalid  anything else, naming the value and the accepted forms ("--store sqlite:" with an
//            empty path, an unknown option after '?', sync other than full/normal; etcd:// with
//            no endpoint, an endpoint without a port or with one outside 1-65535, an empty
//            prefix ("/"), a prefix with spaces or control characters).
Result<StoreSpec> parse_store_spec(std::string_view text, const std::filesystem::path& data_dir);

// Builds the store: for sqlite, creates the database's directory (mode 0700) when missing and
// opens the file (SqliteStore::open); for etcd, EtcdStore::open.
//   Unavailable / Internal  as SqliteStore::open or EtcdStore::open (etcd unreachable: within
//                           about a second per endpoint), or the directory cannot be created.
// Blocks for the open.
Result<std::unique_ptr<Store>> open_store(const StoreSpec& spec);

}  // namespace cube::broker
