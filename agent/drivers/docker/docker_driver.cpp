#include "agent/drivers/docker/docker_driver.h"

#include "agent/drivers/docker/container_stats.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <utility>

namespace cube::agent {
namespace {

ContainerSpecOptions spec_options_from(const DockerDriverOptions& o) {
  ContainerSpecOptions s;
  s.node_id = o.node_id;
  s.node_name = o.node_name;
  s.publish_address = o.publish_address;
  s.pids_limit = o.pids_limit;
  s.allow_privileged = o.allow_privileged;
  return s;
}

std::string label_or_empty(const std::map<std::string, std::string>& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? std::string() : it->second;
}

uint32_t attempt_from_label(const std::map<std::string, std::string>& labels) {
  std::string text = label_or_empty(labels, kLabelAttempt);
  uint32_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// DockerClient prefixes messages with the request ("pull X: ..."); users want dockerd's words.
std::string strip_prefix(const std::string& message, const std::string& prefix) {
  return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

}  // namespace

DockerDriver::DockerDriver(DockerApi& api, DockerDriverOptions options, const Clock& clock)
    : api_(api),
      options_(std::move(options)),
      spec_options_(spec_options_from(options_)),
      clock_(clock) {
  CUBE_CHECK(!options_.node_id.empty())
      << "DockerDriverOptions.node_id is required: the agent passes its ID";
}

DockerDriver::~DockerDriver() {
  std::map<std::string, std::jthread> waiters;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    waiters = std::move(waiters_);
  }
  // Each jthread's destructor requests stop (which aborts its container_wait within about a
  // second) and joins.
  waiters.clear();
}

void DockerDriver::set_exit_sink(ExitSink sink) {
  MutexLock lock(mu_);
  sink_ = std::move(sink);
}

size_t DockerDriver::waiter_count_for_test() const {
  MutexLock lock(mu_);
  return waiters_.size();
}

std::vector<std::jthread> DockerDriver::take_finished_waiters() {
  std::vector<std::jthread> done;
  for (const std::string& id : finished_) {
    if (auto it = waiters_.find(id); it != waiters_.end()) {
      done.push_back(std::move(it->second));
      waiters_.erase(it);
    }
  }
  finished_.clear();
  return done;
}

void DockerDriver::arm_waiter(const std::string& task_id, uint32_t attempt,
                              const std::string& container_id) {
  if (stopping_ || waiters_.contains(container_id))
    return;
  finished_.erase(container_id);
  waiters_.emplace(container_id,
                   std::jthread([this, task_id, attempt, container_id](std::stop_token stop) {
                     run_waiter(std::move(stop), task_id, attempt, container_id);
                   }));
}

void DockerDriver::run_waiter(std::stop_token stop, std::string task_id, uint32_t attempt,
                              std::string container_id) {
  std::optional<ContainerWaitResult> waited;
  bool gone = false;
  Millis backoff = options_.wait_retry_initial;
  while (!stop.stop_requested()) {
    auto r = api_.container_wait(container_id, stop);
    if (r) {
      waited = *r;
      break;
    }
    if (r.status().is_not_found()) {
      gone = true;
      break;
    }
    if (stop.stop_requested())
      break;
    spdlog::warn("waiting for container {} of task {} failed: {}; retrying in {} ms", container_id,
                 task_id, r.status().to_string(), backoff.count());
    // A timed wait that wakes early on stop: this thread's job is waiting, not the poll loop's.
    Mutex m;
    std::condition_variable_any cv;
    MutexLock lock(m);
    cv.wait_for(m, stop, backoff, [] { return false; });
    backoff = std::min(backoff * 2, options_.wait_retry_max);
  }
  if (stop.stop_requested() && !waited && !gone) {
    MutexLock lock(mu_);
    finished_.insert(container_id);
    return;  // the driver is shutting down; a new agent re-adopts the container
  }

  bool stop_requested = false;
  {
    MutexLock lock(mu_);
    if (auto it = tasks_.find(task_id);
        it != tasks_.end() && it->second.container_id == container_id)
      stop_requested = it->second.stop_requested;
  }

  AttemptEnd end{task_id, attempt, {}, 0};
  std::optional<TaskExit> exit;
  if (!gone) {
    auto inspected = api_.container_inspect(container_id);
    if (inspected) {
      auto facts = parse_container_inspect(*inspected);
      if (facts && (exit = container_exit(*facts, stop_requested)))
        end.finish_time_ms = facts->finished_ms;
    }
  }
  if (!exit) {
    // Removed (stop, or someone else) before it could be inspected: the wait's code is all.
    exit = TaskExit{};
    exit->stopped_on_request = stop_requested;
    if (waited) {
      exit->exit_code = static_cast<int32_t>(waited->status_code);
    } else {
      exit->kind = TaskExit::Kind::Vanished;
    }
    end.finish_time_ms = to_unix_ms(clock_.wall());
  }
  end.exit = std::move(*exit);

  ExitSink sink;
  bool report = false;
  {
    MutexLock lock(mu_);
    auto it = tasks_.find(task_id);
    if (it != tasks_.end() && it->second.container_id == container_id && !it->second.ended) {
      it->second.ended = true;
      it->second.last = ended_status(it->second.last, end.exit, end.finish_time_ms);
      report = true;
      sink = sink_;
      if (it->second.stop_requested)
        tasks_.erase(it);  // stop() removes the container; nothing more to tell about it
    }
  }
  if (report && sink)
    sink(std::move(end));
  MutexLock lock(mu_);
  finished_.insert(container_id);
}

Status DockerDriver::ensure_image(const std::string& image) {
  auto inspected = api_.image_inspect(image);
  if (inspected)
    return Status::ok();
  if (!inspected.status().is_not_found()) {
    if (inspected.status().is_unavailable())
      return inspected.status();
    return Status::internal("inspecting image " + image + ": " + inspected.status().message());
  }
  Status pulled = api_.image_pull(image, options_.pull_timeout);
  if (pulled.is_ok())
    return Status::ok();
  if (pulled.is_unavailable()) {
    // A dead dockerd is Unavailable (another node may do better); a slow or unreachable
    // registry is this image failing, as the architecture asks ("image not found: ...").
    Status alive = api_.ping();
    if (!alive.is_ok())
      return alive;
  }
  return Status::not_found("image not found: " + image + ": " +
                           strip_prefix(pulled.message(), "pull " + image + ": "));
}

Result<std::optional<ContainerFacts>> DockerDriver::existing_container(const Task& task,
                                                                       const std::string& name) {
  auto inspected = api_.container_inspect(name);
  if (!inspected) {
    if (inspected.status().is_not_found())
      return std::optional<ContainerFacts>();  // removed meanwhile: create again
    return inspected.status();
  }
  auto facts = parse_container_inspect(*inspected);
  if (!facts)
    return facts.status();
  if (label_or_empty(facts->labels, kLabelTask) != task.id ||
      label_or_empty(facts->labels, kLabelNode) != options_.node_id) {
    return Status::conflict("container name " + name +
                            " is taken by a container that is not this task's on this node; "
                            "remove it (docker rm -f " +
                            name + ")");
  }
  if (attempt_from_label(facts->labels) == task.attempt)
    return std::optional<ContainerFacts>(std::move(facts).value());
  // An older attempt of the same task: the broker moved on from it, so its container goes.
  Status removed = api_.container_remove(facts->id, /*force=*/true);
  if (!removed.is_ok() && !removed.is_not_found())
    return removed;
  {
    MutexLock lock(mu_);
    if (auto it = tasks_.find(task.id); it != tasks_.end() && it->second.container_id == facts->id)
      tasks_.erase(it);
  }
  return std::optional<ContainerFacts>();
}

AttemptStatus DockerDriver::track_running(const Task& task, const ContainerFacts& facts) {
  AttemptStatus status;
  status.task_id = task.id;
  status.attempt = task.attempt;
  status.state = TaskState::Running;
  status.container_id = facts.id;
  status.port_bindings = facts.port_bindings;
  status.start_time_ms = facts.started_ms != 0 ? facts.started_ms : to_unix_ms(clock_.wall());
  std::vector<std::jthread> done;
  {
    MutexLock lock(mu_);
    done = take_finished_waiters();
    Tracked& t = tasks_[task.id];
    t = Tracked{};
    t.attempt = task.attempt;
    t.container_id = facts.id;
    t.last = status;
    arm_waiter(task.id, task.attempt, facts.id);
  }
  return status;
}

Result<AttemptStatus> DockerDriver::start(const Task& task) {
  auto config = container_config_for(task, spec_options_);
  if (!config)
    return config.status();

  std::string known_container;
  {
    MutexLock lock(mu_);
    if (auto it = tasks_.find(task.id);
        it != tasks_.end() && it->second.attempt == task.attempt && !it->second.ended)
      known_container = it->second.container_id;
  }
  if (!known_container.empty()) {
    // A repeated start of the attempt this driver runs: report it, start nothing.
    auto same = inspect(task.id);
    if (same)
      return same;
  }

  CUBE_RETURN_IF_ERROR(ensure_image(task.image));

  const std::string name = container_name_for(task);
  std::string container_id;
  bool needs_start = true;
  auto created = api_.container_create(name, *config);
  if (!created && created.status().code() == ErrorCode::Conflict) {
    auto existing = existing_container(task, name);
    if (!existing)
      return existing.status();
    if (existing->has_value()) {
      const ContainerFacts& facts = **existing;
      container_id = facts.id;
      // Running: adopt. Exited: this attempt already ran; its waiter reports how it ended.
      // Created: a start that was interrupted; finish it.
      needs_start = facts.status == "created";
      if (!needs_start)
        return track_running(task, facts);
    } else {
      created = api_.container_create(name, *config);
    }
  }
  if (container_id.empty()) {
    if (!created) {
      const Status& s = created.status();
      switch (s.code()) {
        case ErrorCode::NotFound:
          return Status::not_found("image not found: " + task.image + ": " + s.message());
        case ErrorCode::Invalid:
          return Status::invalid("dockerd refused the container of task " + task.id + ": " +
                                 s.message());
        case ErrorCode::Unavailable:
        case ErrorCode::Conflict:
          return s;
        default:
          return Status::internal("creating the container of task " + task.id + ": " + s.message());
      }
    }
    container_id = *created;
  }

  if (needs_start) {
    Status started = api_.container_start(container_id);
    if (!started.is_ok()) {
      // Leave nothing behind: a failed start is a failed task, not a stray container.
      (void)api_.container_remove(container_id, /*force=*/true);
      if (started.is_unavailable())
        return started;
      if (contains(started.message(), "executable file not found") ||
          contains(started.message(), "no such file or directory")) {
        return Status::not_found("executable not found in image " + task.image + ": " +
                                 started.message());
      }
      return Status::internal("starting the container of task " + task.id + ": " +
                              started.message());
    }
  }

  auto inspected = api_.container_inspect(container_id);
  Result<ContainerFacts> facts =
      inspected ? parse_container_inspect(*inspected) : Result<ContainerFacts>(inspected.status());
  if (!facts) {
    (void)api_.container_remove(container_id, /*force=*/true);
    return facts.status().with_context("inspecting the container of task " + task.id);
  }
  return track_running(task, *facts);
}

Status DockerDriver::stop(const std::string& task_id, Millis grace) {
  if (grace.count() <= 0)
    grace = options_.stop_grace;
  std::vector<std::string> containers;
  {
    MutexLock lock(mu_);
    if (auto it = tasks_.find(task_id); it != tasks_.end()) {
      it->second.stop_requested = true;
      containers.push_back(it->second.container_id);
    }
  }
  if (containers.empty()) {
    // Not tracked (e.g. the agent restarted and has not called list_owned): find it by label.
    auto found = api_.container_list(
        {{std::string(kLabelTask), task_id}, {std::string(kLabelNode), options_.node_id}}, true);
    if (!found)
      return found.status();
    for (const ContainerSummary& c : *found)
      containers.push_back(c.id);
  }
  for (const std::string& id : containers) {
    Status stopped = api_.container_stop(id, grace);
    if (!stopped.is_ok() && !stopped.is_not_found())
      return stopped;
    Status removed = api_.container_remove(id, /*force=*/true);
    // 409 "removal already in progress" is as good as removed.
    if (!removed.is_ok() && !removed.is_not_found() && removed.code() != ErrorCode::Conflict)
      return removed;
  }
  MutexLock lock(mu_);
  // A task that had already ended and been reported is forgotten; a running one is forgotten
  // by its waiter after reporting "stopped".
  if (auto it = tasks_.find(task_id); it != tasks_.end() && it->second.ended)
    tasks_.erase(it);
  return Status::ok();
}

Result<AttemptStatus> DockerDriver::inspect(const std::string& task_id) {
  Tracked t;
  {
    MutexLock lock(mu_);
    auto it = tasks_.find(task_id);
    if (it == tasks_.end())
      return Status::not_found("no docker container for task " + task_id + " on this agent");
    t = it->second;
  }
  if (t.ended)
    return t.last;
  auto inspected = api_.container_inspect(t.container_id);
  if (!inspected) {
    if (inspected.status().is_not_found())
      return t.last;  // removed; its waiter is about to report the final state
    return inspected.status();
  }
  auto facts = parse_container_inspect(*inspected);
  if (!facts)
    return facts.status();
  return task_status_from(*facts, task_id, t.attempt, t.stop_requested);
}

Result<LogChunk> DockerDriver::logs(const std::string& task_id, int64_t offset, int64_t max_bytes) {
  if (offset < 0)
    return Status::invalid("log offset must not be negative (got " + std::to_string(offset) + ")");
  std::string container_id;
  bool ended = false;
  {
    MutexLock lock(mu_);
    auto it = tasks_.find(task_id);
    if (it == tasks_.end())
      return Status::not_found("no docker container for task " + task_id + " on this agent");
    container_id = it->second.container_id;
    ended = it->second.ended;
  }
  LogChunk chunk;
  chunk.next_offset = offset;
  auto out = api_.container_logs(container_id, LogsOptions{});
  if (!out) {
    if (!out.status().is_not_found())
      return out.status();
    chunk.eof = true;  // the container is gone and its log with it
    return chunk;
  }
  const std::string& all = out->combined;
  const int64_t size = static_cast<int64_t>(all.size());
  if (offset < size) {
    int64_t n = size - offset;
    if (max_bytes > 0)
      n = std::min(n, max_bytes);
    chunk.data = all.substr(static_cast<size_t>(offset), static_cast<size_t>(n));
    chunk.next_offset = offset + n;
  }
  chunk.eof = ended && chunk.next_offset >= size;
  return chunk;
}

Result<std::vector<AttemptStatus>> DockerDriver::list_owned() {
  auto found = api_.container_list({{std::string(kLabelNode), options_.node_id}}, true);
  if (!found)
    return found.status();
  std::vector<AttemptStatus> out;
  for (const ContainerSummary& c : *found) {
    const std::string task_id = label_or_empty(c.labels, kLabelTask);
    if (task_id.empty())
      continue;  // labelled for this node by hand, not a task's container
    auto inspected = api_.container_inspect(c.id);
    if (!inspected) {
      if (inspected.status().is_not_found())
        continue;  // removed since the listing
      return inspected.status();
    }
    auto facts = parse_container_inspect(*inspected);
    if (!facts)
      return facts.status();
    const uint32_t attempt = attempt_from_label(facts->labels);

    MutexLock lock(mu_);
    auto it = tasks_.find(task_id);
    if (it != tasks_.end() && it->second.container_id == c.id && it->second.ended) {
      out.push_back(it->second.last);
      continue;
    }
    bool stop_requested =
        it != tasks_.end() && it->second.container_id == c.id && it->second.stop_requested;
    AttemptStatus status = task_status_from(*facts, task_id, attempt, stop_requested);
    if (it == tasks_.end() || it->second.container_id != c.id) {
      Tracked t;
      t.attempt = attempt;
      t.container_id = c.id;
      t.ended = status.state != TaskState::Running;
      t.last = status;
      tasks_[task_id] = std::move(t);
    }
    if (status.state == TaskState::Running)
      arm_waiter(task_id, attempt, c.id);
    out.push_back(std::move(status));
  }
  return out;
}

Result<TaskUsage> DockerDriver::stats(const std::string& task_id) {
  std::string container_id;
  {
    MutexLock lock(mu_);
    auto it = tasks_.find(task_id);
    if (it == tasks_.end())
      return Status::not_found("no docker container for task " + task_id + " on this agent");
    if (it->second.ended)
      return Status::not_found("task " + task_id + " has ended; it uses no resources");
    container_id = it->second.container_id;
  }
  auto sample = api_.container_stats(container_id);
  if (!sample) {
    if (sample.status().is_not_found())
      return Status::not_found("the container of task " + task_id + " is gone");
    if (sample.status().is_unavailable())
      return sample.status();
    return Status::internal("reading the stats of task " + task_id + ": " +
                            sample.status().message());
  }
  return task_usage_from_stats(*sample);
}

Status DockerDriver::check_backend() {
  Status s = api_.ping();
  if (s.is_ok() || s.is_unavailable())
    return s;
  // dockerd answered, but with an error: it cannot take containers right now either.
  return Status::unavailable("dockerd answered the ping with an error: " + s.message());
}

Result<int> DockerDriver::remove_untracked(const std::set<std::string>& known_task_ids,
                                           Millis min_age) {
  auto found = api_.container_list({{std::string(kLabelNode), options_.node_id}}, true);
  if (!found)
    return found.status();
  const int64_t now_s = to_unix_ms(clock_.wall()) / 1000;
  const int64_t min_age_s = (min_age.count() + 999) / 1000;
  int removed = 0;
  Status first_error;
  for (const ContainerSummary& c : *found) {
    const std::string task_id = label_or_empty(c.labels, kLabelTask);
    if (known_task_ids.contains(task_id) || now_s - c.created_unix_s < min_age_s)
      continue;
    {
      MutexLock lock(mu_);
      if (auto it = tasks_.find(task_id); it != tasks_.end() && it->second.container_id == c.id)
        tasks_.erase(it);  // its waiter finds no record and reports nothing
    }
    Status s = api_.container_remove(c.id, /*force=*/true);
    if (s.is_ok() || s.is_not_found()) {
      ++removed;
      continue;
    }
    if (s.is_unavailable())
      return s;
    if (first_error.is_ok())
      first_error = s;
  }
  if (!first_error.is_ok())
    return first_error;
  return removed;
}

}  // namespace cube::agent
