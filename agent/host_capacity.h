// What this host offers, for HELLO.capacity: CPU cores, memory and the disk space of the data
// dir, plus the configured slots. Read from the kernel (/proc/meminfo, statvfs), never guessed.
//
// Thread-safety: reentrant; blocks briefly on reading /proc and statvfs.
#pragma once

#include <cstdint>
#include <filesystem>

#include "common/status.h"
#include "protocol/messages.h"

namespace cube::agent {

// MemTotal of a /proc/meminfo text, in bytes. Invalid when the line is missing or malformed.
Result<int64_t> parse_meminfo_total(std::string_view meminfo);

// cpu = std::thread::hardware_concurrency() (1 when unknown); memory_bytes = MemTotal from
// /proc/meminfo (0 when unreadable); disk_bytes = the space statvfs(data_dir) says is available
// to this user (0 when unreadable: the broker then places no task that asks for disk here);
// slots as given.
protocol::Capacity probe_host_capacity(const std::filesystem::path& data_dir, uint32_t slots);

}  // namespace cube::agent
