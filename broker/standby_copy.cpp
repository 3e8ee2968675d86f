#include "broker/standby_copy.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <pthread.h>

#include "broker/etcd_store.h"
#include "broker/etcd_watch.h"

namespace cube::broker {
namespace {

// After a failed read or a broken stream: long enough not to spin on a dead etcd, short against
// a TTL.
constexpr Millis kRetryAfter{200};

EtcdClientOptions copy_client_options(const StandbyCopyOptions& options) {
  EtcdClientOptions client;
  client.endpoints = options.endpoints;
  return client;
}

}  // namespace

StandbyCopy::StandbyCopy(StandbyCopyOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      layout_(options_.prefix),
      client_(copy_client_options(options_)),
      replay_(layout_),
      thread_([this] { run(); }) {}

StandbyCopy::~StandbyCopy() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void StandbyCopy::follow() {
  {
    MutexLock lock(mu_);
    following_ = true;
  }
  cv_.notify_all();
}

bool StandbyCopy::keep_going() const {
  MutexLock lock(mu_);
  return following_ && !stopping_;
}

StandbyCopy::Stats StandbyCopy::stats() const {
  MutexLock lock(mu_);
  Stats out = stats_;
  out.revision = revision_;
  out.tasks = replay_.task_count();
  out.events = replay_.event_count();
  return out;
}

Result<StoreContents> StandbyCopy::take(int64_t revision, Millis timeout) {
  MutexLock lock(mu_);
  bool reached = mu_.wait_for(
      cv_, timeout, [&]() CUBE_REQUIRES(mu_) { return loaded_ && revision_ >= revision; });
  following_ = false;  // the stream stops within about a second
  if (!reached) {
    // Kept as it is: a later follow() resumes the watch from where it got.
    return Status::unavailable(loaded_
                                   ? "the warm copy was at revision " + std::to_string(revision_) +
                                         ", not " + std::to_string(revision) + ", after " +
                                         std::to_string(timeout.count()) + " ms"
                                   : "the warm copy had not read the store yet");
  }
  StoreContents out;
  out.revision = revision_;
  out.tasks = replay_.take_tasks();
  out.events = replay_.take_events();
  loaded_ = false;
  revision_ = 0;
  return out;
}

Status StandbyCopy::full_read() {
  SteadyTime start = clock_.now();
  EtcdReplay replay(layout_);
  int64_t revision = 0;
  bool corrupt = false;
  Status read = read_etcd_store(client_, layout_, replay, &revision, &corrupt);
  if (!read.is_ok())
    return read;
  auto took = std::chrono::duration_cast<Millis>(clock_.now() - start);
  spdlog::info("warm standby: read {} tasks and {} history entries at revision {} in {} ms",
               replay.task_count(), replay.event_count(), revision, took.count());
  {
    MutexLock lock(mu_);
    replay_ = std::move(replay);
    revision_ = revision;
    loaded_ = true;
    ++stats_.full_reads;
    stats_.last_full_read = took;
  }
  cv_.notify_all();
  return Status::ok();
}

void StandbyCopy::run() {
  pthread_setname_np(pthread_self(), "standby-copy");
  EtcdWatch watch(options_.endpoints);
  const std::string root = layout_.root();
  const std::string root_end = etcd_prefix_end(root);
  std::string last_error;  // logged once until something succeeds
  auto report = [&last_error](const Status& error) {
    if (error.to_string() != last_error)
      spdlog::warn("warm standby: {}", error.to_string());
    last_error = error.to_string();
  };
  auto pause = [this](Millis how_long) {
    MutexLock lock(mu_);
    mu_.wait_for(cv_, how_long, [this]() CUBE_REQUIRES(mu_) { return stopping_; });
  };
  while (true) {
    bool loaded = false;
    int64_t from = 0;
    {
      MutexLock lock(mu_);
      mu_.wait(cv_, [this]() CUBE_REQUIRES(mu_) { return stopping_ || following_; });
      if (stopping_)
        return;
      loaded = loaded_;
      from = revision_ + 1;
    }
    if (!loaded) {
      if (Status read = full_read(); !read.is_ok()) {
        report(read);
        pause(kRetryAfter);
        continue;
      }
      last_error.clear();
      MutexLock lock(mu_);
      from = revision_ + 1;
    }
    bool reread = false;
    Status failed;
    {
      MutexLock lock(mu_);
      stats_.watching = true;
    }
    Status watched = watch.run(
        root, root_end, from,
        [&](EtcdWatchResponse& answer) {
          if (answer.canceled) {
            // Compacted past `from` (or canceled for another reason): read everything again.
            spdlog::info("warm standby: the watch was canceled ({}{}); reading the store again",
                         answer.cancel_reason.empty() ? "compacted" : answer.cancel_reason,
                         answer.compact_revision > 0
                             ? ", compact revision " + std::to_string(answer.compact_revision)
                             : "");
            reread = true;
            return false;
          }
          bool applied = false;
          {
            MutexLock lock(mu_);
            if (!following_ || stopping_)
              return false;
            int64_t newest = revision_;
            for (const auto& event : answer.events) {
              if (event.kv.mod_revision <= revision_)
                continue;  // in the snapshot already, or seen before the stream was resumed
              if (event.deleted)
                replay_.remove(event.kv.key);
              else
                failed = replay_.put(event.kv);
              if (!failed.is_ok()) {
                reread = true;
                return false;
              }
              newest = std::max(newest, event.kv.mod_revision);
              applied = true;
            }
            revision_ = newest;
          }
          if (applied)
            cv_.notify_all();
          last_error.clear();
          return true;
        },
        [this] { return !keep_going(); });
    {
      MutexLock lock(mu_);
      stats_.watching = false;
    }
    if (reread) {
      if (!failed.is_ok())
        report(failed);
      MutexLock lock(mu_);
      loaded_ = false;
      continue;
    }
    if (!watched.is_ok()) {
      report(watched);
      pause(kRetryAfter);
    }
  }
}

}  // namespace cube::broker
