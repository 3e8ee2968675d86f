#include "agent/drivers/exec/exec_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>

#include "common/unique_fd.h"

namespace cube::agent {
namespace {

constexpr std::string_view kRecordHeader = "cube-exec-record 1";
constexpr std::string_view kExitHeader = "cube-exec-exit 1";

// The "key=value" lines after `header`.
Result<std::map<std::string, std::string, std::less<>>> parse_lines(std::string_view text,
                                                                    std::string_view header) {
  std::map<std::string, std::string, std::less<>> out;
  int line_no = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_no;
    if (line_no == 1) {
      if (line != header) {
        return Status::invalid("line 1 is \"" + std::string(line.substr(0, 64)) + "\", not \"" +
                               std::string(header) + "\"");
      }
      continue;
    }
    if (line.empty())
      continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::invalid("line " + std::to_string(line_no) + " is not KEY=VALUE: \"" +
                             std::string(line.substr(0, 64)) + "\"");
    }
    out.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  if (line_no == 0)
    return Status::invalid("the file is empty");
  return out;
}

template <typename Map>
Result<std::string> text_of(const Map& fields, std::string_view key) {
  auto it = fields.find(key);
  if (it == fields.end() || it->second.empty())
    return Status::invalid("key \"" + std::string(key) + "\" is missing");
  return it->second;
}

template <typename Int, typename Map>
Result<Int> number_of(const Map& fields, std::string_view key) {
  auto text = text_of(fields, key);
  if (!text.is_ok())
    return text.status();
  Int value{};
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr != text->data() + text->size()) {
    return Status::invalid("key \"" + std::string(key) + "\": \"" + *text + "\" is not a number");
  }
  return value;
}

template <typename Map>
Result<ProcessIdentity> identity_of(const Map& fields, std::string_view pid_key,
                                    std::string_view ticks_key) {
  auto pid = number_of<pid_t>(fields, pid_key);
  if (!pid.is_ok())
    return pid.status();
  if (*pid <= 0)
    return Status::invalid("key \"" + std::string(pid_key) + "\": pid " + std::to_string(*pid));
  auto ticks = number_of<uint64_t>(fields, ticks_key);
  if (!ticks.is_ok())
    return ticks.status();
  return ProcessIdentity{*pid, *ticks};
}

}  // namespace

std::string format_exec_record(const ExecRecord& r) {
  std::string out(kRecordHeader);
  out += "\ntask_id=" + r.task_id;
  out += "\nattempt=" + std::to_string(r.attempt);
  out += "\nstart_time_ms=" + std::to_string(r.start_time_ms);
  out += "\nsupervisor_pid=" + std::to_string(r.supervisor.pid);
  out += "\nsupervisor_start_ticks=" + std::to_string(r.supervisor.start_ticks);
  out += "\npid=" + std::to_string(r.task.pid);
  out += "\nstart_ticks=" + std::to_string(r.task.start_ticks);
  out += "\npgid=" + std::to_string(r.pgid);
  out += "\nlog_path=" + r.log_path.string();
  out += "\nexit_path=" + r.exit_path.string();
  out += "\n";
  return out;
}

Result<ExecRecord> parse_exec_record(std::string_view text) {
  auto fields = parse_lines(text, kRecordHeader);
  if (!fields.is_ok())
    return fields.status();
  ExecRecord r;
  auto task_id = text_of(*fields, "task_id");
  auto attempt = number_of<uint32_t>(*fields, "attempt");
  auto start_time = number_of<int64_t>(*fields, "start_time_ms");
  auto supervisor = identity_of(*fields, "supervisor_pid", "supervisor_start_ticks");
  auto task = identity_of(*fields, "pid", "start_ticks");
  auto pgid = number_of<pid_t>(*fields, "pgid");
  auto log_path = text_of(*fields, "log_path");
  auto exit_path = text_of(*fields, "exit_path");
  for (const Status& s :
       {task_id.status(), attempt.status(), start_time.status(), supervisor.status(), task.status(),
        pgid.status(), log_path.status(), exit_path.status()}) {
    if (!s.is_ok())
      return s;
  }
  if (*pgid != task->pid) {
    return Status::invalid("pgid " + std::to_string(*pgid) + " is not the task's pid " +
                           std::to_string(task->pid) + " (the task leads its group)");
  }
  r.task_id = std::move(*task_id);
  r.attempt = *attempt;
  r.start_time_ms = *start_time;
  r.supervisor = *supervisor;
  r.task = *task;
  r.pgid = *pgid;
  r.log_path = std::move(*log_path);
  r.exit_path = std::move(*exit_path);
  return r;
}

std::string format_exit_record(const ExitRecord& r) {
  std::string out(kExitHeader);
  out += "\nexit_code=" + std::to_string(r.info.exit_code);
  out += "\nsignal=" + std::to_string(r.info.signal);
  out += "\nfinish_time_ms=" + std::to_string(r.finish_time_ms);
  out += "\n";
  return out;
}

Result<ExitRecord> parse_exit_record(std::string_view text) {
  auto fields = parse_lines(text, kExitHeader);
  if (!fields.is_ok())
    return fields.status();
  auto exit_code = number_of<int>(*fields, "exit_code");
  auto signal = number_of<int>(*fields, "signal");
  auto finish = number_of<int64_t>(*fields, "finish_time_ms");
  for (const Status& s : {exit_code.status(), signal.status(), finish.status()}) {
    if (!s.is_ok())
      return s;
  }
  if (*signal < 0 || *signal > 64 || *exit_code < -1 || *exit_code > 255)
    return Status::invalid("exit_code " + std::to_string(*exit_code) + " or signal " +
                           std::to_string(*signal) + " is out of range");
  ExitRecord r;
  r.info.exit_code = *exit_code;
  r.info.signal = *signal;
  r.finish_time_ms = *finish;
  return r;
}

Status write_file_atomically(const std::filesystem::path& path, std::string_view text) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid())
    return Status::internal("cannot create " + tmp.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      Status s = Status::internal("cannot write " + tmp.string() + ": " + std::strerror(errno));
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Status::internal("cannot rename " + tmp.string() + " to " + path.string() + ": " +
                                std::strerror(errno));
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::ok();
}

Result<std::string> read_small_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT)
      return Status::not_found(path.string() + " does not exist");
    return Status::internal("cannot open " + path.string() + ": " + std::strerror(errno));
  }
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return Status::internal("cannot read " + path.string() + ": " + std::strerror(errno));
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1 << 16))
      return Status::internal(path.string() + " is larger than 64 KiB: not a record");
  }
  return out;
}

}  // namespace cube::agent
