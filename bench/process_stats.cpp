#include "bench/process_stats.h"

#include <time.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>

namespace cube::bench {
namespace {

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return Status::not_found("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double ticks_to_seconds(uint64_t ticks) {
  long hz = ::sysconf(_SC_CLK_TCK);
  return static_cast<double>(ticks) / static_cast<double>(hz > 0 ? hz : 100);
}

// A CPU-time clock (a thread's or the process's) in seconds; `whose` names it in the error.
Result<double> cpu_clock_seconds(clockid_t id, const std::string& whose) {
  timespec ts{};
  if (::clock_gettime(id, &ts) != 0)
    return Status::internal("cannot read " + whose + " CPU-time clock");
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

std::set<pid_t> list_threads() {
  std::set<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::string name = entry.path().filename().string();
    pid_t tid = 0;
    auto [ptr, err] = std::from_chars(name.data(), name.data() + name.size(), tid);
    if (err == std::errc() && ptr == name.data() + name.size())
      out.insert(tid);
  }
  return out;
}

Result<uint64_t> parse_stat_ticks(std::string_view line) {
  size_t close = line.rfind(')');
  if (close == std::string_view::npos)
    return Status::invalid("a stat line without \"(comm)\"");
  // After ")": field 3 (state) onwards; utime and stime are fields 14 and 15.
  std::string_view rest = line.substr(close + 1);
  uint64_t values[2] = {0, 0};
  int field = 2;
  size_t pos = 0;
  while (field < 15) {
    while (pos < rest.size() && rest[pos] == ' ')
      ++pos;
    size_t end = rest.find(' ', pos);
    if (end == std::string_view::npos)
      end = rest.size();
    if (pos >= end)
      return Status::invalid("a stat line with fewer than 15 fields");
    ++field;
    if (field == 14 || field == 15) {
      auto [ptr, ec] = std::from_chars(rest.data() + pos, rest.data() + end, values[field - 14]);
      if (ec != std::errc() || ptr != rest.data() + end)
        return Status::invalid("field " + std::to_string(field) + " of a stat line is no number");
    }
    pos = end;
  }
  return values[0] + values[1];
}

Result<double> thread_cpu_seconds(pid_t tid) {
  auto text = read_file("/proc/self/task/" + std::to_string(tid) + "/stat");
  if (!text.is_ok())
    return text.status();
  auto ticks = parse_stat_ticks(*text);
  if (!ticks.is_ok())
    return ticks.status();
  return ticks_to_seconds(*ticks);
}

Result<double> process_cpu_seconds(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text.is_ok())
    return text.status();
  auto ticks = parse_stat_ticks(*text);
  if (!ticks.is_ok())
    return ticks.status();
  return ticks_to_seconds(*ticks);
}

Result<double> pthread_cpu_seconds(pthread_t thread) {
  clockid_t id{};
  if (::pthread_getcpuclockid(thread, &id) != 0)
    return Status::internal("pthread_getcpuclockid failed");
  return cpu_clock_seconds(id, "a thread's");
}

Result<double> this_process_cpu_seconds() {
  return cpu_clock_seconds(CLOCK_PROCESS_CPUTIME_ID, "the process's");
}

Result<std::string> thread_name(pid_t tid) {
  auto text = read_file("/proc/self/task/" + std::to_string(tid) + "/comm");
  if (!text.is_ok())
    return text.status();
  std::string name = std::move(text).value();
  while (!name.empty() && name.back() == '\n')
    name.pop_back();
  return name;
}

Result<int64_t> status_bytes(pid_t pid, std::string_view key) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!text.is_ok())
    return text.status();
  std::string_view all = *text;
  size_t pos = 0;
  while (pos < all.size()) {
    size_t end = all.find('\n', pos);
    if (end == std::string_view::npos)
      end = all.size();
    std::string_view line = all.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ':')
      continue;
    line.remove_prefix(key.size() + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
      line.remove_prefix(1);
    int64_t kib = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), kib);
    if (ec != std::errc() || std::string_view(ptr, line.data() + line.size() - ptr) != " kB")
      return Status::invalid("cannot parse the " + std::string(key) + " line of /proc/status");
    return kib * 1024;
  }
  return Status::not_found("no " + std::string(key) + " line in /proc/" + std::to_string(pid) +
                           "/status");
}

Result<uint64_t> open_fds(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  uint64_t count = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++count;
  }
  if (ec)
    return Status::not_found("cannot list " + dir + ": " + ec.message());
  return count;
}

Result<uint64_t> parse_open_file_limit(std::string_view text) {
  constexpr std::string_view kKey = "Max open files";
  size_t at = text.find(kKey);
  if (at == std::string_view::npos)
    return Status::invalid("no \"Max open files\" line");
  std::string_view rest = text.substr(at + kKey.size());
  rest = rest.substr(0, rest.find('\n'));
  size_t begin = rest.find_first_not_of(' ');
  if (begin == std::string_view::npos)
    return Status::invalid("an empty \"Max open files\" line");
  rest.remove_prefix(begin);
  std::string_view soft = rest.substr(0, rest.find(' '));
  if (soft == "unlimited")
    return std::numeric_limits<uint64_t>::max();
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(soft.data(), soft.data() + soft.size(), value);
  if (ec != std::errc() || ptr != soft.data() + soft.size())
    return Status::invalid("\"Max open files\": \"" + std::string(soft) + "\" is no number");
  return value;
}

Result<uint64_t> open_file_limit(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/limits");
  if (!text.is_ok())
    return text.status();
  return parse_open_file_limit(*text);
}

}  // namespace cube::bench
