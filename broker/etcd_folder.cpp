#include "broker/etcd_folder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include <pthread.h>

namespace cube::broker {
namespace {

// After a failed fold: long enough not to spin on a broken etcd, short enough that the log does
// not grow much meanwhile.
constexpr Millis kRetryAfter{1000};
// The log is read this many records per page: a record is at most max_record_bytes (512 KiB).
constexpr int64_t kRecordsPerPage = 4;

}  // namespace

EtcdFolder::EtcdFolder(EtcdFolderOptions options, EtcdLayout layout)
    : options_(std::move(options)),
      layout_(std::move(layout)),
      client_(options_.client),
      thread_([this] { run(); }) {}

EtcdFolder::~EtcdFolder() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void EtcdFolder::on_commit(size_t records, size_t bytes, const std::vector<EtcdCompare>& guard) {
  bool wake = false;
  {
    MutexLock lock(mu_);
    records_ += records;
    bytes_ += bytes;
    guard_ = guard;
    committed_ = true;
    wake = !folding_ && due();
  }
  if (wake)
    cv_.notify_all();
}

void EtcdFolder::restart(size_t records) {
  MutexLock lock(mu_);
  ++generation_;
  records_ = records;
  bytes_ = 0;
  committed_ = false;  // and no fold before this store's next commit, with its guard
}

EtcdFoldStats EtcdFolder::stats() const {
  MutexLock lock(mu_);
  return stats_;
}

bool EtcdFolder::wait_idle(Millis timeout) {
  MutexLock lock(mu_);
  return mu_.wait_for(cv_, timeout, [this]() CUBE_REQUIRES(mu_) { return !folding_ && !due(); });
}

bool EtcdFolder::due() const {
  return committed_ && records_ > 0 &&
         (records_ >= options_.fold_records || bytes_ >= options_.fold_bytes);
}

bool EtcdFolder::still(uint64_t generation) const {
  MutexLock lock(mu_);
  return !stopping_ && generation_ == generation;
}

void EtcdFolder::run() {
  pthread_setname_np(pthread_self(), "etcd-fold");
  std::string last_error;  // the last failure logged
  while (true) {
    uint64_t generation = 0;
    std::vector<EtcdCompare> guard;
    {
      MutexLock lock(mu_);
      mu_.wait(cv_, [this]() CUBE_REQUIRES(mu_) { return stopping_ || due(); });
      if (stopping_)
        return;
      folding_ = true;
      generation = generation_;
      guard = guard_;
    }
    Status folded = fold_once(generation, guard);
    if (folded.is_ok())
      last_error.clear();
    bool failed = false;
    {
      MutexLock lock(mu_);
      folding_ = false;
      if (!folded.is_ok() && generation_ == generation && !stopping_) {
        ++stats_.fold_failures;
        // Fenced: this broker no longer leads. Its next commit (as leader again) says when.
        if (folded.code() == ErrorCode::Conflict)
          committed_ = false;
        else
          failed = true;
      }
    }
    cv_.notify_all();
    if (!folded.is_ok() && !failed) {
      spdlog::info("store {}: a fold of the log stopped: {}", options_.store_name,
                   folded.message());
    }
    if (failed) {
      // Once per distinct error: etcd down for a minute is one line, not sixty.
      if (folded.message() != last_error) {
        spdlog::warn("store {}: a fold of the log stopped (tried again every {} ms): {}",
                     options_.store_name, kRetryAfter.count(), folded.message());
      }
      last_error = folded.message();
      MutexLock lock(mu_);
      mu_.wait_for(cv_, kRetryAfter, [this]() CUBE_REQUIRES(mu_) { return stopping_; });
    }
  }
}

Status EtcdFolder::fold_once(uint64_t generation, const std::vector<EtcdCompare>& guard) {
  // Every record present, in seq order.
  std::vector<std::pair<uint64_t, std::string>> read;
  const std::string log = layout_.log_prefix();
  int64_t revision = 0;
  Status status = client_.range_all(
      log, etcd_prefix_end(log),
      [&](std::vector<EtcdKeyValue>& page) {
        for (auto& kv : page) {
          auto seq = layout_.parse_log_key(kv.key);
          if (!seq.is_ok())
            return seq.status();
          read.emplace_back(*seq, std::move(kv.value));
        }
        return Status::ok();
      },
      &revision, kRecordsPerPage);
  if (!status.is_ok())
    return status.with_context("cannot read the log");
  if (read.empty()) {
    MutexLock lock(mu_);
    if (generation_ == generation)
      records_ = 0;
    return Status::ok();
  }
  std::vector<LogKeyValue> records;
  records.reserve(read.size());
  size_t bytes = 0;
  for (const auto& [seq, value] : read) {
    records.push_back(LogKeyValue{seq, value});
    bytes += value.size();
  }
  auto plan = plan_fold(layout_, records, options_.limits, guard);
  if (!plan.is_ok())
    return plan.status();
  read.clear();  // the plan owns what it writes
  EtcdFoldStats done;
  for (size_t i = 0; i <= plan->puts.size(); ++i) {
    if (!still(generation))
      return Status::ok();
    const bool last = i == plan->puts.size();
    const EtcdTxn& txn = last ? plan->finish : plan->puts[i];
    auto answer = client_.txn(txn);
    if (!answer.is_ok())
      return answer.status();
    if (!answer->succeeded)
      return Status::conflict("the write guard no longer holds");
    if (last)
      break;
    done.fold_puts += txn.success.size();
    for (const auto& op : txn.success)
      done.fold_bytes += op.value.size();
  }
  spdlog::debug("store {}: folded log records {}..{}: {} tasks, {} history chunks",
                options_.store_name, plan->first_seq, plan->last_seq, plan->tasks,
                plan->history_chunks);
  MutexLock lock(mu_);
  stats_.fold_puts += done.fold_puts;
  stats_.fold_bytes += done.fold_bytes;
  ++stats_.folds;
  if (generation_ == generation) {
    records_ -= std::min(records_, plan->records);
    bytes_ -= std::min(bytes_, bytes);
  }
  return Status::ok();
}

}  // namespace cube::broker
