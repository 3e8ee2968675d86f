#include "agent/drivers/exec/process_identity.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace cube::agent {

Result<uint64_t> parse_stat_start_ticks(std::string_view stat) {
  const size_t close = stat.rfind(')');
  if (close == std::string_view::npos)
    return Status::invalid("not a /proc/PID/stat line (no \"(comm)\"): \"" + std::string(stat) +
                           "\"");
  // After "PID (comm)" come fields 3 (state) onwards, separated by single spaces.
  std::string_view rest = stat.substr(close + 1);
  int field = 2;
  size_t pos = 0;
  while (pos < rest.size()) {
    while (pos < rest.size() && rest[pos] == ' ')
      ++pos;
    size_t end = rest.find(' ', pos);
    if (end == std::string_view::npos)
      end = rest.size();
    if (end == pos)
      break;
    ++field;
    if (field == 22) {
      std::string_view text = rest.substr(pos, end - pos);
      while (!text.empty() && text.back() == '\n')
        text.remove_suffix(1);
      uint64_t ticks = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), ticks);
      if (ec != std::errc() || ptr != text.data() + text.size()) {
        return Status::invalid("field 22 (starttime) of /proc/PID/stat is not a number: \"" +
                               std::string(text) + "\"");
      }
      return ticks;
    }
    pos = end;
  }
  return Status::invalid("a /proc/PID/stat line with only " + std::to_string(field) +
                         " fields (starttime is field 22)");
}

Result<uint64_t> read_start_ticks(pid_t pid) {
  if (pid <= 0)
    return Status::not_found("no process with pid " + std::to_string(pid));
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  if (!in)
    return Status::not_found("no process with pid " + std::to_string(pid));
  std::stringstream text;
  text << in.rdbuf();
  const std::string line = text.str();
  if (line.empty())
    return Status::not_found("no process with pid " + std::to_string(pid));
  auto ticks = parse_stat_start_ticks(line);
  if (!ticks.is_ok())
    return Status::internal(path + ": " + ticks.status().message());
  return ticks;
}

ProcessMatch match_start_ticks(const ProcessIdentity& expected, bool found, uint64_t now_ticks) {
  if (!found)
    return ProcessMatch::Gone;
  return now_ticks == expected.start_ticks ? ProcessMatch::Same : ProcessMatch::Reused;
}

ProcessMatch match_process(const ProcessIdentity& expected) {
  auto ticks = read_start_ticks(expected.pid);
  // A stat that cannot be parsed is not ours to touch either: Reused (never signalled).
  if (!ticks.is_ok())
    return ticks.status().is_not_found() ? ProcessMatch::Gone : ProcessMatch::Reused;
  return match_start_ticks(expected, true, *ticks);
}

std::string reused_pid_message(const ProcessIdentity& expected) {
  auto ticks = read_start_ticks(expected.pid);
  return "pid " + std::to_string(expected.pid) + " is now another program (started at tick " +
         (ticks.is_ok() ? std::to_string(*ticks) : std::string("?")) +
         ", the task's process at tick " + std::to_string(expected.start_ticks) +
         "): not adopted, not signalled";
}

}  // namespace cube::agent
