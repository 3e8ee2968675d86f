// The exec driver's files that outlive the agent process, so that a restarted agent finds the
// tasks it started (agent/drivers/exec/exec_driver.h, "Re-adoption"):
//
//   <data_dir>/tasks/<task id>/<attempt>.record  written by the agent once the task runs:
//       which processes are the task's (ExecRecord);
//   <data_dir>/tasks/<task id>/<attempt>.exit    written by the task's supervisor when the task
//       has ended and nothing of its process group runs any more: how it ended (ExitRecord).
//
// Both are small "key=value" text files after a header line naming the format and its version
// ("cube-exec-record 1", "cube-exec-exit 1"); unknown keys are ignored, so a later version can
// add some. Each is written to a temporary name and renamed, so a reader sees all of it or none.
//
// Thread-safety: pure functions, and file writes that touch only their own path; any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "agent/drivers/exec/process_identity.h"
#include "common/status.h"

namespace cube::agent {

// Which processes one started attempt is.
struct ExecRecord {
  std::string task_id;
  uint32_t attempt = 0;
  int64_t start_time_ms = 0;       // Unix ms, as start() reported it
  ProcessIdentity supervisor;      // the per-task supervisor (exec_supervisor.h), outside the group
  ProcessIdentity task;            // the task's first process, which leads its process group
  pid_t pgid = 0;                  // == task.pid; kept apart because it is what stop() signals
  std::filesystem::path log_path;  // stdout and stderr of the task
  std::filesystem::path exit_path;  // where the supervisor writes the ExitRecord
  friend bool operator==(const ExecRecord&, const ExecRecord&) = default;
};

// How the task's leader ended.
struct ExitInfo {
  int exit_code = 0;  // when signal == 0; -1 when the status could not be read
  int signal = 0;     // the signal that killed it, or 0
  // Why the status is not known (exit_code -1), for the task's reason; empty otherwise.
  std::string error;
  friend bool operator==(const ExitInfo&, const ExitInfo&) = default;
};

struct ExitRecord {
  ExitInfo info;
  int64_t finish_time_ms = 0;  // Unix ms, when the supervisor saw the end
  friend bool operator==(const ExitRecord&, const ExitRecord&) = default;
};

std::string format_exec_record(const ExecRecord& record);
// Invalid, naming the line or the key, for text that is not a complete version-1 record: a
// wrong header, a missing key, a number that does not parse, a pid <= 0, pgid != task pid.
Result<ExecRecord> parse_exec_record(std::string_view text);

std::string format_exit_record(const ExitRecord& record);
Result<ExitRecord> parse_exit_record(std::string_view text);

// Writes `text` to `path` through a temporary file in the same directory and a rename.
// Internal with the OS error when it cannot.
Status write_file_atomically(const std::filesystem::path& path, std::string_view text);
// The whole file. NotFound when it does not exist; Internal for other errors.
Result<std::string> read_small_file(const std::filesystem::path& path);

}  // namespace cube::agent
