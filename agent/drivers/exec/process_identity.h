// ProcessIdentity: a pid together with the time its process started, so that a pid the kernel
// has since given to another program is never mistaken for the process Cube started (an agent
// that restarts finds its exec tasks by pid in their records, agent/drivers/exec/exec_record.h).
//
// The start time is field 22 of /proc/PID/stat ("starttime", clock ticks since boot): two
// processes that had the same pid at different times have different start times.
//
// Thread-safety: pure functions and reads of /proc; any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cube::agent {

struct ProcessIdentity {
  pid_t pid = 0;
  uint64_t start_ticks = 0;  // /proc/PID/stat field 22
  friend bool operator==(const ProcessIdentity&, const ProcessIdentity&) = default;
};

// Field 22 (starttime) of the text of a /proc/PID/stat file. The second field, the command name
// in parentheses, may itself hold spaces and ')' characters, so fields are counted from the
// last ')'. Invalid, quoting what is wrong, for text that is not such a line.
Result<uint64_t> parse_stat_start_ticks(std::string_view stat);

// The start time of the process `pid` runs now. NotFound when no process has that pid (or it
// is a zombie whose stat can no longer be read); Internal for other read errors.
Result<uint64_t> read_start_ticks(pid_t pid);

// What the process recorded as `expected` has become.
enum class ProcessMatch {
  Same,    // `pid` runs and started at the recorded time: it is the recorded process
  Gone,    // no process has that pid any more
  Reused,  // a process has that pid but started at another time: another program, not ours
};
ProcessMatch match_process(const ProcessIdentity& expected);
// Pure: the verdict for a start time read now (nullopt-like `found` false = no such process).
ProcessMatch match_start_ticks(const ProcessIdentity& expected, bool found, uint64_t now_ticks);

// "pid 123 is now another program (started at tick 456, the task's process at tick 789)", the
// message shown when a record points at a reused pid.
std::string reused_pid_message(const ProcessIdentity& expected);

}  // namespace cube::agent
