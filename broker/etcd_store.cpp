#include "broker/etcd_store.h"

#include <charconv>
#include <functional>
#include <utility>

#include "broker/etcd_services.h"
#include "protocol/codec.h"

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

EtcdStore::EtcdStore(Key, EtcdStoreOptions options)
    : options_(std::move(options)), layout_(options_.prefix), client_(options_.client) {}

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
    return Status::internal(
        "store " + describe() + " has schema version " + std::to_string(*version) +
        " (written by " + (*version > kSchemaVersion ? "a newer" : "an older") +
        " cube-broker); this cube-broker reads and writes version " + mine +
        (*version > kSchemaVersion ? ": upgrade cube-broker" : "") + " or use another prefix");
  }
  return Status::ok();
}

Status EtcdStore::find_history_end() {
  EtcdRangeRequest last;
  last.key = layout_.events_prefix();
  last.range_end = etcd_prefix_end(last.key);
  last.descending = true;
  last.limit = 1;
  last.keys_only = true;
  auto found = client_.range(last);
  if (!found.is_ok())
    return store_error(found.status(), "cannot read the end of the history");
  if (found->kvs.empty()) {
    next_seq_ = 1;
    return Status::ok();
  }
  auto parsed = layout_.parse_event_key(found->kvs.front().key);
  if (!parsed.is_ok())
    return Status::internal("store " + describe() + " is corrupt: " + parsed.status().message());
  next_seq_ = parsed->seq + 1;
  return Status::ok();
}

Status EtcdStore::commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) {
  if (upserts.empty() && events.empty())
    return Status::ok();
  std::vector<EtcdTxn> txns =
      build_commit_txns(layout_, upserts, events, next_seq_, options_.limits, guard_);
  for (size_t i = 0; i < txns.size(); ++i) {
    auto done = client_.txn(txns[i]);
    std::string which =
        "txn " + std::to_string(i + 1) + " of " + std::to_string(txns.size()) + " of a commit";
    if (!done.is_ok())
      return store_error(done.status(), which);
    if (!done->succeeded) {
      return Status::conflict("store " + describe() + ": " + which +
                              " was refused: the write guard no longer holds");
    }
  }
  next_seq_ += events.size();
  return Status::ok();
}

Status EtcdStore::commit_services(std::span<const Service> upserts,
                                  std::span<const std::string> removed) {
  std::vector<EtcdTxn> txns =
      build_service_txns(layout_, upserts, removed, options_.limits, guard_);
  for (size_t i = 0; i < txns.size(); ++i) {
    auto done = client_.txn(txns[i]);
    std::string which = "txn " + std::to_string(i + 1) + " of " + std::to_string(txns.size()) +
                        " of a service change";
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
  Status read = read_prefix(etcd_services_prefix(layout_), "services", [&](const EtcdKeyValue& kv) {
    auto service = decode_etcd_service(layout_, kv);
    if (!service.is_ok())
      return service.status();
    out.push_back(std::move(*service));
    return Status::ok();
  });
  if (!read.is_ok())
    return read;
  return out;
}

Status EtcdStore::read_prefix(const std::string& prefix, std::string_view what,
                              const std::function<Status(const EtcdKeyValue&)>& decode) {
  bool corrupt = false;
  Status read = client_.range_all(prefix, etcd_prefix_end(prefix), [&](auto& page) -> Status {
    for (const auto& kv : page) {
      if (Status decoded = decode(kv); !decoded.is_ok()) {
        corrupt = true;
        return Status::internal("store " + describe() + " is corrupt: " + kv.key + ": " +
                                decoded.message());
      }
    }
    return Status::ok();
  });
  if (read.is_ok() || corrupt)
    return read;
  return store_error(read, "cannot read the " + std::string(what));
}

Result<std::vector<Task>> EtcdStore::load_all() {
  std::vector<Task> out;
  Status read = read_prefix(layout_.tasks_prefix(), "tasks", [&](const EtcdKeyValue& kv) {
    auto id = layout_.parse_task_key(kv.key);
    if (!id.is_ok())
      return id.status();
    Task task;
    CUBE_RETURN_IF_ERROR(protocol::decode_task(kv.value, task));
    if (task.id != *id)
      return Status::invalid("it holds task " + task.id);
    out.push_back(std::move(task));
    return Status::ok();
  });
  if (!read.is_ok())
    return read;
  return out;
}

Result<std::vector<TaskEventRecord>> EtcdStore::load_events() {
  std::vector<TaskEventRecord> out;
  Status read = read_prefix(layout_.events_prefix(), "task history", [&](const EtcdKeyValue& kv) {
    auto key = layout_.parse_event_key(kv.key);
    if (!key.is_ok())
      return key.status();
    TaskEvent event;
    CUBE_RETURN_IF_ERROR(protocol::decode_task_event(kv.value, event));
    out.emplace_back(std::move(key->task_id), std::move(event));
    return Status::ok();
  });
  if (!read.is_ok())
    return read;
  return out;
}

}  // namespace cube::broker
