#include "agent/log_reader.h"

#include <algorithm>

#include "protocol/messages.h"

namespace cube::agent {

size_t tail_start(std::string_view text, int64_t lines) {
  if (lines <= 0)
    return text.size();
  size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n')
    --end;  // the newline that ends the last line
  int64_t seen = 0;
  while (end > 0) {
    size_t nl = text.rfind('\n', end - 1);
    if (nl == std::string_view::npos)
      return 0;
    if (++seen == lines)
      return nl + 1;
    end = nl;
  }
  return 0;
}

Result<LogChunk> read_task_logs(Driver& driver, const std::string& task_id, int64_t offset,
                                int64_t max_bytes, int64_t tail_lines) {
  if (max_bytes <= 0 || max_bytes > protocol::kMaxLogChunkBytes)
    max_bytes = protocol::kMaxLogChunkBytes;
  if (tail_lines <= 0) {
    auto chunk = driver.logs(task_id, offset, max_bytes);
    if (chunk && static_cast<int64_t>(chunk->data.size()) > max_bytes) {
      // A driver that returned more than asked: cut, and continue where the cut was.
      const int64_t extra = static_cast<int64_t>(chunk->data.size()) - max_bytes;
      chunk->data.resize(static_cast<size_t>(max_bytes));
      chunk->next_offset -= extra;
      chunk->eof = false;
    }
    return chunk;
  }

  // Only the bytes that can still hold the last tail_lines lines are kept: new data only adds
  // lines at the end, so the start of the tail never moves backwards.
  std::string window;
  int64_t window_offset = 0;  // log offset of window[0]
  int64_t position = 0;       // log offset of the next byte to read
  bool eof = false;
  while (position < kTailScanLimitBytes) {
    auto chunk = driver.logs(task_id, position, kTailScanChunkBytes);
    if (!chunk)
      return chunk.status();
    const size_t got = chunk->data.size();
    window += chunk->data;
    position = chunk->next_offset;
    eof = chunk->eof;
    const size_t start = tail_start(window, tail_lines);
    window.erase(0, start);
    window_offset += static_cast<int64_t>(start);
    // Only an empty answer marks the current end: a driver may return less than asked
    // before the end (the exec driver's chunk limit).
    if (got == 0 || eof)
      break;
  }
  LogChunk out;
  const size_t n = std::min(window.size(), static_cast<size_t>(max_bytes));
  out.data = window.substr(0, n);
  out.next_offset = window_offset + static_cast<int64_t>(n);
  out.eof = eof && out.next_offset >= position;
  return out;
}

}  // namespace cube::agent
