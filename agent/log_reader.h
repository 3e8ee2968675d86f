// Reading a task's logs for a LOGS_FETCH (docs/protocol.md, Logs): the byte range a client asked
// for, or the last N lines, through Driver::logs, bounded so that the answer fits in one
// LOGS_DATA.
//
// Threading: blocks as Driver::logs does (docker: an HTTP round trip per call); call it on a
// worker thread, never on the poll loop.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/drivers/driver.h"
#include "common/status.h"

namespace cube::agent {

// One driver.logs() call while scanning for a tail: the exec driver's largest chunk, and more
// than most container logs, so a docker log (which dockerd sends whole) is usually read in one
// call plus the empty one that shows the end.
inline constexpr int64_t kTailScanChunkBytes = 4 << 20;
// A tail scan stops after this much log: a task that wrote more gets the last lines of its
// first 256 MiB rather than a worker busy for minutes.
inline constexpr int64_t kTailScanLimitBytes = 256ll << 20;

// Where the last `lines` lines of `text` begin (a final newline does not start an empty line);
// 0 when `text` has `lines` lines or fewer. lines <= 0: text.size().
size_t tail_start(std::string_view text, int64_t lines);

// The task's logs for one fetch:
//   tail_lines <= 0: driver.logs(task_id, offset, max_bytes);
//   tail_lines > 0:  the log from the start of its last tail_lines lines (offset ignored): the
//                    log is scanned in kTailScanChunkBytes calls up to its current end (at most
//                    kTailScanLimitBytes) keeping only the last lines; next_offset continues
//                    after what was returned, so a follower goes on from there.
// max_bytes <= 0 or above protocol::kMaxLogChunkBytes means kMaxLogChunkBytes; the data returned
// is never longer. Errors: the driver's (NotFound for a task it does not know; Invalid for a
// negative offset).
Result<LogChunk> read_task_logs(Driver& driver, const std::string& task_id, int64_t offset,
                                int64_t max_bytes, int64_t tail_lines);

}  // namespace cube::agent
