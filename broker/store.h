// Store: where the broker keeps tasks so that a restart loses nothing it acknowledged
// (docs/durability.md). The broker holds every task in memory (broker/task_table.h) and
// writes the tasks that changed once per poll iteration (group commit); a submit is answered
// only after the commit that contains it returned OK. The store is only read at startup.
//
// Implementations: SqliteStore (broker/sqlite_store.h; the default, durable), EtcdStore
// (broker/etcd_store.h; shared by brokers that stand in for each other), VolatileStore
// (broker/volatile_store.h; `--store memory`: keeps nothing), MemoryStore
// (broker/memory_store.h; tests that restart a broker on the same store). broker/store_spec.h
// builds the one `--store` names.
//
// Thread-safety: an implementation is used by one thread at a time (the broker loop while it
// loads, then the store writer thread, broker/store_writer.h); it need not be internally
// synchronised. Calls may block for as long as one disk transaction takes.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "protocol/service.h"
#include "protocol/task.h"

namespace cube::broker {

// One history entry, keyed by the ID of the task it belongs to.
using TaskEventRecord = std::pair<std::string, TaskEvent>;

class Store {
 public:
  virtual ~Store() = default;

  // Writes `upserts` (each replaces the stored task with the same id, or adds it) and appends
  // `events` to the tasks' histories, in one transaction: either everything is durable when it
  // returns OK, or nothing changed.
  //   OK           everything is stored.
  //   Unavailable  the store cannot write now (disk full, database locked); retrying the same
  //                batch later is safe.
  //   Internal     the store is broken (corrupt file); the broker keeps running from memory
  //                but acknowledges nothing until a commit succeeds.
  // Blocks for one transaction. The spans are only read during the call.
  virtual Status commit(std::span<const Task> upserts, std::span<const TaskEventRecord> events) = 0;

  // Every stored task, in no particular order.
  //   Unavailable / Internal as for commit. Blocks for a full read.
  virtual Result<std::vector<Task>> load_all() = 0;

  // Every stored history entry, in the order it was appended.
  //   Unavailable / Internal as for commit. Blocks for a full read.
  virtual Result<std::vector<TaskEventRecord>> load_events() = 0;

  // Services (protocol/service.h, docs/services.md), kept apart from the tasks: writes
  // `upserts` (each replaces the stored service of that name, or adds it) and deletes
  // `removed` (names; a name that is not stored is no error), in one transaction. Codes as for
  // commit(). The store writer writes a batch's services before its tasks
  // (broker/store_writer.h): a service change and the task changes it causes are two
  // transactions, and the broker's reconciler repairs what a crash between them leaves (a
  // service with too few tasks, tasks of a removed service). The default (a store that keeps
  // no services) is OK for an empty change and Internal otherwise. Blocks for one transaction.
  virtual Status commit_services(std::span<const Service> upserts,
                                 std::span<const std::string> removed);

  // Every stored service, in no particular order (the default: none).
  //   Unavailable / Internal as for commit. Blocks for a full read.
  virtual Result<std::vector<Service>> load_services();

  // True when commit() does no I/O and returns within microseconds (the memory store):
  // StoreWriter then runs it on the caller's thread, which saves two thread hand-offs per
  // batch. False unless a store says otherwise. Never blocks.
  virtual bool commits_are_cheap() const { return false; }

  // False when commit() ignores what it is given (VolatileStore): the broker then commits
  // empty batches instead of copying every changed task into one. True unless a store says
  // otherwise. Never blocks.
  virtual bool reads_batches() const { return true; }
};

}  // namespace cube::broker
