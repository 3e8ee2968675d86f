// Process and thread resource figures from the kernel, for cube-bench: CPU seconds of a thread
// or a process, and memory sizes from /proc/PID/status.
//
// Thread-safety: reentrant. Each call reads a small /proc file (blocks briefly).
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cube::bench {

// Thread ids of this process (/proc/self/task).
std::set<pid_t> list_threads();

// CPU time (user + system) of thread `tid` of this process, from /proc/self/task/TID/stat, in
// seconds (clock-tick resolution, 10 ms). NotFound when the thread is gone.
Result<double> thread_cpu_seconds(pid_t tid);

// CPU time (user + system) of the whole process `pid`, every thread, from /proc/PID/stat.
// NotFound when there is no such process.
Result<double> process_cpu_seconds(pid_t pid);

// CPU time of a running thread of this process from its CPU-time clock
// (pthread_getcpuclockid): nanosecond resolution. Internal when the clock cannot be read.
Result<double> pthread_cpu_seconds(pthread_t thread);

// CPU time (user + system) of this whole process, every thread, from its CPU-time clock
// (CLOCK_PROCESS_CPUTIME_ID): nanosecond resolution. Internal when the clock cannot be read.
Result<double> this_process_cpu_seconds();

// The name of thread `tid` of this process (/proc/self/task/TID/comm, as pthread_setname_np set
// it, at most 15 bytes). NotFound when the thread is gone.
Result<std::string> thread_name(pid_t tid);

// A "<key>:  N kB" line of /proc/PID/status (VmRSS, VmHWM, ...) in bytes. NotFound when the
// process or the line does not exist; Invalid when the line cannot be parsed.
Result<int64_t> status_bytes(pid_t pid, std::string_view key);

// The number of open file descriptors of process `pid` (entries of /proc/PID/fd; reading
// another user's process needs privilege). NotFound when the process or its fd directory cannot
// be read.
Result<uint64_t> open_fds(pid_t pid);

// The soft open-file limit of process `pid`, from /proc/PID/limits. NotFound when the file cannot
// be read; Invalid when it has no parsable "Max open files" line; "unlimited" is UINT64_MAX.
Result<uint64_t> open_file_limit(pid_t pid);

// The soft limit (the first number) of the "Max open files" line of a /proc/PID/limits text.
Result<uint64_t> parse_open_file_limit(std::string_view limits_text);

// Parses utime + stime (fields 14 and 15) of a /proc stat line, in clock ticks. The command
// (field 2) may contain spaces and parentheses; fields are counted after its last ')'.
Result<uint64_t> parse_stat_ticks(std::string_view stat_line);

}  // namespace cube::bench
