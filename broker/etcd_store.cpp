#include "broker/etcd_store.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <utility>

#include <spdlog/spdlog.h>

#include "broker/etcd_services.h"

namespace cube::broker {
namespace {

Result<int> parse_version(std::string_view text) {
  int version = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || end != text.data() + text.size() || version <= 0)
    return Status::internal("\"" + std::string(text.substr(0, 40)) + "\" is not a version");
  return version;
}

}  // namespace

namespace {

EtcdFolderOptions folder_options(const EtcdStoreOptions& options, std::string store_name) {
  EtcdFolderOptions out;
  out.client = options.client;
  out.limits = options.limits;
  out.fold_records = options.fold_records;
  out.fold_bytes = options.fold_bytes;
  out.store_name = std::move(store_name);
  return out;
}

}  // namespace

EtcdStore::EtcdStore(Key, EtcdStoreOptions options)
    : options_(std::move(options)),
      layout_(options_.prefix),
      client_(options_.client),
      folder_(std::make_unique<EtcdFolder>(folder_options(options_, describe()), layout_)) {}

EtcdStoreStats EtcdStore::stats() const {
  EtcdStoreStats out = stats_;
  EtcdFoldStats folds = folder_->stats();
  out.folds = folds.folds;
  out.fold_puts = folds.fold_puts;
  out.fold_bytes = folds.fold_bytes;
  out.fold_failures = folds.fold_failures;
  return out;
}

Result<std::unique_ptr<EtcdStore>> EtcdStore::open(EtcdStoreOptions options) {
  auto store = std::make_unique<EtcdStore>(Key(), std::move(options));
  CUBE_RETURN_IF_ERROR(store->check_version());
  CUBE_RETURN_IF_ERROR(store->find_history_end());
  return store;
}

std::string EtcdStore::describe() const {
  return "etcd://" + client_.endpoints_text() + layout_.prefix();
}

Status EtcdStore::store_error(const Status& status, std::string_view doing) const {
  std::string context = "store " + describe() + ": " + std::string(doing);
  if (status.is_invalid())  // etcd refused a request Cube built: its limits are not etcd's
    return Status::internal(status.message()).with_context(context);
  return status.with_context(context);
}

Status EtcdStore::check_version() {
  const std::string key = layout_.version_key();
  const std::string mine = std::to_string(kSchemaVersion);
  EtcdRangeRequest get;
  get.key = key;
  auto current = client_.range(get);
  if (!current.is_ok())
    return store_error(current.status(), "cannot read the schema version");
  std::string found;
  if (!current->kvs.empty()) {
    found = current->kvs.front().value;
  } else {
    // No version: the prefix must be empty, or someone else's keys would be read as tasks.
    EtcdRangeRequest count;
    count.key = layout_.root();
    count.range_end = etcd_prefix_end(count.key);
    count.count_only = true;
    auto keys = client_.range(count);
    if (!keys.is_ok())
      return store_error(keys.status(), "cannot list the prefix");
    if (keys->count > 0) {
      // A broker starting beside this one may have written the version (which a Cube broker
      // writes before any other key) between the two reads: read it again before refusing.
      auto again = client_.range(get);
      if (!again.is_ok())
        return store_error(again.status(), "cannot read the schema version");
      if (again->kvs.empty()) {
        return Status::internal("store " + describe() + ": the prefix holds " +
                                std::to_string(keys->count) + " keys but no " + key +
                                ": not a Cube store; use another prefix");
      }
      return check_version_value(again->kvs.front().value);
    }
    // Create if absent: of two brokers starting at once, one writes, both read the same.
    EtcdTxn create;
    create.compares.push_back(EtcdCompare::create_revision_is(key, 0));
    create.success.push_back(EtcdOp::put(key, mine));
    create.failure.push_back(EtcdOp::get(key));
    auto done = client_.txn(create);
    if (!done.is_ok())
      return store_error(done.status(), "cannot write the schema version");
    if (done->succeeded)
      return Status::ok();
    if (done->ranges.empty() || done->ranges.front().empty())
      return Status::internal("store " + describe() + ": " + key + " vanished while read");
    found = done->ranges.front().front().value;
  }
  return check_version_value(found);
}

Status EtcdStore::check_version_value(const std::string& found) const {
  const std::string key = layout_.version_key();
  const std::string mine = std::to_string(kSchemaVersion);
  auto version = parse_version(found);
  if (!version.is_ok()) {
    return Status::internal("store " + describe() + ": " + key + " holds " +
                            version.status().message() + "; not a Cube store");
  }
  if (*version != kSchemaVersion) {
    const bool newer = *version > kSchemaVersion;
    return Status::internal(
        "store " + describe() + " has schema version " + std::to_string(*version) +
        " (written by " + (newer ? "a newer" : "an older") +
        " cube-broker); this cube-broker reads and writes version " + mine +
        (newer ? ": upgrade cube-broker or use another prefix"
               : " and does not convert an older prefix: use another prefix, or the "
                 "cube-broker that wrote it"));
  }
  return Status::ok();
}

Status read_etcd_store(EtcdClient& client, const EtcdLayout& layout, EtcdReplay& replay,
                       int64_t* revision, bool* corrupt) {
  // Up to 4 values of max_record_bytes per page: well under the gateway's 4 MiB answers.
  constexpr int64_t kLargeValuesPerPage = 4;
  struct Part {
    std::string prefix;
    int64_t page_size;
  };
  const Part parts[] = {{layout.log_prefix(), kLargeValuesPerPage},
                        {layout.done_prefix(), kLargeValuesPerPage},
                        {layout.history_prefix(), kLargeValuesPerPage},
                        {layout.tasks_prefix(), 0}};
  *revision = 0;  // the first part's answer sets it; the others read at it
  for (const auto& part : parts) {
    CUBE_RETURN_IF_ERROR(client.range_all(
        part.prefix, etcd_prefix_end(part.prefix),
        [&](std::vector<EtcdKeyValue>& page) {
          for (const auto& kv : page) {
            if (Status applied = replay.put(kv); !applied.is_ok()) {
              *corrupt = true;
              return applied;
            }
          }
          return Status::ok();
        },
        revision, part.page_size));
  }
  return Status::ok();
}

Status EtcdStore::find_history_end() {
  EtcdRangeRequest last;
  last.key = layout_.log_prefix();
  last.range_end = etcd_prefix_end(last.key);
  last.descending = true;
  last.limit = 1;
  last.keys_only = true;
  auto found = client_.range(last);
  if (!found.is_ok())
    return store_error(found.status(), "cannot read the end of the log");
  uint64_t newest = 0;
  if (!found->kvs.empty()) {
    auto seq = layout_.parse_log_key(found->kvs.front().key);
    if (!seq.is_ok())
      return Status::internal("store " + describe() + " is corrupt: " + seq.status().message());
    newest = *seq;
  }
  folder_->restart(static_cast<size_t>(found->count));
  // The log may have been folded away entirely: PREFIX/folded says how far it went.
  EtcdRangeRequest folded;
  folded.key = layout_.folded_key();
  auto mark = client_.range(folded);
  if (!mark.is_ok())
    return store_error(mark.status(), "cannot read how far the log was folded");
  if (!mark->kvs.empty()) {
    const std::string& text = mark->kvs.front().value;
    uint64_t seq = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seq);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return Status::internal("store " + describe() + " is corrupt: " + folded.key + " holds \"" +
                              text.substr(0, 40) + "\"");
    }
    newest = std::max(newest, seq);
  }
  next_seq_ = newest + 1;
  return Status::ok();
}

Status EtcdStore::commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) {
  if (upserts.empty() && events.empty())
    return Status::ok();
  std::vector<EtcdTxn> txns =
      build_log_txns(layout_, upserts, events, next_seq_, options_.limits, guard_);
  CUBE_RETURN_IF_ERROR(write_guarded(txns, "log record", "a commit"));
  next_seq_ += txns.size();
  size_t bytes = 0;
  for (const auto& txn : txns)
    bytes += txn.success.front().value.size();
  stats_.log_bytes += bytes;
  stats_.log_records += txns.size();
  folder_->on_commit(txns.size(), bytes, guard_);
  return Status::ok();
}

Status EtcdStore::commit_services(std::span<const Service> upserts,
                                  std::span<const std::string> removed) {
  return write_guarded(build_service_txns(layout_, upserts, removed, options_.limits, guard_),
                       "txn", "a service change");
}

Status EtcdStore::write_guarded(const std::vector<EtcdTxn>& txns, std::string_view each,
                                std::string_view of) {
  for (size_t i = 0; i < txns.size(); ++i) {
    auto done = client_.txn(txns[i]);
    std::string which = std::string(each) + " " + std::to_string(i + 1) + " of " +
                        std::to_string(txns.size()) + " of " + std::string(of);
    if (!done.is_ok())
      return store_error(done.status(), which);
    if (!done->succeeded) {
      return Status::conflict("store " + describe() + ": " + which +
                              " was refused: the write guard no longer holds");
    }
  }
  return Status::ok();
}

Result<std::vector<Service>> EtcdStore::load_services() {
  std::vector<Service> out;
  const std::string prefix = etcd_services_prefix(layout_);
  bool corrupt = false;
  Status read = client_.range_all(prefix, etcd_prefix_end(prefix), [&](auto& page) -> Status {
    for (const auto& kv : page) {
      auto service = decode_etcd_service(layout_, kv);
      if (!service.is_ok()) {
        corrupt = true;
        return Status::internal("store " + describe() + " is corrupt: " + kv.key + ": " +
                                service.status().message());
      }
      out.push_back(std::move(*service));
    }
    return Status::ok();
  });
  if (corrupt)
    return read;
  if (!read.is_ok())
    return store_error(read, "cannot read the services");
  return out;
}

Status EtcdStore::read_store(EtcdReplay& replay) {
  int64_t revision = 0;
  bool corrupt = false;
  Status read = read_etcd_store(client_, layout_, replay, &revision, &corrupt);
  if (read.is_ok())
    return read;
  if (corrupt)
    return Status::internal("store " + describe() + " is corrupt: " + read.message());
  return store_error(read, "cannot read the store");
}

Result<std::vector<Task>> EtcdStore::load_all() {
  EtcdReplay replay(layout_);
  CUBE_RETURN_IF_ERROR(read_store(replay));
  loaded_events_ = replay.take_events();
  return replay.take_tasks();
}

Result<std::vector<TaskEventRecord>> EtcdStore::load_events() {
  if (loaded_events_) {
    std::vector<TaskEventRecord> out = std::move(*loaded_events_);
    loaded_events_.reset();
    return out;
  }
  EtcdReplay replay(layout_);
  CUBE_RETURN_IF_ERROR(read_store(replay));
  return replay.take_events();
}

}  // namespace cube::broker
