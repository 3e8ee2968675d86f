#include "agent/drivers/exec/exec_driver.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

#include "agent/drivers/exec/exec_record.h"
#include "agent/drivers/exec/process_identity.h"

extern char** environ;

namespace cube::agent {
namespace {

// Task ids become directory names: allow what a UUID (or a readable name) needs and nothing
// that could climb out of <data_dir>/tasks.
bool is_safe_file_name(const std::string& s) {
  if (s.empty() || s.size() > 128 || s.front() == '.')
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// The agent's environment, overridden and extended by the task's "K=V" entries.
Result<std::vector<std::string>> task_environment(const Task& task) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    env.emplace_back(*e);
  for (const auto& entry : task.env) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::invalid("Env entry \"" + entry + "\" is not KEY=VALUE");
    std::string prefix = entry.substr(0, eq + 1);
    std::erase_if(env, [&](const std::string& e) { return e.starts_with(prefix); });
    env.push_back(entry);
  }
  return env;
}

std::string path_of(const std::vector<std::string>& env) {
  for (const auto& e : env) {
    if (e.starts_with("PATH="))
      return e.substr(5);
  }
  return "";
}

// What waitid() said, as facts.
TaskExit exit_of(const ExitInfo& info, bool stopped_on_request) {
  TaskExit exit;
  exit.stopped_on_request = stopped_on_request;
  if (info.signal != 0) {
    exit.kind = TaskExit::Kind::Signaled;
    exit.signal = info.signal;
  } else if (info.exit_code < 0) {
    exit.kind = TaskExit::Kind::Unknown;
    exit.error = info.error;
  } else {
    exit.kind = TaskExit::Kind::Exited;
    exit.exit_code = info.exit_code;
  }
  return exit;
}

}  // namespace

ExecDriver::ExecDriver(std::filesystem::path data_dir, const Clock& clock,
                       std::filesystem::path supervisor)
    : data_dir_(std::filesystem::absolute(data_dir)),
      clock_(clock),
      supervisor_(std::move(supervisor)),
      shutdown_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  CUBE_CHECK(shutdown_fd_.valid()) << "eventfd failed at startup; the process is out of fds";
}

ExecDriver::~ExecDriver() {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(shutdown_fd_.get(), &one, sizeof one);
  std::map<std::string, std::shared_ptr<Record>> records;
  {
    MutexLock lock(mu_);
    records.swap(records_);
  }
  for (auto& [id, record] : records) {
    if (record->waiter.joinable())
      record->waiter.join();
  }
  for (auto& [id, record] : records) {
    MutexLock lock(record->mu);
    if (!record->exited)
      record->child.release();  // the task outlives the agent
  }
}

std::filesystem::path ExecDriver::log_path(const std::string& task_id, uint32_t attempt) const {
  return data_dir_ / "tasks" / task_id / (std::to_string(attempt) + ".log");
}

std::filesystem::path ExecDriver::record_path(const std::string& task_id, uint32_t attempt) const {
  return data_dir_ / "tasks" / task_id / (std::to_string(attempt) + ".record");
}

std::filesystem::path ExecDriver::exit_path(const std::string& task_id, uint32_t attempt) const {
  return data_dir_ / "tasks" / task_id / (std::to_string(attempt) + ".exit");
}

Result<AttemptStatus> ExecDriver::start(const Task& task) {
  if (task.cmd.empty())
    return Status::invalid("exec task " + task.id + " has no Cmd: give the command to run");
  if (!is_safe_file_name(task.id)) {
    return Status::invalid("task id \"" + task.id +
                           "\" cannot name a directory (letters, digits, '-', '_', '.')");
  }
  if (auto existing = find(task.id)) {
    MutexLock lock(existing->mu);
    if (!existing->exited) {
      return Status::conflict("task " + task.id + " is already running here (attempt " +
                              std::to_string(existing->attempt) + ")");
    }
  }

  const auto task_dir = data_dir_ / "tasks" / task.id;
  const auto work_dir = task_dir / "work";
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  if (ec)
    return Status::internal("cannot create " + work_dir.string() + ": " + ec.message());

  auto env = task_environment(task);
  if (!env.is_ok())
    return env.status();
  auto executable = find_executable(task.cmd[0], path_of(*env));
  if (!executable.is_ok())
    return executable.status();

  SpawnSpec spec;
  spec.executable = std::move(*executable);
  spec.argv = task.cmd;
  spec.env = std::move(*env);
  spec.cwd = work_dir;
  spec.log_path = log_path(task.id, task.attempt);
  spec.supervisor = supervisor_;
  spec.exit_path = exit_path(task.id, task.attempt);
  // A leftover of an earlier run of this attempt number must not be read as this one's end.
  std::filesystem::remove(spec.exit_path, ec);
  auto child = ChildProcess::spawn(spec);
  if (!child.is_ok())
    return child.status();

  ExecRecord on_disk{task.id,
                     task.attempt,
                     to_unix_ms(clock_.wall()),
                     child->supervisor(),
                     child->task(),
                     child->pid(),
                     spec.log_path,
                     spec.exit_path};
  auto record = make_record(on_disk);
  const AttemptStatus running = running_status(on_disk);
  // Without its record a restarted agent could not find the task: refuse to run it unrecorded
  // (`child` kills it on the way out).
  Status written = write_file_atomically(record->record_path, format_exec_record(on_disk));
  if (!written.is_ok())
    return written;
  {
    MutexLock lock(record->mu);
    record->child = std::move(*child);
  }
  try {
    record->waiter = std::thread([this, r = record.get()] { wait_for_exit(*r); });
  } catch (const std::system_error& e) {
    // `record` goes away here and its ChildProcess kills and reaps the task.
    std::filesystem::remove(record->record_path, ec);
    return Status::internal(std::string("cannot start a waiter thread: ") + e.what());
  }
  publish(std::move(record));
  return running;
}

AttemptStatus ExecDriver::running_status(const ExecRecord& r) {
  AttemptStatus running;
  running.task_id = r.task_id;
  running.attempt = r.attempt;
  running.state = TaskState::Running;
  running.start_time_ms = r.start_time_ms;
  return running;
}

std::shared_ptr<ExecDriver::Record> ExecDriver::make_record(const ExecRecord& r) const {
  auto record = std::make_shared<Record>();
  record->task_id = r.task_id;
  record->attempt = r.attempt;
  record->log_path = r.log_path;
  record->record_path = record_path(r.task_id, r.attempt);
  record->exit_path = r.exit_path;
  MutexLock lock(record->mu);
  record->status = running_status(r);
  return record;
}

void ExecDriver::publish(std::shared_ptr<Record> record) {
  std::shared_ptr<Record> replaced;
  std::vector<std::shared_ptr<Record>> trimmed;
  {
    MutexLock lock(mu_);
    replaced = std::exchange(records_[record->task_id], record);
    trimmed = trim_records();
  }
  // Ended records: their waiter threads have finished or are finishing their sink call.
  if (replaced && replaced->waiter.joinable())
    replaced->waiter.join();
  if (replaced && replaced->record_path != record->record_path)
    remove_files(*replaced);
  for (auto& r : trimmed) {
    if (r->waiter.joinable())
      r->waiter.join();
    remove_files(*r);
  }
}

void ExecDriver::remove_files(const Record& record) {
  std::error_code ec;
  if (!record.record_path.empty())
    std::filesystem::remove(record.record_path, ec);
  if (!record.exit_path.empty())
    std::filesystem::remove(record.exit_path, ec);
}

void ExecDriver::wait_for_exit(Record& record) {
  int pidfd;
  {
    MutexLock lock(record.mu);
    pidfd = record.child.pidfd();
  }
  pollfd fds[2] = {{pidfd, POLLIN, 0}, {shutdown_fd_.get(), POLLIN, 0}};
  while (true) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR)
      continue;
    CUBE_CHECK(n > 0) << "poll on a pidfd and an eventfd fails only when the kernel is out of "
                         "memory: "
                      << std::strerror(errno);
    if (fds[1].revents != 0)
      return;  // the driver is going away: leave the task running, unreaped
    if (fds[0].revents != 0)
      break;
  }
  AttemptEnd end{record.task_id, record.attempt, {}, 0};
  {
    MutexLock lock(record.mu);
    ExitInfo info = record.child.reap_group();
    record.exit = exit_of(info, record.stop_requested);
    record.finish_time_ms = to_unix_ms(clock_.wall());
    record.exited = true;
    end.exit = record.exit;
    end.finish_time_ms = record.finish_time_ms;
  }
  record.exited_cv.notify_all();
  ExitSink sink;
  {
    MutexLock lock(mu_);
    sink = sink_;
  }
  if (sink)
    sink(std::move(end));
}

Status ExecDriver::stop(const std::string& task_id, Millis grace) {
  auto record = find(task_id);
  if (!record)
    return Status::ok();
  MutexLock lock(record->mu);
  auto ended = [&record]() CUBE_REQUIRES(record->mu) { return record->exited; };
  if (ended())
    return Status::ok();
  record->stop_requested = true;
  CUBE_RETURN_IF_ERROR(record->child.signal_group(SIGTERM));
  if (record->mu.wait_for(record->exited_cv, grace, ended))
    return Status::ok();
  spdlog::info("task {} did not stop within {} ms of SIGTERM: sending SIGKILL", task_id,
               grace.count());
  CUBE_RETURN_IF_ERROR(record->child.signal_group(SIGKILL));
  if (record->mu.wait_for(record->exited_cv, kKillWait, ended))
    return Status::ok();
  return Status::internal("task " + task_id + " is still there " +
                          std::to_string(kKillWait.count()) +
                          " ms after SIGKILL (a process in uninterruptible sleep?)");
}

Result<AttemptStatus> ExecDriver::inspect(const std::string& task_id) {
  auto record = find(task_id);
  if (!record)
    return Status::not_found("no task " + task_id + " on this agent (exec driver)");
  MutexLock lock(record->mu);
  return record->observed_status();
}

Result<LogChunk> ExecDriver::logs(const std::string& task_id, int64_t offset, int64_t max_bytes) {
  if (offset < 0)
    return Status::invalid("log offset " + std::to_string(offset) + " is negative");
  if (max_bytes <= 0)
    return Status::invalid("max_bytes must be positive, not " + std::to_string(max_bytes));
  auto record = find(task_id);
  if (!record)
    return Status::not_found("no task " + task_id + " on this agent (exec driver)");
  bool ended;
  {
    MutexLock lock(record->mu);
    ended = record->exited;  // read before the size: an ended task writes nothing more
  }
  UniqueFd fd(::open(record->log_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return Status::internal("cannot read " + record->log_path.string() + ": " +
                            std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return Status::internal("cannot stat " + record->log_path.string() + ": " +
                            std::strerror(errno));
  const int64_t size = st.st_size;
  if (offset > size) {
    return Status::invalid("log offset " + std::to_string(offset) +
                           " is past the end of the log (" + std::to_string(size) + " bytes)");
  }
  const int64_t want = std::min({max_bytes, size - offset, kMaxLogChunk});
  LogChunk chunk;
  chunk.data.resize(static_cast<size_t>(want));
  int64_t got = 0;
  while (got < want) {
    ssize_t n =
        ::pread(fd.get(), chunk.data.data() + got, static_cast<size_t>(want - got), offset + got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      return Status::internal("cannot read " + record->log_path.string() + ": " +
                              std::strerror(errno));
    }
    if (n == 0)
      break;  // truncated meanwhile
    got += n;
  }
  chunk.data.resize(static_cast<size_t>(got));
  chunk.next_offset = offset + got;
  chunk.eof = ended && chunk.next_offset >= size;
  return chunk;
}

Result<std::vector<AttemptStatus>> ExecDriver::list_owned() {
  recover();
  std::vector<std::shared_ptr<Record>> records;
  {
    MutexLock lock(mu_);
    for (const auto& [id, r] : records_)
      records.push_back(r);
  }
  std::vector<AttemptStatus> out;
  out.reserve(records.size());
  for (const auto& r : records) {
    MutexLock lock(r->mu);
    out.push_back(r->observed_status());
  }
  return out;
}

void ExecDriver::recover() {
  {
    MutexLock lock(mu_);
    if (recovered_)
      return;
    recovered_ = true;
  }
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator task_dir(data_dir_ / "tasks", ec), end; !ec && task_dir != end;
       task_dir.increment(ec)) {
    std::error_code dir_ec;
    for (fs::directory_iterator file(task_dir->path(), dir_ec); !dir_ec && file != end;
         file.increment(dir_ec)) {
      if (file->path().extension() == ".record")
        files.push_back(file->path());
    }
  }
  RecoveryCounts counts;
  // Each task's latest recorded attempt: an older one ended before the newer one started.
  std::map<std::string, ExecRecord> latest;
  for (const auto& path : files) {
    auto text = read_small_file(path);
    Result<ExecRecord> parsed =
        text.is_ok() ? parse_exec_record(*text) : Result<ExecRecord>(text.status());
    if (parsed.is_ok() && (parsed->task_id != path.parent_path().filename().string() ||
                           std::to_string(parsed->attempt) != path.stem().string())) {
      parsed = Status::invalid("it names task " + parsed->task_id + " attempt " +
                               std::to_string(parsed->attempt) + ", not the one of its path");
    }
    if (!parsed.is_ok()) {
      ++counts.corrupt;
      spdlog::warn(
          "exec driver: skipping the task record {}: {}; nothing is adopted or stopped for it",
          path.string(), parsed.status().message());
      continue;
    }
    ExecRecord& slot = latest[parsed->task_id];
    if (slot.task_id.empty() || parsed->attempt > slot.attempt)
      slot = std::move(*parsed);
  }
  for (const auto& [task_id, found] : latest) {
    if (find(task_id))
      continue;  // started by this driver instance meanwhile
    if (auto record = recover_one(found, counts))
      publish(std::move(record));
  }
  if (!files.empty()) {
    spdlog::info(
        "exec driver: {} task records in {}: {} running tasks adopted, {} ended while the agent "
        "was away, {} lost, {} corrupt records skipped",
        files.size(), (data_dir_ / "tasks").string(), counts.running, counts.ended, counts.lost,
        counts.corrupt);
  }
  MutexLock lock(mu_);
  recovery_ = counts;
}

std::shared_ptr<ExecDriver::Record> ExecDriver::recover_one(const ExecRecord& found,
                                                            RecoveryCounts& counts) {
  auto record = make_record(found);
  const std::string what = "task " + found.task_id + " attempt " + std::to_string(found.attempt);

  auto ended = [&](const ExitInfo& info, int64_t finish_time_ms) {
    MutexLock lock(record->mu);
    record->exit = exit_of(info, false);
    record->finish_time_ms = finish_time_ms;
    record->exited = true;
    return record;
  };
  auto exit_text = read_small_file(found.exit_path);
  Result<ChildProcess> adopted = Status::not_found("not tried");
  if (!exit_text.is_ok()) {
    adopted = ChildProcess::adopt(found);
    // It may have ended between the two looks.
    if (!adopted.is_ok())
      exit_text = read_small_file(found.exit_path);
  }
  if (exit_text.is_ok()) {
    ++counts.ended;
    auto parsed = parse_exit_record(*exit_text);
    if (!parsed.is_ok()) {
      ExitInfo info{-1, 0,
                    "its exit file " + found.exit_path.string() +
                        " is corrupt: " + parsed.status().message()};
      spdlog::warn("exec driver: {} ended while the agent was away; {}", what, info.error);
      return ended(info, to_unix_ms(clock_.wall()));
    }
    spdlog::info("exec driver: {} ended while the agent was away (exit code {}, signal {})", what,
                 parsed->info.exit_code, parsed->info.signal);
    return ended(parsed->info, parsed->finish_time_ms);
  }
  if (!adopted.is_ok()) {
    ++counts.lost;
    ExitInfo info;
    switch (match_process(found.task)) {
      case ProcessMatch::Same:
        info = read_exit_or_kill(found.exit_path, found.task, found.supervisor);
        break;
      case ProcessMatch::Reused:
        info = {-1, 0,
                adopted.status().message() + "; the task's " + reused_pid_message(found.task)};
        break;
      case ProcessMatch::Gone:
        info = {-1, 0,
                adopted.status().message() + " and so is the task's process (pid " +
                    std::to_string(found.task.pid) + "), with no exit status recorded"};
        break;
    }
    spdlog::warn("exec driver: {} is lost: {}", what, info.error);
    return ended(info, to_unix_ms(clock_.wall()));
  }
  {
    MutexLock lock(record->mu);
    record->child = std::move(*adopted);
  }
  try {
    record->waiter = std::thread([this, r = record.get()] { wait_for_exit(*r); });
  } catch (const std::system_error& e) {
    MutexLock lock(record->mu);
    record->child.release();  // not followed, but not killed either: the next agent may adopt it
    spdlog::error("exec driver: cannot follow {}: no waiter thread: {}", what, e.what());
    ++counts.lost;
    return nullptr;
  }
  ++counts.running;
  spdlog::info("exec driver: adopted {} (pid {}, supervisor pid {})", what, found.task.pid,
               found.supervisor.pid);
  return record;
}

Result<int> ExecDriver::remove_untracked(const std::set<std::string>& known_task_ids,
                                         Millis min_age) {
  const int64_t now_ms = to_unix_ms(clock_.wall());
  std::vector<std::shared_ptr<Record>> removed;
  {
    MutexLock lock(mu_);
    for (auto it = records_.begin(); it != records_.end();) {
      bool old_and_ended;
      {
        MutexLock record_lock(it->second->mu);
        old_and_ended =
            it->second->exited && it->second->finish_time_ms + min_age.count() <= now_ms;
      }
      if (old_and_ended && !known_task_ids.contains(it->first)) {
        removed.push_back(it->second);
        it = records_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& r : removed) {
    if (r->waiter.joinable())
      r->waiter.join();
    remove_files(*r);
  }
  return static_cast<int>(removed.size());
}

ExecDriver::RecoveryCounts ExecDriver::recovery_counts() const {
  MutexLock lock(mu_);
  return recovery_;
}

void ExecDriver::set_exit_sink(ExitSink sink) {
  MutexLock lock(mu_);
  sink_ = std::move(sink);
}

pid_t ExecDriver::pid_for_test(const std::string& task_id) {
  auto record = find(task_id);
  if (!record)
    return -1;
  MutexLock lock(record->mu);
  return record->child.pid();
}

std::shared_ptr<ExecDriver::Record> ExecDriver::find(const std::string& task_id) {
  MutexLock lock(mu_);
  auto it = records_.find(task_id);
  return it == records_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<ExecDriver::Record>> ExecDriver::trim_records() {
  std::vector<std::shared_ptr<Record>> removed;
  while (records_.size() > kMaxRecords) {
    auto oldest = records_.end();
    int64_t oldest_finish = 0;
    for (auto it = records_.begin(); it != records_.end(); ++it) {
      MutexLock lock(it->second->mu);
      if (!it->second->exited)
        continue;
      int64_t finish = it->second->finish_time_ms;
      if (oldest == records_.end() || finish < oldest_finish) {
        oldest = it;
        oldest_finish = finish;
      }
    }
    if (oldest == records_.end())
      break;  // every record runs: they are bounded by the agent's slots
    removed.push_back(oldest->second);
    records_.erase(oldest);
  }
  return removed;
}

}  // namespace cube::agent
